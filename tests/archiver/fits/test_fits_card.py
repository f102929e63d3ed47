"""Card rendering: fixed format, HIERARCH, commentary, limits."""

from __future__ import annotations

import pytest
from astropy.io import fits

from lsst.ts.archiver.fits import BLOCK_SIZE, Card, format_card, render_header


@pytest.mark.parametrize(
    "card",
    [
        Card("SIMPLE", True, "conforms"),
        Card("FLAG", False),
        Card("SEQNUM", 51, "sequence"),
        Card("DTV1", -10),
        Card("EXPTIME", 15.0, "s"),
        Card("TINY", 1.5e-20),
        Card("HUGE", -2.5e300),
        Card("PI", 3.141592653589793),
        Card("OBSID", "MC_O_20260315_000051", "Image name"),
        Card("QUOTE", "it's ''quoted''"),
        Card("EMPTY", ""),
        Card("STUTTER ROWS", 5, "HIERARCH keyword"),
        Card("SHUTTER OPEN MOTION", 0.25),
    ],
)
def test_rendered_card_reads_back_with_astropy(card: Card) -> None:
    raw = format_card(card)
    assert len(raw) == 80
    parsed = fits.Card.fromstring(raw.decode("ascii"))
    assert parsed.keyword == card.keyword
    assert parsed.value == card.value
    assert type(parsed.value) is type(card.value)


def test_fixed_format_puts_numbers_and_logicals_in_column_30() -> None:
    assert format_card(Card("NAXIS", 2))[:30].decode() == "NAXIS   = " + " " * 19 + "2"
    assert format_card(Card("EXTEND", True))[29:30] == b"T"


def test_string_values_are_padded_to_eight_characters_and_comments_follow() -> None:
    text = format_card(Card("CCDSUM", "1 1", "binning")).decode()
    assert text.startswith("CCDSUM  = '1 1     '           / binning")


def test_commentary_card_carries_text_without_value_indicator() -> None:
    text = format_card(Card("COMMENT", "---- Checksums ----")).decode()
    assert text.startswith("COMMENT   ---- Checksums ----")


def test_overlong_comment_is_cut_to_fit_the_card() -> None:
    raw = format_card(Card("KEY", 1, "x" * 200))
    assert len(raw) == 80 and raw.endswith(b"x")


@pytest.mark.parametrize(
    "card, message",
    [
        (Card("KEY", float("nan")), "not finite"),
        (Card("KEY", float("inf")), "not finite"),
        (Card("KEY", "é"), "printable ASCII"),
        (Card("KEY", "x" * 69), "exceeds"),
        (Card("KEY", 1, "comment with ü"), "printable ASCII"),
        (Card("BAD=KEY", 1), "neither"),
        (Card("lower", 1), "neither"),
    ],
)
def test_unrenderable_cards_raise_value_error(card: Card, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_card(card)


def test_render_header_ends_with_end_and_fills_whole_blocks() -> None:
    cards = [Card(f"KEY{i}", i) for i in range(40)]
    header = render_header(cards)
    assert len(header) % BLOCK_SIZE == 0 and len(header) == 2 * BLOCK_SIZE
    assert header[40 * 80 : 41 * 80].rstrip() == b"END"
    assert set(header[41 * 80 :]) == {ord(" ")}
