"""Header Service values against their keyword's rule: good ones kept, bad ones
dropped for the Archiver's own and named in HDRNOTE."""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time

from lsst.ts.archiver.camera import LATISS, LSSTCAM
from lsst.ts.archiver.fits import (
    KEYWORD_RULES,
    BadValueError,
    Card,
    HeaderServiceFile,
    HeaderSource,
    build_primary_header,
    check_value,
    extension_extra_cards,
    format_long_string,
    hdrnote_cards,
    render_header,
    sanitize_cards,
    sanitize_value,
)
from lsst.ts.archiver.fits.extension import EXTENSION_KEYWORDS
from lsst.ts.archiver.metadata import translate_primary_header
from lsst.ts.archiver.testing import TAI_BEGIN, exposure_metadata

OBSID = "MC_O_20260315_000051"
DETECTOR = LSSTCAM.detector("R22_S11")
TEN_KB = "x" * 10_000

# (keyword, value received, value written): values each keyword's rule accepts.
GOOD = [
    ("DATE-BEG", "2026-03-15T22:50:34.110", "2026-03-15T22:50:34.110"),
    ("DATE-END", "2026-03-15T22:50:49", "2026-03-15T22:50:49"),
    ("DATE-OBS", "2026-03-15", "2026-03-15"),
    ("DATE-BEG", " 2026-03-15T22:50:34.1234567 ", "2026-03-15T22:50:34.1234567"),
    ("DATE-BEG", datetime.datetime(2026, 3, 15, 22, 50, 34), "2026-03-15T22:50:34"),
    ("MJD-BEG", 61114.95178, 61114.95178),
    ("MJD-END", "61114.9519", 61114.9519),
    ("DAYOBS", 20260315, "20260315"),
    ("EXPTIME", 30.0, 30.0),
    ("EXPTIME", 0, 0),
    ("EXPTIME", " 15.5 ", 15.5),
    ("DARKTIME", np.float32(30.5), 30.5),
    ("SHUTTIME", 0.0, 0.0),
    ("SEQNUM", 51, 51),
    ("SEQNUM", 51.0, 51),
    ("CURINDEX", "2", 2),
    ("MAXINDEX", np.int64(3), 3),
    ("RA", 150.1, 150.1),
    ("RA", "359.9", 359.9),
    ("DEC", -30.2, -30.2),
    ("ELSTART", 90, 90),
    ("AZSTART", -120.5, -120.5),
    ("ROTPA", 12.5, 12.5),
    ("HUMIDITY", 45.0, 45.0),
    ("PRESSURE", 74000.0, 74000.0),
    ("AIRTEMP", -3.5, -3.5),
    ("IMGTYPE", "OBJECT", "OBJECT"),
    ("IMGTYPE", "ENGTEST", "ENGTEST"),
    ("FILTER", "r_57", "r_57"),
    ("FILTER", "SDSSr_65mm", "SDSSr_65mm"),
    ("GRATING", "blue300lpmm_qn1", "blue300lpmm_qn1"),
    ("RADESYS", "icrs", "ICRS"),
    ("VIGN_MIN", "FULLY", "FULLY"),
    ("TIMESYS", "TAI", "TAI"),
    ("OBSID", OBSID, OBSID),
    ("SIMULATE ATMCS", False, False),
    ("SIMULATE ATMCS", "T", True),
    ("SIMULATE MTMOUNT", 1, True),
    ("OBJECT", "HD 12345", "HD 12345"),
    ("OBJECT", "Cañón", "Canon"),  # free text: transliterated
    ("PROGRAM", "bell\x07", "bell"),  # free text: control characters removed
    ("OBJECT", TEN_KB, "x" * 68),  # free text: cut to a card
    ("GROUPID", "2026-03-15T22:50:34.110", "2026-03-15T22:50:34.110"),
    ("UNKNOWNK", "anything", "anything"),  # no rule: generic sanitation only
    ("UNKNOWNK", 7, 7),
]

# (keyword, value received, reason): values the rules drop as bad.
BAD = [
    ("DATE-BEG", "yesterday", "not an ISO date"),
    ("DATE-BEG", "2026-03-15 22:50:34", "not an ISO date"),
    ("DATE-BEG", "2026-03-15T22:50:34Z", "not an ISO date"),
    ("DATE-BEG", "2026-03-15T22:50:34+00:00", "not an ISO date"),
    ("DATE-BEG", "2026-13-45T22:50:34", "no such day"),
    ("DATE-END", "2026-02-30", "no such day"),
    ("DATE-BEG", "1900-01-01T00:00:00", "outside the years"),
    ("DATE-BEG", "2026-03-15T22:50:34\x00", "not an ISO date"),
    ("DATE-BEG", "２０２６-03-15T22:50:34", "not an ISO date"),  # full-width digits
    ("DATE-BEG", "2026-03-15T22:50:34" + TEN_KB, "not an ISO date"),
    ("DATE-BEG", 61114.95, "not an ISO date"),
    ("DATE-BEG", True, "logical"),
    ("MJD-BEG", 1e300, "out of range"),
    ("MJD-BEG", "soon", "not a number"),
    ("EXPTIME", "fast", "not a number"),
    ("EXPTIME", -1.0, "out of range"),
    ("EXPTIME", 1e9, "out of range"),
    ("EXPTIME", "nan", "not a finite number"),
    ("EXPTIME", "inf", "not a finite number"),
    ("EXPTIME", float("nan"), "not a finite number"),
    ("EXPTIME", float("-inf"), "not a finite number"),
    ("EXPTIME", np.float64("inf"), "not a finite number"),
    ("EXPTIME", True, "logical"),
    ("EXPTIME", [30.0], "unsupported type"),
    ("EXPTIME", {"value": 30.0}, "unsupported type"),
    ("EXPTIME", "1" * 10_000, "not a number"),
    ("DARKTIME", "3O.5", "not a number"),
    ("SEQNUM", 51.5, "fractional"),
    ("SEQNUM", "51.0", "not an integer"),
    ("SEQNUM", 0, "less than 1"),
    ("SEQNUM", "٥١", "not an integer"),  # Arabic-Indic digits
    ("CURINDEX", False, "logical"),
    ("RA", "twelve", "not a number"),
    ("RA", "12h30m", "not a number"),
    ("RA", 400.0, "out of range"),
    ("DEC", -91.0, "out of range"),
    ("ELSTART", 95.0, "out of range"),
    ("HUMIDITY", 150.0, "out of range"),
    ("IMGTYPE", "flat field", "not an image type"),
    ("IMGTYPE", "ÉCLAIR", "not an image type"),
    ("IMGTYPE", "OB\x00JECT", "not an image type"),
    ("IMGTYPE", "A" * 17, "not an image type"),
    ("IMGTYPE", TEN_KB, "not an image type"),
    ("FILTER", "r 57", "not a filter name"),
    ("FILTER", "x" * 33, "not a filter name"),
    ("FILTER", "r_57\u200b", "not a filter name"),
    ("RADESYS", "GALACTIC", "not one of"),
    ("VIGN_MIN", "HALF", "not one of"),
    ("DAYOBS", "2026-03-15", "not an observing day"),
    ("DAYOBS", 20261399, "not an observing day"),
    ("OBSID", "MC_O_20260315_51", "not an image name"),
    ("SIMULATE ATMCS", "maybe", "not a logical"),
    ("SIMULATE ATMCS", 2, "not a logical"),
    ("OBJECT", True, "logical"),
]


@pytest.mark.parametrize("keyword, value, written", GOOD)
def test_a_good_value_is_kept(keyword: str, value: Any, written: Any) -> None:
    result = sanitize_cards([(keyword, value)])
    [card] = result.cards
    assert card.value == written and type(card.value) is type(written)
    assert not any(change.bad_value for change in result.changes)


@pytest.mark.parametrize("keyword, value, reason", BAD)
def test_a_bad_value_is_dropped_with_the_reason(keyword: str, value: Any, reason: str) -> None:
    result = sanitize_cards([(keyword, value)])
    assert result.cards == ()
    [change] = result.changes
    assert change.action == "dropped" and change.bad_value and reason in change.reason
    with pytest.raises(BadValueError, match=reason):
        sanitize_value(keyword, value)


@pytest.mark.parametrize("keyword, value, reason", BAD)
def test_the_note_of_a_bad_value_is_short_printable_ascii(keyword: str, value: Any, reason: str) -> None:
    [change] = sanitize_cards([(keyword, value)]).changes
    note = change.note
    assert note.startswith(f"{keyword} dropped: ") and note.endswith(f"is {change.reason}")
    assert note.isascii() and note.isprintable() and len(note) < 200


def test_the_note_reads_as_the_operator_expects() -> None:
    [change] = sanitize_cards([("DATE-BEG", "yesterday")]).changes
    assert change.note == "DATE-BEG dropped: 'yesterday' is not an ISO date"


@pytest.mark.parametrize("value", [None, "", "   "])
@pytest.mark.parametrize("keyword", ["DATE-BEG", "EXPTIME", "SEQNUM", "IMGTYPE", "RADESYS", "SIMULATE X"])
def test_an_absent_value_is_dropped_but_not_a_bad_one(keyword: str, value: Any) -> None:
    result = sanitize_cards([(keyword, value)])
    assert result.cards == () and not any(change.bad_value for change in result.changes)


def test_every_accepted_date_and_mjd_parses_as_the_translators_parse_it() -> None:
    for keyword, _, written in GOOD:
        rule = KEYWORD_RULES.get(keyword)
        if rule is not None and rule.date:
            Time(written, format="isot", scale="tai")
        elif keyword.startswith("MJD"):
            Time(written, format="mjd", scale="tai")


def test_every_rule_names_a_card_type() -> None:
    assert {rule.type for rule in KEYWORD_RULES.values()} <= {bool, int, float, str}
    for keyword in ("DATE-BEG", "EXPTIME", "SEQNUM", "RA", "FILTER", "IMGTYPE", "OBJECT"):
        assert keyword in KEYWORD_RULES
    assert check_value("NOSUCHKW", "x") == ("x", [])


# ---------------------------------------------------------------------- merge


def merge(
    *cards: Card, obsid: str = OBSID, metadata: Any = None, detector: Any = DETECTOR, camera: Any = LSSTCAM
) -> Any:
    header = HeaderServiceFile(primary=(Card("OBSID", obsid), *cards))
    return build_primary_header(
        camera,
        detector,
        metadata or exposure_metadata(obsid),
        header,
        archiver_version="1.2.3",
        written_at=TAI_BEGIN + 20.0,
    )


def test_a_bad_date_beg_loses_to_the_archivers_own_times() -> None:
    own = merge().as_dict()
    primary = merge(Card("DATE-BEG", "yesterday"), Card("OBJECT", "M31"))
    values = primary.as_dict()
    assert primary.source is HeaderSource.HEADER_SERVICE and values["HDRSRC"] == "HeaderService"
    for keyword in ("DATE-BEG", "MJD-BEG", "DATE-OBS", "MJD-OBS"):
        assert values[keyword] == own[keyword]
    assert values["OBJECT"] == "M31"
    assert values["HDRNOTE"] == "DATE-BEG dropped: 'yesterday' is not an ISO date"
    assert primary.notes == ("DATE-BEG dropped: 'yesterday' is not an ISO date",)


def test_a_bad_value_the_archiver_has_none_of_is_left_out() -> None:
    values = merge(Card("RA", "twelve"), Card("DEC", -30.2)).as_dict()
    assert "RA" not in values and values["DEC"] == -30.2
    assert values["HDRNOTE"] == "RA dropped: 'twelve' is not a number"


def test_a_good_header_has_no_hdrnote() -> None:
    values = merge(Card("EXPTIME", 15.0), Card("RA", 150.1)).as_dict()
    assert "HDRNOTE" not in values and values["EXPTIME"] == 15.0


def test_the_header_service_cannot_set_the_provenance_keywords() -> None:
    values = merge(
        Card("HDRSRC", "Archiver"), Card("HDRNOTE", "all is well"), Card("LONGSTRN", "x")
    ).as_dict()
    assert values["HDRSRC"] == "HeaderService"
    assert "HDRNOTE" not in values and "LONGSTRN" not in values


def test_bad_extension_values_are_dropped_and_named_with_their_segment() -> None:
    header = HeaderServiceFile(
        primary=(Card("OBSID", OBSID),),
        segments={(DETECTOR.name, "07"): (Card("GAIN", float("nan")), Card("NOISE", 5.1))},
    )
    cards, changes, notes = extension_extra_cards(header, DETECTOR, EXTENSION_KEYWORDS)
    assert [c.keyword for c in cards["07"]] == ["NOISE"]
    assert notes == ["Segment07 GAIN dropped: nan is not a finite number"]
    assert any(c.keyword == "GAIN" and c.bad_value for c in changes)


def test_the_archivers_own_bad_value_is_dropped_and_noted_as_its_own() -> None:
    metadata = exposure_metadata(OBSID, IMGTYPE="not a type")
    values = merge(metadata=metadata).as_dict()
    assert values["IMGTYPE"] == "FLAT"  # ExposureMetadata.imgtype; the bad extra is dropped
    assert "(Archiver's value)" in values["HDRNOTE"]


def test_many_bad_values_make_one_continued_hdrnote_that_astropy_reads_whole() -> None:
    bad = [Card(k, v) for k, v in (("DATE-BEG", "yesterday"), ("EXPTIME", "fast"), ("RA", "twelve"),
                                   ("DEC", "south"), ("IMGTYPE", "flat field"), ("FILTER", "r 57"))]  # fmt: skip
    primary = merge(*bad)
    assert len(primary.notes) == len(bad)
    header = fits.Header.fromstring(render_header(primary.cards).decode("ascii"))
    assert header["HDRNOTE"] == "; ".join(primary.notes)
    assert header["LONGSTRN"] == "OGIP 1.0"
    for card in bad:
        assert f"{card.keyword} dropped" in header["HDRNOTE"]


def test_a_long_note_keeps_doubled_quotes_whole_across_continue_cards() -> None:
    text = "'" * 200 + "x" * 100 + "it's"
    raw = format_long_string(Card("HDRNOTE", text, "notes"))
    assert len(raw) % 80 == 0 and raw.isascii()
    header = fits.Header.fromstring(raw.decode("ascii"))
    assert header["HDRNOTE"] == text


def test_hdrnote_is_capped_and_made_ascii() -> None:
    [longstrn, note] = hdrnote_cards(["é" * 10, "y" * 10_000])
    assert longstrn.keyword == "LONGSTRN"
    assert isinstance(note.value, str) and note.value.isascii() and len(note.value) <= 2000
    assert hdrnote_cards([]) == []


def test_merged_values_still_translate_after_bad_ones_are_dropped() -> None:
    primary = merge(
        Card("DATE-BEG", "yesterday"),
        Card("EXPTIME", "fast"),
        Card("MJD-END", 1e300),
        Card("SEQNUM", -4),
        Card("IMGTYPE", TEN_KB),
        obsid="AT_O_20260315_000051",
        detector=LATISS.detectors[0],
        camera=LATISS,
    )
    assert primary.source is HeaderSource.HEADER_SERVICE and len(primary.notes) == 5
    observation = translate_primary_header(primary.as_dict(), filename="AT_O_20260315_000051_R00_S00.fits")
    assert observation["exposure_time_requested"] == 15.0
    assert observation["observation_type"] == "flat"
