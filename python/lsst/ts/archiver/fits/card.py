"""FITS header cards: the value model and the 80-byte rendering.

This module is the single place where the card format rules live (FITS 4.0
§4): keyword in columns 1-8, value indicator ``= `` in columns 9-10, fixed
format values (logical and numbers right-justified to column 30, strings
starting in column 11 with quotes doubled), comments after ``" / "``. Keywords
that do not fit the standard form are written with the ESO ``HIERARCH``
convention, as the camera writes e.g. ``HIERARCH STUTTER ROWS``. A string
too long for one card (the writer's own ``HDRNOTE``) is written with the
long-string convention (FITS 4.0 §4.2.1.2: ``&`` and ``CONTINUE`` cards);
a header holding one also needs `LONGSTRN_CARD`.

Everything here is pure: no I/O, no clocks.
"""

from __future__ import annotations

__all__ = [
    "BLOCK_SIZE",
    "CARD_SIZE",
    "COMMENTARY_KEYWORDS",
    "Card",
    "CardValue",
    "END_CARD",
    "LONGSTRN_CARD",
    "STANDARD_KEYWORD",
    "format_card",
    "format_long_string",
    "format_value",
    "fits_one_card",
    "is_standard_keyword",
    "pad_to_block",
    "render_cards",
    "render_header",
]

import math
import re
from typing import NamedTuple

CARD_SIZE = 80
"""Bytes per header card."""

BLOCK_SIZE = 2880
"""Bytes per FITS logical record (36 cards)."""

CardValue = bool | int | float | str | None
"""The value types a card can hold; `None` is the FITS undefined value."""

COMMENTARY_KEYWORDS = frozenset({"COMMENT", "HISTORY", ""})
"""Keywords whose cards carry free text instead of a value."""

STANDARD_KEYWORD = re.compile(r"^[A-Z0-9_-]{1,8}$")
"""A keyword that fits columns 1-8 (FITS 4.0 §4.1.2.1)."""

_HIERARCH_KEYWORD = re.compile(r"^[A-Z0-9_-]+( [A-Z0-9_-]+)*$")
_MAX_FIXED_STRING = 68  # columns 11-80 minus the two quotes
_VALUE_WIDTH = 20  # fixed-format numbers and logicals end in column 30

END_CARD = b"END" + b" " * (CARD_SIZE - 3)
"""The END card that closes every header."""

_CONTINUED = _MAX_FIXED_STRING - 1  # characters of a continued string per card, before its '&'


class Card(NamedTuple):
    """One header card: keyword, value and comment.

    Parameters
    ----------
    keyword : `str`
        Upper-case keyword. Up to 8 characters for a standard card; longer
        keywords (or keywords with spaces) are written as ``HIERARCH``.
    value : `bool`, `int`, `float`, `str` or `None`
        Card value; `None` writes the FITS undefined value. For commentary
        cards (COMMENT, HISTORY, blank) the text.
    comment : `str`
        Comment, truncated to what fits in the 80 columns.
    """

    keyword: str
    value: CardValue
    comment: str = ""


LONGSTRN_CARD = Card("LONGSTRN", "OGIP 1.0", "The OGIP long string convention may be used")
"""``LONGSTRN = 'OGIP 1.0'``: announces continued strings (`format_long_string`)."""


def is_standard_keyword(keyword: str) -> bool:
    """Return True if ``keyword`` fits the standard 8-column form."""
    return STANDARD_KEYWORD.match(keyword) is not None


def format_value(value: CardValue) -> str:
    """Format a card value in FITS fixed format.

    Parameters
    ----------
    value : `bool`, `int`, `float`, `str` or `None`
        The value. Floats must be finite and strings printable ASCII.

    Returns
    -------
    text : `str`
        Logicals and numbers right-justified in 20 characters, strings quoted
        with embedded quotes doubled and padded to at least 8 characters,
        the empty string for `None`.

    Raises
    ------
    ValueError
        If a float is NaN or infinite, or a string is not printable ASCII or
        is longer than a card can hold. `sanitize_cards` removes these
        before rendering.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("T" if value else "F").rjust(_VALUE_WIDTH)
    if isinstance(value, int):
        return str(value).rjust(_VALUE_WIDTH)
    if isinstance(value, float):
        return _format_float(value).rjust(_VALUE_WIDTH)
    if isinstance(value, str):
        if not value.isascii() or not value.isprintable():
            raise ValueError(f"string value {value!r} is not printable ASCII; sanitize it first")
        quoted = value.replace("'", "''")
        if len(quoted) > _MAX_FIXED_STRING:
            raise ValueError(
                f"string value of {len(quoted)} characters (with quotes doubled) exceeds "
                f"the {_MAX_FIXED_STRING} a card holds; sanitize it first"
            )
        # Pad to column 30 like the numbers, so comments line up (and the
        # CHECKSUM card renders exactly as astropy re-renders it to verify).
        return ("'" + quoted.ljust(8) + "'").ljust(_VALUE_WIDTH)
    raise TypeError(f"card value {value!r} has unsupported type {type(value).__name__}")


def _format_float(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"float value {value!r} is not finite; sanitize it first")
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        sign = exponent[0] if exponent[0] in "+-" else "+"
        digits = exponent.lstrip("+-").zfill(2)
        text = f"{mantissa}E{sign}{digits}"
    elif "." not in text:
        text += ".0"
    if len(text) > _VALUE_WIDTH:
        text = f"{value:.15E}"
    return text


def format_card(card: Card) -> bytes:
    """Render one card as 80 ASCII bytes.

    Parameters
    ----------
    card : `Card`
        The card. Its keyword must be a standard keyword, a HIERARCH-able
        keyword (upper-case words of ``A-Z0-9_-`` separated by single
        spaces) or a commentary keyword.

    Returns
    -------
    card_bytes : `bytes`
        Exactly 80 bytes.

    Raises
    ------
    ValueError
        If the keyword is not valid, the value cannot be rendered or the
        keyword and value together do not fit in 80 columns.
    """
    keyword, value, comment = card
    if not comment.isascii() or not comment.isprintable():
        raise ValueError(f"comment {comment!r} of {keyword} is not printable ASCII; sanitize it first")
    if keyword in COMMENTARY_KEYWORDS:
        text = "" if value is None else str(value)
        if not text.isascii() or not text.isprintable():
            raise ValueError(f"{keyword or 'blank'} text {text!r} is not printable ASCII")
        line = keyword.ljust(8) + "  " + text
        return line[:CARD_SIZE].ljust(CARD_SIZE).encode("ascii")
    value_text = format_value(value)
    if is_standard_keyword(keyword):
        line = keyword.ljust(8) + "= " + value_text
    elif _HIERARCH_KEYWORD.match(keyword) is not None:
        line = f"HIERARCH {keyword} = " + value_text.strip()
    else:
        raise ValueError(
            f"keyword {keyword!r} is neither a standard FITS keyword nor a valid HIERARCH keyword"
        )
    if len(line) > CARD_SIZE:
        raise ValueError(f"card {keyword!r} needs {len(line)} columns, more than {CARD_SIZE}")
    if comment:
        room = CARD_SIZE - len(line) - 3
        if room > 0:
            line += " / " + comment[:room]
    return line.ljust(CARD_SIZE).encode("ascii")


def fits_one_card(value: str) -> bool:
    """Tell whether a string value fits one standard card (68 characters, quotes doubled)."""
    return len(value) + value.count("'") <= _MAX_FIXED_STRING


def format_long_string(card: Card) -> bytes:
    """Render a standard card whose string value is too long for one card.

    FITS 4.0 §4.2.1.2 long-string convention: the value is cut into pieces
    of at most 67 characters (quotes doubled, never split), each but the
    last ending in ``&``; the first piece goes on the keyword's card, the
    others on ``CONTINUE`` cards, and the comment (as much as fits) on the
    last one. Readers (astropy, cfitsio) return the whole string; the
    header also needs `LONGSTRN_CARD` for ``fitsverify``.

    Parameters
    ----------
    card : `Card`
        A standard keyword with a printable ASCII string value.

    Returns
    -------
    card_bytes : `bytes`
        A multiple of 80 bytes; one card if the value fits one.

    Raises
    ------
    ValueError
        If the keyword is not a standard one or the value or comment is not
        printable ASCII.
    """
    keyword, value, comment = card
    if not isinstance(value, str) or fits_one_card(value):
        return format_card(card)
    if not is_standard_keyword(keyword):
        raise ValueError(f"long string value of {keyword!r}: only standard keywords may be continued")
    if not value.isascii() or not value.isprintable():
        raise ValueError(
            f"string value {value[:40]!r}... of {keyword} is not printable ASCII; sanitize it first"
        )
    if not comment.isascii() or not comment.isprintable():
        raise ValueError(f"comment {comment!r} of {keyword} is not printable ASCII; sanitize it first")
    pieces: list[str] = []
    current = ""
    for ch in value:
        width = 2 if ch == "'" else 1
        if len(current) + current.count("'") + width > _CONTINUED:
            pieces.append(current)
            current = ""
        current += ch
    pieces.append(current)
    lines = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        quoted = "'" + piece.replace("'", "''") + ("" if last else "&") + "'"
        head = keyword.ljust(8) + "= " if index == 0 else "CONTINUE  "
        line = head + quoted
        if last and comment:
            room = CARD_SIZE - len(line) - 3
            if room > 0:
                line += " / " + comment[:room]
        lines.append(line.ljust(CARD_SIZE))
    return "".join(lines).encode("ascii")


def pad_to_block(size: int) -> int:
    """Return the number of fill bytes that complete a 2880-byte block."""
    return -size % BLOCK_SIZE


def render_cards(cards: list[Card] | tuple[Card, ...]) -> bytes:
    """Render cards back to back, without END and without padding.

    A standard card with a string too long for one card is continued
    (`format_long_string`); every other card is `format_card`'s.
    """
    return b"".join(
        format_long_string(card)
        if isinstance(card.value, str) and not fits_one_card(card.value) and is_standard_keyword(card.keyword)
        else format_card(card)
        for card in cards
    )


def render_header(cards: list[Card] | tuple[Card, ...]) -> bytes:
    """Render a complete header: the cards, END and blank fill to a block.

    Parameters
    ----------
    cards : `list` [`Card`]
        Cards in order, without END.

    Returns
    -------
    header : `bytes`
        A multiple of 2880 bytes.
    """
    body = render_cards(cards) + END_CARD
    return body + b" " * pad_to_block(len(body))
