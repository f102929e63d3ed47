"""Sanitation of hostile header values: each one is fixed or dropped, and recorded."""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pytest

from lsst.ts.archiver.fits import Card, format_card, sanitize_cards


def only(keyword: str, value: Any, comment: str = "") -> tuple[dict[str, Card], list[str]]:
    result = sanitize_cards([(keyword, value, comment)])
    for card in result.cards:
        format_card(card)  # everything kept must render
    return {c.keyword: c for c in result.cards}, [f"{c.action}: {c.reason}" for c in result.changes]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), np.float32("nan")])
def test_non_finite_numbers_are_dropped_and_recorded(value: float) -> None:
    cards, changes = only("AIRTEMP", value)
    assert cards == {}
    assert changes == ["dropped: not a finite number"]


def test_undefined_value_is_dropped_and_recorded() -> None:
    cards, changes = only("OBJECT", None)
    assert cards == {} and changes == ["dropped: undefined value"]


def test_number_as_string_for_a_numeric_keyword_is_converted() -> None:
    cards, changes = only("EXPTIME", " 15.5 ")
    assert cards["EXPTIME"].value == 15.5
    assert changes == ["converted: string converted to a number"]


def test_non_numeric_string_for_a_numeric_keyword_is_dropped() -> None:
    cards, changes = only("EXPTIME", "fifteen")
    assert cards == {} and "not a number" in changes[0]


def test_logical_for_a_numeric_keyword_is_dropped() -> None:
    cards, changes = only("DARKTIME", True)
    assert cards == {} and "logical" in changes[0]


def test_integral_float_for_an_integer_keyword_becomes_an_integer() -> None:
    cards, changes = only("SEQNUM", 51.0)
    assert cards["SEQNUM"].value == 51 and isinstance(cards["SEQNUM"].value, int)
    assert changes == ["converted: integral float converted to an integer"]


def test_fractional_float_for_an_integer_keyword_is_dropped() -> None:
    cards, changes = only("CURINDEX", 1.5)
    assert cards == {} and "fractional" in changes[0]


def test_number_for_a_string_keyword_becomes_a_string() -> None:
    cards, changes = only("DAYOBS", 20260315)
    assert cards["DAYOBS"].value == "20260315"
    assert changes == ["converted: number converted to a string"]


def test_overlong_string_is_truncated_to_what_a_card_holds() -> None:
    cards, changes = only("OBJECT", "x" * 100)
    assert cards["OBJECT"].value == "x" * 68
    assert changes == ["truncated: longer than the 68 characters a card holds"]


def test_huge_string_is_truncated_quickly() -> None:
    cards, _ = only("OBJECT", "'a" * 5_000_000)
    assert cards["OBJECT"].value == "'a" * 22 + "'"


def test_quotes_count_twice_when_truncating() -> None:
    cards, _ = only("OBJECT", "'" * 50)
    assert cards["OBJECT"].value == "'" * 34


def test_non_ascii_string_is_transliterated() -> None:
    cards, changes = only("OBJECT", "Cañón\x07 ☃")
    assert cards["OBJECT"].value == "Canon "
    assert changes == ["converted: non-ASCII or control characters replaced"]


def test_non_ascii_comment_is_transliterated() -> None:
    cards, changes = only("ROTPA", 1.0, "angle in °, über")
    assert cards["ROTPA"].comment == "angle in , uber"
    assert changes == ["comment: non-ASCII comment transliterated"]


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}, object(), (1,)])
def test_unsupported_types_are_dropped(value: object) -> None:
    cards, changes = only("FOCUSZ", value)
    assert cards == {} and "unsupported type" in changes[0]


def test_numpy_scalars_are_unwrapped_silently() -> None:
    cards, changes = only("EXPTIME", np.float64(2.5))
    assert type(cards["EXPTIME"].value) is float and changes == []
    cards, changes = only("SEQNUM", np.int64(7))
    assert type(cards["SEQNUM"].value) is int and changes == []


def test_integer_beyond_64_bits_becomes_a_float() -> None:
    cards, changes = only("BIGNUM", 2**70)
    assert cards["BIGNUM"].value == float(2**70)
    assert "64 bits" in changes[0]


def test_bytes_and_dates_become_strings() -> None:
    cards, _ = only("OBJECT", b"M31")
    assert cards["OBJECT"].value == "M31"
    cards, _ = only("DATE-BEG", datetime.datetime(2026, 3, 15, 22, 50, 34))
    assert cards["DATE-BEG"].value == "2026-03-15T22:50:34"


def test_lower_case_keyword_is_upper_cased_and_recorded() -> None:
    cards, changes = only("exptime", 1.0)
    assert "EXPTIME" in cards and changes == ["renamed: upper-cased"]


@pytest.mark.parametrize("keyword", ["BAD=KEY", "KEY/SLASH", "KÉY", "", "   ", 42, None, "TWO  SPACES!"])
def test_invalid_keywords_are_dropped_and_recorded(keyword: Any) -> None:
    cards, changes = only(keyword, 1)
    assert cards == {} and changes[0].startswith("dropped:")


def test_long_and_spaced_keywords_become_hierarch() -> None:
    cards, _ = only("SHUTTER OPEN MOTION", 0.25)
    assert format_card(cards["SHUTTER OPEN MOTION"]).startswith(b"HIERARCH SHUTTER OPEN MOTION = 0.25")
    cards, _ = only("HIERARCH STUTTER ROWS", 5)
    assert "STUTTER ROWS" in cards
    cards, _ = only("VERYLONGKEYWORD", "x")
    assert "VERYLONGKEYWORD" in cards


def test_hierarch_card_too_long_for_80_columns_is_dropped() -> None:
    cards, changes = only("A " * 30 + "B", "y" * 40)
    assert cards == {} and "columns" in changes[0]


@pytest.mark.parametrize(
    "keyword", ["NAXIS1", "BITPIX", "CHECKSUM", "DATASUM", "ZTILE1", "XTENSION", "EXTNAME"]
)
def test_structural_keywords_from_outside_are_dropped(keyword: str) -> None:
    cards, changes = only(keyword, 1)
    assert cards == {} and changes == ["dropped: structural keyword set by the writer"]


def test_duplicate_keyword_keeps_the_last_value_in_the_first_position() -> None:
    result = sanitize_cards([("A", 1), ("B", 2), ("A", 3)])
    assert [(c.keyword, c.value) for c in result.cards] == [("A", 3), ("B", 2)]
    assert "duplicate" in result.changes[0].reason


def test_commentary_cards_are_kept_in_order() -> None:
    result = sanitize_cards([("COMMENT", "---- Checksums ----"), ("A", 1), ("HISTORY", "made ☃")])
    assert [c.keyword for c in result.cards] == ["COMMENT", "A", "HISTORY"]
    assert result.cards[2].value == "made "


def test_change_record_names_keyword_and_values() -> None:
    result = sanitize_cards([("OBJECT", "x" * 70)])
    text = str(result.changes[0])
    assert text.startswith("OBJECT: truncated") and "'xxxx" in text
