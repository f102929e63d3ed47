"""The per-exposure expectedSensors.json manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsst.ts.archiver.camera import LATISS, LSST_COMCAM, LSSTCAM
from lsst.ts.archiver.fits import (
    ManifestError,
    make_expected_sensors,
    read_expected_sensors,
    write_expected_sensors,
)


def test_lsstcam_manifest_lists_every_detector_with_its_type() -> None:
    manifest = make_expected_sensors(LSSTCAM, "MC_O_20260315_000051")
    kinds = list(manifest.sensors.values())
    assert len(kinds) == 205
    assert (kinds.count("SCIENCE"), kinds.count("GUIDER"), kinds.count("WAVEFRONT")) == (189, 8, 8)
    assert manifest.sensors["R00_SW0"] == "WAVEFRONT" and manifest.detectors["R22_S11"] == 94
    assert list(manifest.detectors.values()) == sorted(manifest.detectors.values())


def test_subset_manifest_accepts_numbers_and_names_and_sorts_them() -> None:
    manifest = make_expected_sensors(LSST_COMCAM, "CC_O_20260315_000002", ["R22_S22", 0, "R22_S11"])
    assert list(manifest.sensors) == ["R22_S00", "R22_S11", "R22_S22"]


def test_manifest_round_trips_through_a_file(tmp_path: Path) -> None:
    manifest = make_expected_sensors(LATISS, "AT_O_20260315_000003")
    path = write_expected_sensors(tmp_path, manifest)
    assert path.name == "AT_O_20260315_000003_expectedSensors.json"
    assert json.loads(path.read_text())["expectedSensors"] == {"R00_S00": "SCIENCE"}
    assert read_expected_sensors(path) == manifest
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


@pytest.mark.parametrize(
    "content, problem",
    [
        ("not json", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ('{"obsid": "X", "instrument": "LATISS"}', "missing field 'expectedSensors'"),
        ('{"obsid": "X", "instrument": "I", "expectedSensors": {"R00_S00": "OTHER"}}', "must map names"),
    ],
)
def test_malformed_manifest_raises_manifest_error(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ManifestError, match=problem):
        read_expected_sensors(path)
