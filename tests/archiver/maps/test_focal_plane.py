"""Focal-plane maps drawn from a real ledger: size, colours, states and latencies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from map_test_support import record_image
from PIL import Image

from lsst.ts.archiver.camera import LATISS, LSST_COMCAM, LSSTCAM, Camera
from lsst.ts.archiver.ledger import Ledger, UnknownImageError
from lsst.ts.archiver.maps import (
    MAP_SIZE,
    STATE_COLOURS,
    DetectorState,
    read_image_status,
    write_image_map,
)

LEGEND_SWATCH = 200
"""More pixels than one legend swatch has (132 at `MAP_SIZE`)."""


def colour_pixels(path: Path, colour: str) -> int:
    """How many pixels of the PNG have exactly ``colour`` (``#rrggbb``)."""
    rgb = np.asarray(Image.open(path).convert("RGB"))
    wanted = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    return int(np.all(rgb == wanted, axis=-1).sum())


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}") as ledger:
        yield ledger  # type: ignore[misc]


@pytest.mark.parametrize("camera", [LATISS, LSST_COMCAM, LSSTCAM], ids=lambda c: c.name)
def test_map_of_each_camera_is_a_png_of_map_size(ledger: Ledger, camera: Camera, tmp_path: Path) -> None:
    obsid = f"{camera.camera_code}_O_20270115_000001"
    record_image(ledger, camera, obsid)
    path = write_image_map(ledger, camera, obsid, tmp_path / "maps" / f"{obsid}.png")
    assert path == tmp_path / "maps" / f"{obsid}.png"
    with Image.open(path) as image:
        assert (image.format, image.size) == ("PNG", MAP_SIZE)
    assert colour_pixels(path, STATE_COLOURS[DetectorState.ARCHIVED]) > 10_000
    # No failure: the failure colour is only in its legend swatch.
    assert colour_pixels(path, STATE_COLOURS[DetectorState.FAILED]) < LEGEND_SWATCH
    assert not list(path.parent.glob(".*"))  # no temporary file left


def test_failed_detector_is_drawn_in_the_failure_colour(ledger: Ledger, tmp_path: Path) -> None:
    obsid = "MC_O_20270115_000002"
    record_image(
        ledger, LSSTCAM, obsid, failed=frozenset({"R22_S11"}), delivery_failed=frozenset({"R00_SG0"})
    )
    path = write_image_map(ledger, "MTArchiver", obsid, tmp_path / "map.png")
    failed_pixels = colour_pixels(path, STATE_COLOURS[DetectorState.FAILED])
    # Two CCDs of ~41 mm on a ~700 mm wide plane drawn ~770 px wide: ~45 x 45 px each, minus labels.
    assert 2 * 1000 < failed_pixels - LEGEND_SWATCH < 2 * 45 * 45


def test_image_status_reads_each_detector_state_and_latency(ledger: Ledger) -> None:
    obsid = "CC_O_20270115_000003"
    record_image(
        ledger,
        LSST_COMCAM,
        obsid,
        failed=frozenset({"R22_S00"}),
        delivery_failed=frozenset({"R22_S01"}),
        pending=frozenset({"R22_S02"}),
        in_delivery=frozenset({"R22_S10"}),
    )
    status = read_image_status(ledger, LSST_COMCAM, obsid)
    states = {d.name: d.state for d in status.detectors}
    assert states == {
        "R22_S00": DetectorState.FAILED,
        "R22_S01": DetectorState.FAILED,
        "R22_S02": DetectorState.CAPTURING,
        "R22_S10": DetectorState.IN_DELIVERY,
        **{f"R22_S{s}": DetectorState.ARCHIVED for s in ("11", "12", "20", "21", "22")},
    }
    by_name = {d.name: d for d in status.detectors}
    assert by_name["R22_S00"].reason == "DAQ: <source> not found & gone"
    assert by_name["R22_S01"].reason == "oods: disk full"
    assert by_name["R22_S11"].latency == pytest.approx(1.25)
    assert by_name["R22_S02"].latency is None
    assert (status.count(DetectorState.ARCHIVED), status.archive_latency) == (5, None)
    ledger.mark_archived(obsid, 1, "incomplete", now=status.registered_at + 9.5)
    settled = read_image_status(ledger, LSST_COMCAM, obsid)
    assert {d.name: d.state for d in settled.detectors}["R22_S02"] is DetectorState.MISSING
    assert settled.archive_latency == pytest.approx(9.5)


def test_detectors_the_image_does_not_expect_are_missing(ledger: Ledger) -> None:
    obsid = "MC_O_20270115_000004"
    ledger.register_image(
        obsid, camera="LSSTCam", day_obs=20270115, expected={"R00_SW0": 191, "R00_SW1": 192}, now=1.8e9
    )
    status = read_image_status(ledger, LSSTCAM, obsid)
    assert len(status.detectors) == 205
    assert status.count(DetectorState.MISSING) == 203
    assert status.count(DetectorState.CAPTURING) == 2


def test_latest_images_are_newest_first_per_camera(ledger: Ledger) -> None:
    for number, camera in enumerate([LSST_COMCAM, LATISS, LSST_COMCAM, LSST_COMCAM], start=1):
        ledger.register_image(
            f"{camera.camera_code}_O_20270115_{number:06d}",
            camera=camera.name,
            day_obs=20270115,
            expected={},
            now=1.8e9 + number,
        )
    assert ledger.latest_images(camera="LSSTComCam", limit=2) == [
        "CC_O_20270115_000004",
        "CC_O_20270115_000003",
    ]
    assert ledger.latest_images(limit=1) == ["CC_O_20270115_000004"]


def test_map_of_an_unknown_image_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(UnknownImageError):
        write_image_map(ledger, LATISS, "AT_O_20270115_000099", tmp_path / "map.png")
    assert not (tmp_path / "map.png").exists()
