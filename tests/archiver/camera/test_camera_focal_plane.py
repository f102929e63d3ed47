"""Focal-plane definitions: detector numbers, vendors, REBs (reference §1.2-1.6)."""

import pytest

from lsst.ts.archiver.camera import (
    LATISS,
    LSST_COMCAM,
    LSSTCAM,
    DaqLocation,
    DetectorPurpose,
    InvalidLocationError,
    RebKind,
    UnknownCameraError,
    UnknownDetectorError,
    UnknownRebError,
    get_camera,
)


@pytest.mark.parametrize(
    "name, number",
    [
        ("R01_S00", 0),
        ("R10_S02", 29),
        ("R22_S11", 94),
        ("R22_S21", 97),
        ("R22_S22", 98),
        ("R43_S22", 188),
        ("R00_SG0", 189),
        ("R00_SG1", 190),
        ("R00_SW0", 191),
        ("R00_SW1", 192),
        ("R04_SG0", 193),
        ("R40_SW1", 200),
        ("R44_SG0", 201),
        ("R44_SW1", 204),
    ],
)
def test_lsstcam_detector_numbers_match_obs_lsst(name: str, number: int) -> None:
    assert LSSTCAM.detector(name).id == number
    assert LSSTCAM.detector(number).name == name


def test_lsstcam_has_205_detectors_numbered_contiguously() -> None:
    assert LSSTCAM.detector_ids == tuple(range(205))
    assert len(LSSTCAM.detectors_for(DetectorPurpose.SCIENCE)) == 189
    assert len(LSSTCAM.detectors_for(DetectorPurpose.GUIDER)) == 8
    assert len(LSSTCAM.detectors_for(DetectorPurpose.WAVEFRONT)) == 8


def test_lsstcam_vendor_per_raft() -> None:
    e2v = {d.raft for d in LSSTCAM.detectors if d.physical_type == "E2V"}
    assert e2v == {
        "R11", "R12", "R13", "R14", "R21", "R22", "R23", "R24", "R30", "R31", "R32", "R33", "R34"
    }  # fmt: skip
    assert sum(d.physical_type == "E2V" for d in LSSTCAM.detectors) == 117
    for det in LSSTCAM.detectors_for(DetectorPurpose.GUIDER):
        assert (det.physical_type, det.ccd_type) == ("ITL", "3800C")
    for det in LSSTCAM.detectors_for(DetectorPurpose.WAVEFRONT):
        assert (det.physical_type, det.ccd_type, det.n_amplifiers) == ("ITL", "4400", 8)
    assert LSSTCAM.detector("R22_S11").ccd_type == "CCD250"


def test_lsstcam_has_71_rebs_with_expected_kinds() -> None:
    kinds = [reb.kind for reb in LSSTCAM.rebs]
    assert len(kinds) == 71
    assert kinds.count(RebKind.SCIENCE) == 63
    assert kinds.count(RebKind.GUIDER) == 4
    assert kinds.count(RebKind.WAVEFRONT) == 4
    assert sum(len(r.detectors) for r in LSSTCAM.rebs) == 205


def test_science_reb_n_reads_slot_row_n() -> None:
    reb = LSSTCAM.reb("R22/Reb1")
    assert [d.name for d in reb.detectors] == ["R22_S10", "R22_S11", "R22_S12"]
    assert LSSTCAM.reb_for("R22_S11") is reb
    assert reb.n_channels == 48


def test_corner_rebs_hold_guiders_and_wavefront_halves() -> None:
    guider = LSSTCAM.reb("R40/RebG")
    wavefront = LSSTCAM.reb("R40/RebW")
    assert [d.name for d in guider.detectors] == ["R40_SG0", "R40_SG1"]
    assert [d.name for d in wavefront.detectors] == ["R40_SW0", "R40_SW1"]
    assert wavefront.n_channels == 16
    assert guider.n_channels == 32


def test_comcam_detectors_and_serials() -> None:
    assert LSST_COMCAM.detector_names == tuple(f"R22_S{i}{j}" for i in range(3) for j in range(3))
    assert LSST_COMCAM.detector_ids == tuple(range(9))
    assert LSST_COMCAM.detector("R22_S11").lsst_num == "ITL-3800C-283"
    assert LSST_COMCAM.detector(8).lsst_num == "ITL-3800C-206"
    assert [r.name for r in LSST_COMCAM.rebs] == ["R22/Reb0", "R22/Reb1", "R22/Reb2"]
    assert {d.physical_type for d in LSST_COMCAM.detectors} == {"ITL"}
    assert LSST_COMCAM.partition == "comcam"


def test_latiss_is_one_itl_ccd_on_a_wreb() -> None:
    (det,) = LATISS.detectors
    assert (det.id, det.name, det.physical_type, det.lsst_num) == (0, "R00_S00", "ITL", "ITL-3800C-068")
    (reb,) = LATISS.rebs
    assert (reb.name, reb.kind) == ("R00/RebW", RebKind.WREB)
    assert LATISS.partition == "lat"


@pytest.mark.parametrize(
    "alias, camera",
    [
        ("LSSTCam", LSSTCAM),
        ("lsstCam", LSSTCAM),
        ("MC", LSSTCAM),
        ("MTArchiver", LSSTCAM),
        ("LSSTComCam", LSST_COMCAM),
        ("ComCam", LSST_COMCAM),
        ("CCCamera", LSST_COMCAM),
        ("latiss", LATISS),
        ("AT", LATISS),
        ("ATHeaderService", LATISS),
    ],
)
def test_get_camera_accepts_every_name(alias: str, camera: object) -> None:
    assert get_camera(alias) is camera


def test_get_camera_rejects_unknown_name_with_value() -> None:
    with pytest.raises(UnknownCameraError, match="'HSC'"):
        get_camera("HSC")


def test_unknown_detector_error_names_value_and_is_value_error() -> None:
    with pytest.raises(UnknownDetectorError, match="R99_S11") as info:
        LSSTCAM.detector("R99_S11")
    assert isinstance(info.value, ValueError)
    with pytest.raises(UnknownDetectorError, match="205"):
        LSSTCAM.detector(205)
    with pytest.raises(UnknownDetectorError):
        LSST_COMCAM.detector(9)


def test_daq_location_parses_ccs_and_daq_syntax() -> None:
    assert DaqLocation.parse("R22/Reb0") == DaqLocation(22, 0)
    assert DaqLocation.parse("22/2") == DaqLocation(22, 2)
    assert DaqLocation.parse("R00/RebW") == DaqLocation(0, 0)
    assert DaqLocation.parse("R44/RebG") == DaqLocation(44, 1)
    assert str(DaqLocation(44, 1)) == "R44/RebG"
    assert str(DaqLocation(43, 2)) == "R43/Reb2"
    assert DaqLocation(4, 1).daq_name == "04/1"


@pytest.mark.parametrize("text", ["R25/Reb0", "R22/Reb3", "22/3", "5/0", "raft22", ""])
def test_daq_location_rejects_malformed_or_out_of_range(text: str) -> None:
    with pytest.raises(InvalidLocationError):
        DaqLocation.parse(text)


def test_unknown_reb_names_location() -> None:
    with pytest.raises(UnknownRebError, match="R11/Reb0"):
        LSST_COMCAM.reb("R11/Reb0")


def test_rebs_for_detectors_returns_distinct_rebs_in_order() -> None:
    rebs = LSSTCAM.rebs_for(["R22_S12", "R22_S11", 0, "R00_SW1"])
    assert [r.name for r in rebs] == ["R00/RebW", "R01/Reb0", "R22/Reb1"]


def test_camera_identity_fields() -> None:
    assert (LSSTCAM.camera_code, LSSTCAM.instrume, LSSTCAM.partition) == ("MC", "lsstCam", "camera")
    assert (LSST_COMCAM.camera_code, LSST_COMCAM.instrume) == ("CC", "ComCam")
    assert (LATISS.camera_code, LATISS.csc_name, LATISS.archiver_name) == ("AT", "ATCamera", "ATArchiver")
    assert (LSSTCAM.telemetry_slots, LSST_COMCAM.telemetry_slots, LATISS.telemetry_slots) == (205, 9, 1)


def test_detector_file_name() -> None:
    det = LSSTCAM.detector("R01_S01")
    assert det.file_name("MC_O_20260315_000051") == "MC_O_20260315_000051_R01_S01.fits"


def test_every_reb_location_round_trips_through_both_syntaxes() -> None:
    for camera in (LSSTCAM, LSST_COMCAM, LATISS):
        for reb in camera.rebs:
            assert DaqLocation.parse(reb.name) == reb.location
            assert DaqLocation.parse(reb.location.daq_name) == reb.location
            assert camera.reb(reb.name) is reb
            assert all(det.location == reb.location for det in reb.detectors)
