"""Every detector carries the serial (``LSST_NUM``) obs_lsst's camera description gives it."""

from __future__ import annotations

import pytest

from lsst.ts.archiver.camera import (
    LATISS,
    LSST_COMCAM,
    LSSTCAM,
    LSSTCAM_SERIALS,
    DetectorPurpose,
)


def test_every_lsstcam_detector_has_the_serial_of_the_table() -> None:
    assert len(LSSTCAM.detectors) == 205
    assert set(LSSTCAM_SERIALS) == set(LSSTCAM.detector_names)
    for detector in LSSTCAM.detectors:
        assert detector.lsst_num, detector.name
        assert detector.lsst_num == LSSTCAM_SERIALS[detector.name]


def test_science_guider_and_wavefront_detectors_all_have_serials() -> None:
    counts = {purpose: 0 for purpose in DetectorPurpose}
    for detector in LSSTCAM.detectors:
        if detector.lsst_num:
            counts[detector.purpose] += 1
    assert counts == {DetectorPurpose.SCIENCE: 189, DetectorPurpose.WAVEFRONT: 8, DetectorPurpose.GUIDER: 8}


@pytest.mark.parametrize(
    "name, serial",
    [
        # Read from obs_lsst's policy/lsstCam/<raft>.yaml, ccdSerials.
        ("R01_S00", "ITL-3800C-083"),
        ("R10_S01", "ITL-3800C-040"),
        ("R22_S11", "E2V-CCD250-382"),
        ("R24_S22", "E2V-CCD250-385"),
        ("R34_S01", "E2V-CCD250-411"),
        ("R43_S22", "ITL-3800C-076"),
        ("R00_SG0", "ITL-3800C-397"),
        ("R40_SG1", "ITL-3800C-348"),
        ("R04_SW0", "ITL-4400B-030"),
        ("R44_SW1", "ITL-4400B-007"),
    ],
)
def test_spot_checked_serials_are_obs_lsst_s(name: str, serial: str) -> None:
    assert LSSTCAM.detector(name).lsst_num == serial


def test_serials_agree_with_vendor_and_ccd_type_and_are_unique() -> None:
    serials = [d.lsst_num for d in LSSTCAM.detectors]
    assert len(set(serials)) == len(serials)
    for detector in LSSTCAM.detectors:
        serial = detector.lsst_num or ""
        assert serial.startswith(f"{detector.physical_type}-"), detector.name
        model = "4400B" if detector.purpose is DetectorPurpose.WAVEFRONT else detector.ccd_type
        assert serial.split("-")[1] == model, detector.name


def test_comcam_and_latiss_keep_their_serials() -> None:
    assert [d.lsst_num for d in LSST_COMCAM.detectors][:3] == [
        "ITL-3800C-229",
        "ITL-3800C-251",
        "ITL-3800C-215",
    ]
    assert all(d.lsst_num for d in LSST_COMCAM.detectors)
    assert LATISS.detector(0).lsst_num == "ITL-3800C-068"
