"""Destinations that take only some detectors or image types: what they are sent,
their own manifests and completeness, and one ``imageDelivered`` per destination."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from delivery_test_support import Exposure, destination, ledger_runner, make_service

from lsst.ts.archiver.camera import get_camera
from lsst.ts.archiver.config import ArchiverConfig, ArchiverConfigError
from lsst.ts.archiver.delivery import DestinationConfigError, ImageDelivered, Selection
from lsst.ts.archiver.ledger import Ledger
from lsst.ts.archiver.local_config import REPO_CONFIG_ROOT
from lsst.ts.archiver.testing import STD_TIMEOUT, wait_until

DETECTORS = ["R22_S11", "R00_SW0", "R00_SG0"]


def test_a_selection_takes_detectors_by_purpose_and_name_and_images_by_type() -> None:
    aos = Selection.from_config("wavefront")
    assert aos.expected("LSSTCam", "OBJECT", DETECTORS) == ("R00_SW0",)
    assert aos.describe() == "wavefront detectors"
    cdc = Selection.from_config(["guider", "R22_S11"], ["object", "Flat"])
    assert cdc.expected("LSSTCam", "FLAT", DETECTORS) == ("R22_S11", "R00_SG0")
    assert cdc.expected("LSSTCam", "BIAS", DETECTORS) == ()
    assert cdc.takes_image(None) and cdc.takes_image("")  # an unknown type is always taken
    assert cdc.describe() == "guider, R22_S11 detectors of FLAT, OBJECT images"
    assert Selection.from_config().takes_everything and not cdc.takes_everything
    # ComCam has no wavefront sensors: an AOS destination takes nothing of its images.
    assert aos.expected("LSSTComCam", "OBJECT", ["R22_S11"]) == ()


def test_destination_roles_and_selections_are_validated() -> None:
    assert destination("aos", "aos", "/tmp/aos").selection == Selection.from_config("wavefront")
    assert destination("cdc", "cdc", "/tmp/cdc").selection.takes_everything
    prompt = destination("p", "copy", "/tmp/p", detectors="science", image_types=["OBJECT"]).selection
    assert prompt.expected("LSSTCam", "OBJECT", DETECTORS) == ("R22_S11",)
    with pytest.raises(DestinationConfigError, match="detectors"):
        destination("x", "copy", "/tmp/x", detectors="corners")
    with pytest.raises(DestinationConfigError, match="image_types"):
        destination("x", "copy", "/tmp/x", image_types=["no spaces"])


def test_the_archiver_refuses_a_detector_its_camera_does_not_have(tmp_path: Path) -> None:
    config: dict[str, Any] = yaml.safe_load(
        (REPO_CONFIG_ROOT / "CCArchiver" / "v1" / "_init.yaml").read_text()
    )
    config["destinations"] = [
        {"name": "cdc", "role": "cdc", "target": str(tmp_path), "detectors": ["R22_S11", "R00_SW0"]}
    ]
    with pytest.raises(ArchiverConfigError, match=r"LSSTComCam has no detector\(s\) \['R00_SW0'\]"):
        ArchiverConfig.from_validated(config, get_camera("LSSTComCam"))


def files_at(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


async def test_each_destination_gets_its_selection_its_manifest_and_one_image_delivered(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    names = ("oods", "aos", "cdc", "science_only", "dbb")
    for name in names:
        (tmp_path / name).mkdir()
    destinations = [
        destination("oods", "oods", str(tmp_path / "oods")),
        destination("aos", "aos", str(tmp_path / "aos")),
        destination("cdc", "cdc", str(tmp_path / "cdc"), detectors=["guider", "R22_S11"]),
        destination("science_only", "copy", str(tmp_path / "science_only"), image_types=["OBJECT"]),
        destination("dbb", "dbb", str(tmp_path / "dbb"), detectors="science"),
    ]
    flat = exposure_factory(instrument="LSSTCam", seq_num=1, detectors=DETECTORS)
    science = exposure_factory(instrument="LSSTCam", seq_num=2, detectors=DETECTORS)
    delivered: list[ImageDelivered] = []
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        service = make_service(runner, destinations, results)
        service.on_image_delivered = delivered.append
        async with service:
            for exposure, image_type in ((flat, "FLAT"), (science, "OBJECT")):
                await service.register_image(
                    exposure.obsid,
                    camera=exposure.instrument,
                    day_obs=exposure.day_obs,
                    expected=exposure.expected,
                    image_type=image_type,
                )
                await service.manifest_written(exposure.obsid, str(exposure.manifest))
                for detector, path in exposure.files.items():
                    await service.file_written(exposure.obsid, detector, str(path))
            await wait_until(
                lambda: len(delivered) == 9, 3 * STD_TIMEOUT, what="imageDelivered of each destination"
            )
            await service.wait_until_idle(STD_TIMEOUT)
            outcomes = ledger.exposures.outcomes(flat.obsid)

    for exposure in (flat, science):
        assert files_at(tmp_path / "aos" / "LSSTCam" / str(exposure.day_obs) / exposure.obsid) == [
            f"{exposure.obsid}_R00_SW0.fits",
            f"{exposure.obsid}_R00_SW0.json",
            f"{exposure.obsid}_expectedSensors.json",
        ]
        cdc = tmp_path / "cdc" / "LSSTCam" / str(exposure.day_obs) / exposure.obsid
        manifest = json.loads((cdc / f"{exposure.obsid}_expectedSensors.json").read_text())
        assert manifest["expectedSensors"] == {"R22_S11": "SCIENCE", "R00_SG0": "GUIDER"}
        assert len(files_at(cdc)) == 5
        assert len(files_at(tmp_path / "oods" / "LSSTCam" / str(exposure.day_obs) / exposure.obsid)) == 7
    # The copy that takes OBJECT images only has nothing of the flat, everything of the science image.
    assert files_at(tmp_path / "science_only") == files_at(
        tmp_path / "oods" / "LSSTCam" / "20261123" / science.obsid
    )

    by_destination = {(d.obsid, d.destination): d for d in delivered}
    assert len(by_destination) == 9  # once per destination and exposure that it takes
    assert (flat.obsid, "science_only") not in by_destination
    counts = {
        key: (d.expected_sensors, d.delivered_sensors, d.status_code) for key, d in by_destination.items()
    }
    for obsid in (flat.obsid, science.obsid):
        assert counts[obsid, "oods"] == (3, 3, 0)
        assert counts[obsid, "aos"] == (1, 1, 0)
        assert counts[obsid, "cdc"] == (2, 2, 0)
        assert counts[obsid, "dbb"] == (1, 1, 0)
    assert counts[science.obsid, "science_only"] == (3, 3, 0)
    assert by_destination[flat.obsid, "aos"].role == "aos"
    assert [o.destination for o in outcomes] == ["aos", "cdc", "dbb", "oods"]
    # imageArchived counts what the archive destination takes: its science detector.
    archived = {a.obsid: (a.expected_sensors, a.archived_sensors, a.status_code) for a in results["archived"]}
    assert archived == {flat.obsid: (1, 1, 0), science.obsid: (1, 1, 0)}


async def test_a_capture_failure_is_missing_only_where_it_was_taken(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    for name in ("aos", "oods"):
        (tmp_path / name).mkdir()
    destinations = [
        destination("oods", "oods", str(tmp_path / "oods")),
        destination("aos", "aos", str(tmp_path / "aos")),
    ]
    exposure = exposure_factory(instrument="LSSTCam", seq_num=3, detectors=DETECTORS)
    delivered: list[ImageDelivered] = []
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        service = make_service(runner, destinations, results)
        service.on_image_delivered = delivered.append
        async with service:
            await service.register_image(
                exposure.obsid,
                camera=exposure.instrument,
                day_obs=exposure.day_obs,
                expected=exposure.expected,
            )
            for detector in ("R22_S11", "R00_SG0"):
                await service.file_written(exposure.obsid, detector, str(exposure.files[detector]))
            await service.capture_failed(exposure.obsid, "R00_SW0", "DAQ read failed")
            await wait_until(lambda: len(delivered) == 2, 3 * STD_TIMEOUT, what="imageDelivered at both")
    outcome = {d.destination: d for d in delivered}
    assert (outcome["aos"].expected_sensors, outcome["aos"].delivered_sensors) == (1, 0)
    assert outcome["aos"].missing_sensors == "R00_SW0" and outcome["aos"].status_code == 1
    assert "R00_SW0: capture failed: DAQ read failed" in outcome["aos"].description
    assert (outcome["oods"].delivered_sensors, outcome["oods"].missing_sensors) == (2, "R00_SW0")
    assert not (tmp_path / "aos" / "LSSTCam").exists()


async def test_a_selective_destination_added_later_gets_only_its_files_of_unfinished_images(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "aos").mkdir()
    exposure = exposure_factory(instrument="LSSTCam", seq_num=4, detectors=DETECTORS)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        # A previous run wrote the files but had no AOS destination: nothing is queued for it.
        ledger.register_image(
            exposure.obsid, camera="LSSTCam", day_obs=exposure.day_obs, expected=exposure.expected
        )
        for detector, path in exposure.files.items():
            ledger.record_capture(exposure.obsid, detector, path=str(path), destinations=[])
        ledger.set_manifest(exposure.obsid, str(exposure.manifest))
        delivered: list[ImageDelivered] = []
        service = make_service(runner, [destination("aos", "aos", str(tmp_path / "aos"))], results)
        service.on_image_delivered = delivered.append
        async with service:
            await wait_until(lambda: delivered, 3 * STD_TIMEOUT, what="imageDelivered at the AOS")
        queued = sorted(d.item for d in ledger.deliveries(image=exposure.obsid))
    assert queued == ["R00_SW0", "expectedSensors"]
    assert (delivered[0].expected_sensors, delivered[0].delivered_sensors) == (1, 1)
