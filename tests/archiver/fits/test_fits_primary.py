"""Primary header merge: who wins, conflicts, sanitation, the writer-only marker."""

from __future__ import annotations

import logging

import pytest

from lsst.ts.archiver.camera import LATISS, LSSTCAM, LSSTCAM_SERIALS
from lsst.ts.archiver.fits import (
    Card,
    HeaderServiceFile,
    HeaderSource,
    build_primary_header,
    mjd_from_tai_unix,
    tai_unix_to_isot,
)
from lsst.ts.archiver.testing import TAI_BEGIN, exposure_metadata

OBSID = "MC_O_20260315_000051"
DETECTOR = LSSTCAM.detector("R22_S11")


def header_service(*cards: Card, detector_cards: tuple[Card, ...] = ()) -> HeaderServiceFile:
    return HeaderServiceFile(
        primary=(Card("OBSID", OBSID),) + cards, detectors={"R22_S11": detector_cards}, source="hs.yaml"
    )


def build(header: HeaderServiceFile | None, **kwargs: object):  # type: ignore[no-untyped-def]
    return build_primary_header(
        LSSTCAM,
        DETECTOR,
        exposure_metadata(OBSID),
        header,
        archiver_version="1.2.3",
        written_at=TAI_BEGIN,
        **kwargs,
    )


def test_writer_identity_keywords_are_set_from_the_image_name_and_camera() -> None:
    values = build(None).as_dict()
    assert values["OBSID"] == OBSID and values["DAYOBS"] == "20260315" and values["SEQNUM"] == 51
    assert values["CAMCODE"] == "MC" and values["CONTRLLR"] == "O"
    assert values["INSTRUME"] == "lsstCam" and values["TELESCOP"] == "Simonyi Survey Telescope"
    assert (values["RAFTBAY"], values["CCDSLOT"], values["CCD_MANU"], values["CCD_TYPE"]) == (
        "R22",
        "S11",
        "E2V",
        "CCD250",
    )
    assert values["DETSIZE"] == "[1:4096,1:4004]"
    assert values["FILENAME"] == f"{OBSID}_R22_S11.fits"
    assert values["TIMESYS"] == "TAI" and values["ARCHVER"] == "1.2.3"
    assert values["DATE-BEG"] == "2026-03-15T22:50:34.110" and values["DAQPART"] == "camera"


def test_without_header_file_the_header_is_marked_as_archiver_only() -> None:
    primary = build(None, header_problem="late: no header after 30 s")
    values = primary.as_dict()
    assert primary.source is HeaderSource.ARCHIVER
    assert values["HDRSRC"] == "Archiver" and values["HDRNOTE"] == "late: no header after 30 s"


def test_header_service_values_win_for_what_it_owns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    primary = build(header_service(Card("EXPTIME", 30.0, "from HS"), Card("IMGTYPE", "OBJECT")))
    values = primary.as_dict()
    assert values["EXPTIME"] == 30.0 and values["IMGTYPE"] == "OBJECT"
    assert values["HDRSRC"] == "HeaderService" and "HDRNOTE" not in values
    winners = {c.keyword: c.winner for c in primary.conflicts}
    assert winners == {"EXPTIME": "header service", "IMGTYPE": "header service"}
    assert "EXPTIME: writer 15.0 vs Header Service 30.0, header service wins" in caplog.text


def test_writer_values_win_for_structure_and_identity(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    hs = header_service(Card("RAFTBAY", "R99"), Card("INSTRUME", "LSST"), Card("FILENAME", "other.fits"))
    primary = build(hs)
    values = primary.as_dict()
    assert (values["RAFTBAY"], values["INSTRUME"], values["FILENAME"]) == (
        "R22",
        "lsstCam",
        f"{OBSID}_R22_S11.fits",
    )
    assert {c.keyword for c in primary.conflicts if c.winner == "writer"} == {
        "RAFTBAY",
        "INSTRUME",
        "FILENAME",
    }
    assert "RAFTBAY: writer 'R22' vs Header Service 'R99', writer wins" in caplog.text


def test_equal_values_are_not_conflicts() -> None:
    primary = build(header_service(Card("EXPTIME", 15.0), Card("DAYOBS", "20260315")))
    assert primary.conflicts == ()


def test_header_service_only_and_detector_keywords_are_added() -> None:
    primary = build(header_service(Card("ROTPA", 12.5), detector_cards=(Card("CCDTEMP", -95.1),)))
    values = primary.as_dict()
    assert values["ROTPA"] == 12.5 and values["CCDTEMP"] == -95.1


def test_missing_writer_value_is_taken_from_the_header_service() -> None:
    # DAQVERS is writer-owned, but the metadata of exposure_metadata has none.
    primary = build(header_service(Card("DAQVERS", "R5-V8.2")))
    assert primary.as_dict()["DAQVERS"] == "R5-V8.2"
    latiss = build_primary_header(
        LATISS, LATISS.detector(0), exposure_metadata("AT_O_20260315_000051"), None, archiver_version="x"
    )
    assert latiss.as_dict()["LSST_NUM"] == "ITL-3800C-068"


@pytest.mark.parametrize("name", ["R01_S00", "R22_S11", "R00_SG1", "R44_SW0"])
def test_every_lsstcam_file_carries_the_serial_of_its_ccd(name: str) -> None:
    detector = LSSTCAM.detector(name)
    primary = build_primary_header(
        LSSTCAM, detector, exposure_metadata(OBSID), None, archiver_version="x", written_at=TAI_BEGIN
    )
    assert primary.as_dict()["LSST_NUM"] == detector.lsst_num == LSSTCAM_SERIALS[name]


def test_the_writers_serial_wins_over_a_different_header_service_one() -> None:
    primary = build(header_service(Card("LSST_NUM", "E2V-CCD250-999")))
    assert primary.as_dict()["LSST_NUM"] == "E2V-CCD250-382"
    assert [c.keyword for c in primary.conflicts] == ["LSST_NUM"]


def test_hostile_header_service_values_are_sanitized_and_recorded() -> None:
    primary = build(header_service(Card("AIRTEMP", float("nan")), Card("NAXIS", 3), Card("object", "Cañón")))
    values = primary.as_dict()
    assert "AIRTEMP" not in values and "NAXIS" not in values and values["OBJECT"] == "Canon"
    reasons = {(c.keyword, c.action) for c in primary.changes}
    assert {
        ("AIRTEMP", "dropped"),
        ("NAXIS", "dropped"),
        ("object", "renamed"),
        ("OBJECT", "converted"),
    } <= reasons


def test_tai_times_convert_to_iso_and_mjd() -> None:
    assert tai_unix_to_isot(0.0) == "1970-01-01T00:00:00.000"
    assert tai_unix_to_isot(TAI_BEGIN) == "2026-03-15T22:50:34.110"
    assert mjd_from_tai_unix(86400.0) == 40588.0


def test_header_file_of_another_image_is_ignored_and_noted(caplog: pytest.LogCaptureFixture) -> None:
    other = HeaderServiceFile(
        primary=(Card("OBSID", "MC_O_20260315_000099"), Card("EXPTIME", 99.0)), source="hs/other.yaml"
    )
    primary = build(other)
    values = primary.as_dict()
    assert primary.source is HeaderSource.ARCHIVER and values["EXPTIME"] == 15.0
    assert values["HDRNOTE"] == "header file is for MC_O_20260315_000099"
    assert "hs/other.yaml is for OBSID 'MC_O_20260315_000099'" in caplog.text


def test_header_service_start_time_realigns_the_writers_other_start_keywords() -> None:
    values = build(header_service(Card("DATE-BEG", "2026-03-15T22:50:40.000"))).as_dict()
    assert values["DATE-BEG"] == "2026-03-15T22:50:40.000"
    assert values["DATE-OBS"] == "2026-03-15T22:50:40.000"
    assert values["MJD-BEG"] == pytest.approx(mjd_from_tai_unix(TAI_BEGIN + 5.89), abs=1e-9)
    assert values["DATE-END"] == tai_unix_to_isot(TAI_BEGIN + 15.2)  # end group untouched


def test_unparsable_header_service_time_is_dropped_for_the_writers_and_noted() -> None:
    writers = build(None).as_dict()
    primary = build(header_service(Card("DATE-END", "yesterday")))
    values = primary.as_dict()
    assert (values["DATE-END"], values["MJD-END"]) == (writers["DATE-END"], writers["MJD-END"])
    assert any("DATE-END dropped: 'yesterday'" in note for note in primary.notes)


def test_empty_header_service_string_does_not_erase_the_writers_value() -> None:
    primary = build(header_service(Card("IMGTYPE", ""), Card("REASON", "  ")))
    values = primary.as_dict()
    assert values["IMGTYPE"] == "FLAT" and values["REASON"] == "  "
    assert primary.conflicts == ()
