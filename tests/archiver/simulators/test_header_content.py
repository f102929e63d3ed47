"""The Header Service simulator's header: sections, values and a parse round trip."""

from __future__ import annotations

import pytest

from lsst.ts.archiver.camera import LATISS, LSST_COMCAM, LSSTCAM, UnknownDetectorError
from lsst.ts.archiver.fits import (
    ExposureMetadata,
    build_primary_header,
    mjd_from_tai_unix,
    parse_header_file,
    render_header_file,
    tai_unix_to_isot,
)
from lsst.ts.archiver.metadata import translate_primary_header
from lsst.ts.archiver.simulators import RUBIN_SITE, CollectedImage, SimulatedObservatory, build_header

T0 = 1795500000.0


def _image(**kwargs: object) -> CollectedImage:
    values: dict = dict(
        name="CC_O_20261123_000007",
        images_in_sequence=3,
        index=2,
        additional={"imageType": "FLAT", "groupId": "2026-11-24T05:00:00.000", "reason": "flat field"},
        exposure_time=15.0,
        date_beg=T0,
        date_end=T0 + 15.0,
        shutter_open_time=15.0,
        dark_time=17.2,
        image_tag="00000000deadbeef",
        detectors=["R22_S00", "R22_S11"],
    )
    values.update(kwargs)
    return CollectedImage(**values)


def _header(image: CollectedImage, camera=LSST_COMCAM):  # type: ignore[no-untyped-def]
    observatory = SimulatedObservatory(camera.name, seed=1)
    start = observatory.state(image.group_id, T0, image.date_beg)
    end = observatory.state(image.group_id, T0, image.date_end or image.date_beg)
    return build_header(camera, image, start, end, RUBIN_SITE), start, end


def test_primary_keywords_come_from_the_camera_events_and_the_observatory() -> None:
    image = _image()
    header, start, end = _header(image)
    primary = {card.keyword: card.value for card in header.primary}
    assert primary["OBSID"] == "CC_O_20261123_000007"
    assert (primary["CAMCODE"], primary["CONTRLLR"], primary["DAYOBS"], primary["SEQNUM"]) == (
        "CC",
        "O",
        "20261123",
        7,
    )
    assert (primary["IMGTYPE"], primary["REASON"], primary["GROUPID"]) == (
        "FLAT",
        "flat field",
        "2026-11-24T05:00:00.000",
    )
    assert (primary["CURINDEX"], primary["MAXINDEX"]) == (2, 3)
    assert primary["DATE-BEG"] == tai_unix_to_isot(T0)
    assert primary["MJD-END"] == pytest.approx(mjd_from_tai_unix(T0 + 15.0))
    assert (primary["EXPTIME"], primary["SHUTTIME"], primary["DARKTIME"]) == (15.0, 15.0, 17.2)
    assert primary["IMAGETAG"] == "00000000deadbeef"
    assert (primary["INSTRUME"], primary["TELESCOP"], primary["TIMESYS"]) == (
        "ComCam",
        "Simonyi Survey Telescope",
        "TAI",
    )
    assert (primary["RASTART"], primary["DECSTART"], primary["RAEND"]) == (start.ra, start.dec, end.ra)
    assert (primary["AMSTART"], primary["AMEND"]) == (start.airmass, end.airmass)
    assert primary["FILTER"] == start.physical_filter
    assert primary["OBS-LAT"] == RUBIN_SITE.latitude
    for keyword in (
        "ROTPA",
        "AZSTART",
        "ELEND",
        "HASTART",
        "AIRTEMP",
        "PRESSURE",
        "HUMIDITY",
        "WINDSPD",
        "SEEING",
    ):
        assert isinstance(primary[keyword], float), keyword


def test_one_section_per_detector_and_per_amplifier_of_the_detectors_read() -> None:
    header, _, _ = _header(_image())
    assert set(header.detectors) == {"R22_S00", "R22_S11"}
    assert len(header.segments) == 32
    assert {seg for (det, seg) in header.segments if det == "R22_S11"} == {
        a.segment for a in LSST_COMCAM.detector("R22_S11").amplifiers
    }
    temps = {c.keyword: c.value for c in header.detectors["R22_S11"]}
    assert temps["TEMP_SET"] == -95.0
    assert abs(temps["CCDTEMP"] - (-95.0)) < 0.5


def test_without_detector_list_every_detector_gets_sections_including_wavefront_halves() -> None:
    header, _, _ = _header(_image(name="MC_O_20261123_000001", detectors=[]), camera=LSSTCAM)
    assert len(header.detectors) == 205
    assert len(header.segments) == 189 * 16 + 8 * 16 + 8 * 8


def test_rendered_header_parses_back_to_the_same_cards() -> None:
    header, _, _ = _header(_image())
    parsed = parse_header_file(render_header_file(header))
    assert parsed.obsid == "CC_O_20261123_000007"
    assert [tuple(c) for c in parsed.primary] == [tuple(c) for c in header.primary]
    assert dict(parsed.detectors) == dict(header.detectors)
    assert dict(parsed.segments) == dict(header.segments)


def test_unknown_detector_is_an_error() -> None:
    with pytest.raises(UnknownDetectorError):
        _header(_image(detectors=["R99_S11"]))


def test_comcam_headers_name_filters_obs_lsst_knows_for_comcam() -> None:
    comcam_filters = {
        "empty",
        "unknown",
        "u_05",
        "u_02",
        "u_06",
        "g_07",
        "g_01",
        "r_03",
        "i_06",
        "z_03",
        "z_02",
        "y_04",
    }
    written = set()
    for group in range(40):
        header, _, _ = _header(_image(additional={"groupId": f"group{group}"}))
        primary = {card.keyword: card.value for card in header.primary}
        written.add(primary["FILTER"])
        assert "GRATING" not in primary
    assert written <= comcam_filters and len(written) > 1


def test_latiss_headers_have_a_grating_and_translate_to_filter_tilde_grating() -> None:
    image = _image(name="AT_O_20261123_000007", detectors=["R00_S00"])
    header, start, _ = _header(image, camera=LATISS)
    primary = {card.keyword: card.value for card in header.primary}
    assert (primary["FILTER"], primary["GRATING"], primary["GRATSLOT"]) == (
        start.physical_filter,
        start.grating,
        start.grating_slot,
    )
    merged = build_primary_header(
        LATISS,
        LATISS.detector(0),
        ExposureMetadata(obsid=image.name, exptime=15.0, date_beg=T0, date_end=T0 + 15.0),
        header,
        archiver_version="x",
    )
    observation = translate_primary_header(merged.as_dict(), filename="x.fits")
    assert observation["physical_filter"] == f"{start.physical_filter}~{start.grating}"
