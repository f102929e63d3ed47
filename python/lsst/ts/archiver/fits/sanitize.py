"""Sanitation of header values from outside (Header Service files, events).

Every value that would make an invalid, unreadable or misleading card is
fixed or dropped here, and every change is recorded as a `HeaderChange`, so
the writer can log exactly what it altered:

* keywords: stripped, upper-cased, ``HIERARCH`` prefix removed; keywords
  that are neither standard nor HIERARCH-able (``=``, non-ASCII, empty) are
  dropped; structural keywords the writer owns (``SIMPLE``, ``NAXIS2``,
  ``CHECKSUM``, ``Z*`` compression keywords ...) are dropped;
* values: NaN and infinities dropped (an undefined value would draw a
  ``fitsverify`` warning); ``None`` dropped; numpy scalars unwrapped;
  integers beyond 64 bits made floats; bytes decoded; dates made ISO
  strings; non-ASCII transliterated; over-long strings truncated; values of
  other types (lists, mappings ...) dropped;
* known keywords get their expected type (``EXPTIME`` a float, ``SEQNUM``
  an int, ``DAYOBS`` a string ...): convertible values are converted,
  others dropped;
* comments: non-ASCII transliterated;
* duplicates: the last value wins.
"""

from __future__ import annotations

__all__ = [
    "EXPECTED_TYPES",
    "HeaderChange",
    "STRUCTURAL_KEYWORDS",
    "SanitizedCards",
    "is_structural_keyword",
    "sanitize_cards",
    "sanitize_value",
]

import datetime
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .card import COMMENTARY_KEYWORDS, Card, CardValue, format_card, is_standard_keyword

_MAX_STRING = 68
_INT64_MAX = 2**63 - 1
_HIERARCH = re.compile(r"^[A-Z0-9_-]+( [A-Z0-9_-]+)*$")
_STRUCTURAL_PATTERNS = re.compile(
    r"^(NAXIS\d*|ZNAXIS\d*|ZTILE\d*|ZNAME\d*|ZVAL\d*|TTYPE\d+|TFORM\d+|TUNIT\d+|TDIM\d+|TNULL\d+|"
    r"TSCAL\d+|TZERO\d+|TDISP\d+)$"
)

STRUCTURAL_KEYWORDS = frozenset(
    {
        "SIMPLE",
        "BITPIX",
        "EXTEND",
        "XTENSION",
        "PCOUNT",
        "GCOUNT",
        "TFIELDS",
        "THEAP",
        "BSCALE",
        "BZERO",
        "BLANK",
        "INHERIT",
        "END",
        "CHECKSUM",
        "DATASUM",
        "ZHECKSUM",
        "ZDATASUM",
        "ZIMAGE",
        "ZBITPIX",
        "ZCMPTYPE",
        "ZQUANTIZ",
        "ZDITHER0",
        "ZSIMPLE",
        "ZEXTEND",
        "ZTENSION",
        "ZPCOUNT",
        "ZGCOUNT",
        "ZBLANK",
        "ZBLOCKED",
        "EXTNAME",
        "EXTVER",
    }
)
"""Keywords that describe the file's structure; only the writer sets them."""

EXPECTED_TYPES: Mapping[str, type] = {
    **{k: str for k in ("OBSID", "DAYOBS", "CAMCODE", "TELCODE", "CONTRLLR", "IMGTYPE", "TESTTYPE",
                         "GROUPID", "INSTRUME", "TELESCOP", "RAFTBAY", "CCDSLOT", "LSST_NUM",
                         "CCD_MANU", "CCD_TYPE", "DETSIZE", "FILENAME", "FILTER", "FILTBAND",
                         "DATE", "DATE-OBS", "DATE-BEG", "DATE-END", "DATE-TRG", "TIMESYS",
                         "OBJECT", "PROGRAM", "REASON", "RADESYS", "TRACKSYS", "ROTCOORD",
                         "IMAGETAG", "DAQPART", "DAQFOLD", "OBSANNOT", "DAQANNOT", "PLATFORM",
                         "DAQVERS", "FIRMWARE", "CONTNUM", "GRATING", "VIGNETTE", "VIGN_MIN",
                         "HDRSRC", "ARCHVER")},
    **{k: int for k in ("SEQNUM", "CURINDEX", "MAXINDEX")},
    **{k: float for k in ("EXPTIME", "DARKTIME", "SHUTTIME", "MJD", "MJD-OBS", "MJD-BEG", "MJD-END",
                           "MJD-TRG", "RA", "DEC", "RASTART", "DECSTART", "RAEND", "DECEND", "ROTPA",
                           "AZSTART", "ELSTART", "AZEND", "ELEND", "AMSTART", "AMEND", "HASTART",
                           "HAEND", "FOCUSZ", "AIRTEMP", "PRESSURE", "HUMIDITY", "WINDSPD",
                           "WINDDIR", "SEEING", "XPOSURE", "TELAPSE", "OBS-LONG", "OBS-LAT",
                           "OBS-ELEV", "OBSGEO-X", "OBSGEO-Y", "OBSGEO-Z")},
}  # fmt: skip
"""Types of well-known primary keywords; values are converted to these."""


def is_structural_keyword(keyword: str) -> bool:
    """Return True for keywords describing file structure (writer-owned)."""
    return keyword in STRUCTURAL_KEYWORDS or _STRUCTURAL_PATTERNS.match(keyword) is not None


@dataclass(frozen=True)
class HeaderChange:
    """One change sanitation made to a card.

    Parameters
    ----------
    keyword : `str`
        The keyword as received (before any renaming).
    action : `str`
        ``"dropped"``, ``"converted"``, ``"truncated"``, ``"renamed"`` or
        ``"comment"``.
    reason : `str`
        Why, in words.
    original : `str`
        ``repr`` of the value (or keyword/comment) received.
    result : `str`
        ``repr`` of what was written, empty when dropped.
    """

    keyword: str
    action: str
    reason: str
    original: str
    result: str = ""

    def __str__(self) -> str:
        tail = f" -> {self.result}" if self.action != "dropped" else ""
        return f"{self.keyword}: {self.action} ({self.reason}): {self.original}{tail}"


@dataclass(frozen=True)
class SanitizedCards:
    """Result of `sanitize_cards`.

    Parameters
    ----------
    cards : `tuple` [`Card`, ...]
        Cards safe to render, in input order (duplicates resolved).
    changes : `tuple` [`HeaderChange`, ...]
        What was changed, in input order.
    """

    cards: tuple[Card, ...]
    changes: tuple[HeaderChange, ...]


class _Drop(Exception):
    """Internal: the value cannot be kept."""


def _ascii(text: str) -> str:
    """Transliterate to printable ASCII (é -> e, control characters removed)."""
    normalized = unicodedata.normalize("NFKD", text)
    ascii_text = normalized.encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in ascii_text if ch.isprintable())


def _clean_string(text: str, changes: list[str]) -> str:
    if not (text.isascii() and text.isprintable()):
        text = _ascii(text)
        changes.append("non-ASCII or control characters replaced")
    doubled = text.count("'")
    if len(text) + doubled > _MAX_STRING:
        cut = text[:_MAX_STRING]
        while len(cut) + cut.count("'") > _MAX_STRING:
            cut = cut[:-1]
        text = cut
        changes.append(f"longer than the {_MAX_STRING} characters a card holds")
    return text


def _to_expected(value: CardValue, expected: type, notes: list[str]) -> CardValue:
    if expected is float:
        if isinstance(value, bool):
            raise _Drop("a logical where a number is expected")
        if isinstance(value, int):
            return value  # integers are valid real values
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise _Drop("a string that is not a number where a number is expected") from None
            if not math.isfinite(number):
                raise _Drop("not a finite number")
            notes.append("string converted to a number")
            return number
        return value
    if expected is int:
        if isinstance(value, bool):
            raise _Drop("a logical where an integer is expected")
        if isinstance(value, float):
            if value.is_integer():
                notes.append("integral float converted to an integer")
                return int(value)
            raise _Drop("a fractional number where an integer is expected")
        if isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                raise _Drop("a string that is not an integer where an integer is expected") from None
            notes.append("string converted to an integer")
            return number
        return value
    if expected is str and not isinstance(value, str):
        if isinstance(value, bool):
            raise _Drop("a logical where a string is expected")
        notes.append("number converted to a string")
        return str(value)
    return value


def sanitize_value(keyword: str, value: Any) -> tuple[CardValue, list[str]]:
    """Make a value renderable, returning it and notes on what changed.

    Parameters
    ----------
    keyword : `str`
        The (already sanitized) keyword; selects the expected type.
    value : `object`
        The received value.

    Returns
    -------
    value : `bool`, `int`, `float` or `str`
        The value to write.
    notes : `list` [`str`]
        One note per change; empty when the value was fine.

    Raises
    ------
    ValueError
        If the value cannot be kept; the message says why.
    """
    notes: list[str] = []
    try:
        if isinstance(value, np.generic):
            value = value.item()
        if value is None:
            raise _Drop("undefined value")
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
            notes.append("bytes decoded")
        if isinstance(value, datetime.datetime | datetime.date):
            value = value.isoformat()
            notes.append("date converted to an ISO string")
        if isinstance(value, float) and not math.isfinite(value):
            raise _Drop("not a finite number")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _INT64_MAX:
            value = float(value)
            notes.append("integer beyond 64 bits converted to a float")
        if not isinstance(value, bool | int | float | str):
            raise _Drop(f"unsupported type {type(value).__name__}")
        expected = EXPECTED_TYPES.get(keyword)
        if expected is not None:
            value = _to_expected(value, expected, notes)
        if isinstance(value, str):
            value = _clean_string(value, notes)
    except _Drop as e:
        raise ValueError(str(e)) from None
    return value, notes


def _sanitize_keyword(raw: Any) -> tuple[str, str | None]:
    """Return (keyword, note) or raise _Drop."""
    if not isinstance(raw, str):
        raise _Drop(f"keyword of type {type(raw).__name__}")
    keyword = raw.strip()
    if keyword.upper().startswith("HIERARCH "):
        keyword = keyword[9:].strip()
    keyword = re.sub(r"\s+", " ", keyword)
    note = None
    if keyword != keyword.upper():
        keyword = keyword.upper()
        note = "upper-cased"
    if keyword in COMMENTARY_KEYWORDS and keyword:
        return keyword, note
    if not keyword:
        raise _Drop("empty keyword")
    if not keyword.isascii():
        raise _Drop("non-ASCII keyword")
    if is_standard_keyword(keyword) or _HIERARCH.match(keyword):
        return keyword, note
    raise _Drop("keyword with characters other than A-Z, 0-9, '_', '-' and single spaces")


def sanitize_cards(
    cards: Iterable[Card | tuple[Any, Any, Any] | tuple[Any, Any]],
    *,
    drop_structural: bool = True,
    drop: frozenset[str] = frozenset(),
) -> SanitizedCards:
    """Sanitize header cards received from outside.

    Parameters
    ----------
    cards : iterable of `Card` or ``(keyword, value[, comment])``
        Cards in order.
    drop_structural : `bool`, optional
        Drop structural keywords (see `is_structural_keyword`).
    drop : `frozenset` [`str`], optional
        Further keywords to drop silently (e.g. those the caller sets).

    Returns
    -------
    result : `SanitizedCards`
        Renderable cards and the record of changes.
    """
    kept: dict[str, Card] = {}
    commentary: list[tuple[int, Card]] = []
    order: dict[str, int] = {}
    changes: list[HeaderChange] = []
    for index, item in enumerate(cards):
        raw_keyword = item[0]
        raw_value = item[1]
        raw_comment = item[2] if len(item) > 2 else ""
        label = str(raw_keyword)[:72]
        try:
            keyword, note = _sanitize_keyword(raw_keyword)
        except _Drop as e:
            changes.append(HeaderChange(label, "dropped", str(e), repr(raw_keyword)))
            continue
        if note:
            changes.append(HeaderChange(label, "renamed", note, repr(raw_keyword), repr(keyword)))
        if drop_structural and is_structural_keyword(keyword):
            changes.append(
                HeaderChange(label, "dropped", "structural keyword set by the writer", repr(raw_value))
            )
            continue
        if keyword in drop:
            continue
        comment = "" if raw_comment is None else str(raw_comment)
        if not (comment.isascii() and comment.isprintable()):
            clean = _ascii(comment)
            changes.append(HeaderChange(keyword, "comment", "non-ASCII comment transliterated", repr(comment),
                                        repr(clean)))  # fmt: skip
            comment = clean
        if keyword in COMMENTARY_KEYWORDS:
            text = _ascii("" if raw_value is None else str(raw_value))
            commentary.append((index, Card(keyword, text[:72], "")))
            continue
        try:
            value, notes = sanitize_value(keyword, raw_value)
        except ValueError as e:
            changes.append(HeaderChange(keyword, "dropped", str(e), repr(raw_value)))
            continue
        for text in notes:
            action = "truncated" if "longer" in text else "converted"
            changes.append(HeaderChange(keyword, action, text, repr(raw_value), repr(value)))
        card = Card(keyword, value, comment)
        try:
            format_card(card)
        except ValueError as e:
            changes.append(HeaderChange(keyword, "dropped", str(e), repr(raw_value)))
            continue
        if keyword in kept:
            changes.append(HeaderChange(keyword, "converted", "duplicate keyword; the last value wins",
                                        repr(kept[keyword].value), repr(value)))  # fmt: skip
        kept[keyword] = card
        order.setdefault(keyword, index)
    ordered = sorted([(order[k], c) for k, c in kept.items()] + commentary, key=lambda pair: pair[0])
    return SanitizedCards(tuple(card for _, card in ordered), tuple(changes))
