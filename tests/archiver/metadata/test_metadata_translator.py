"""Tests of the ts_archiver metadata translators."""

from __future__ import annotations

import astropy.units as u
import pytest
from astro_metadata_translator import MetadataTranslator, ObservationInfo

from lsst.ts.archiver.metadata import (
    MARKER_KEYWORD,
    ArchiverLatissTranslator,
    ArchiverLsstCamTranslator,
    ArchiverLsstComCamTranslator,
)
from lsst.ts.archiver.testing import make_primary_header


def translate(header: dict) -> ObservationInfo:
    return ObservationInfo(header, pedantic=False, quiet=True)


@pytest.mark.parametrize(
    ("instrument", "detector", "number", "translator"),
    [
        ("LSSTCam", "R22_S11", 94, ArchiverLsstCamTranslator),
        ("LSSTCam", "R10_S02", 29, ArchiverLsstCamTranslator),
        ("LSSTCam", "R44_SW1", 204, ArchiverLsstCamTranslator),
        ("LSSTComCam", "R22_S21", 7, ArchiverLsstComCamTranslator),
        ("LATISS", None, 0, ArchiverLatissTranslator),
    ],
)
def test_marked_header_is_claimed_by_our_translator_with_obs_lsst_detector_number(
    instrument: str, detector: str | None, number: int, translator: type
) -> None:
    header = make_primary_header(instrument, detector=detector)
    assert MetadataTranslator.determine_translator(header) is translator
    info = translate(header)
    assert info.instrument == instrument
    assert info.detector_num == number


def test_header_without_marker_is_not_claimed() -> None:
    header = make_primary_header("LSSTCam", detector="R22_S11")
    del header[MARKER_KEYWORD]
    for translator in (ArchiverLsstCamTranslator, ArchiverLsstComCamTranslator, ArchiverLatissTranslator):
        assert not translator.can_translate(header)
    with pytest.raises(ValueError):
        MetadataTranslator.determine_translator(header)


@pytest.mark.parametrize("value", ["", "   ", 1])
def test_empty_or_non_string_marker_is_not_claimed(value: object) -> None:
    header = make_primary_header("LSSTCam")
    header[MARKER_KEYWORD] = value
    assert not ArchiverLsstCamTranslator.can_translate(header)


def test_translator_claims_only_its_own_instrument() -> None:
    header = make_primary_header("LSSTComCam")
    assert ArchiverLsstComCamTranslator.can_translate(header)
    assert not ArchiverLsstCamTranslator.can_translate(header)
    assert not ArchiverLatissTranslator.can_translate(header)


def test_identity_properties_follow_obs_lsst_conventions() -> None:
    header = make_primary_header("LSSTCam", day_obs=20260315, seq_num=51, detector="R01_S01")
    info = translate(header)
    assert info.exposure_id == 2026031500051
    assert info.observation_id == "MC_O_20260315_000051"
    assert info.observing_day == 20260315
    assert info.observing_day_offset.to_value(u.s) == 12 * 3600
    assert info.observation_counter == 51
    assert info.detector_unique_name == "R01_S01"
    assert info.detector_exposure_id == 2026031500051 * 1000 + info.detector_num
    assert info.physical_filter == "r_57"
    assert info.observation_type == "science"
    assert info.exposure_time_requested.to_value(u.s) == 30.0
    assert info.datetime_begin.scale == "tai"
    assert (info.datetime_end - info.datetime_begin).to_value(u.s) == pytest.approx(30.0)


def test_latiss_physical_filter_joins_filter_and_grating() -> None:
    header = make_primary_header("LATISS", physical_filter="SDSSg_65mm")
    header["GRATING"] = "holo4_003"
    info = translate(header)
    assert info.physical_filter == "SDSSg_65mm~holo4_003"
    assert info.detector_unique_name == "RXX_S00"


@pytest.mark.parametrize(
    ("detector", "serial"),
    [("R22_S11", "E2V-CCD250-382"), ("R01_S00", "ITL-3800C-083"), ("R44_SW1", "ITL-4400B-007")],
)
def test_lsstcam_detector_serial_is_obs_lsst_s(detector: str, serial: str) -> None:
    info = translate(make_primary_header("LSSTCam", detector=detector))
    assert info.detector_serial == serial


def test_the_typical_comcam_filter_is_one_of_obs_lsst_s_comcam_filters() -> None:
    info = translate(make_primary_header("LSSTComCam", detector="R22_S11"))
    assert info.physical_filter in {"u_02", "g_01", "r_03", "i_06", "z_03", "y_04"}


def test_calibration_without_pointing_translates() -> None:
    header = make_primary_header("LSSTCam", image_type="BIAS", exposure_time=0.0)
    for key in ("RA", "DEC", "RASTART", "DECSTART", "ROTPA", "AZSTART", "ELSTART"):
        del header[key]
    info = translate(header)
    assert info.observation_type == "bias"
    assert info.tracking_radec is None
    assert info.can_see_sky is False


def test_day_obs_is_computed_from_begin_when_dayobs_is_missing() -> None:
    header = make_primary_header("LSSTCam", day_obs=20261123, begin="2026-11-24T11:59:00")
    del header["DAYOBS"]
    header["SEQNUM"] = 3
    assert translate(header).observing_day == 20261123


def test_end_defaults_to_begin_plus_shutter_time() -> None:
    header = make_primary_header("LSSTCam", exposure_time=15.0)
    del header["DATE-END"]
    info = translate(header)
    assert (info.datetime_end - info.datetime_begin).to_value(u.s) == pytest.approx(15.0)


def test_group_counters_come_from_snap_indices() -> None:
    header = make_primary_header("LSSTCam", seq_num=10)
    header["CURINDEX"], header["MAXINDEX"] = 2, 3
    info = translate(header)
    assert (info.group_counter_start, info.group_counter_end) == (9, 11)


def test_simulated_controller_marks_simulated_content() -> None:
    assert translate(make_primary_header("LSSTCam", controller="S")).has_simulated_content
    assert not translate(make_primary_header("LSSTCam", controller="O")).has_simulated_content


@pytest.mark.parametrize(
    ("day_obs", "controller", "expected"),
    [(20261123, "O", 2026112300007), (20261123, "C", 2026112300007), (20230101, "C", 3023010100007)],
)
def test_exposure_id_applies_obs_lsst_controller_offsets(
    day_obs: int, controller: str, expected: int
) -> None:
    header = make_primary_header("LSSTCam", day_obs=day_obs, seq_num=7, controller=controller)
    assert translate(header).exposure_id == expected
