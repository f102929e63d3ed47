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
* known keywords follow their rule (`KEYWORD_RULES`: ``EXPTIME`` a
  non-negative float, ``SEQNUM`` a positive int, ``DATE-BEG`` an ISO date,
  ``RADESYS`` one of ``ICRS``, ``FK5`` ...): convertible values are
  converted, others dropped and marked `HeaderChange.bad_value` (the
  primary header lists them in ``HDRNOTE``);
* comments: non-ASCII transliterated;
* duplicates: the last value wins.
"""

from __future__ import annotations

__all__ = [
    "EXPECTED_TYPES",
    "HeaderChange",
    "STRUCTURAL_KEYWORDS",
    "SanitizedCards",
    "ascii_text",
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
from .keyword_rules import KEYWORD_RULES, BadValueError, rule_for

_MAX_STRING = 68
_NOTE_VALUE_LENGTH = 32  # characters of a bad value quoted in its note
_MAX_RECORDED = 100  # characters of a received value kept in a HeaderChange
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

EXPECTED_TYPES: Mapping[str, type] = {keyword: rule.type for keyword, rule in KEYWORD_RULES.items()}
"""Card types of well-known keywords (from `KEYWORD_RULES`); values are converted to these."""


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
    bad_value : `bool`
        The value was dropped because it is not what its keyword needs
        (wrong type or format, not finite, out of range; see
        `KEYWORD_RULES`), as opposed to an absent value (``None``, an empty
        string) or a card the writer does not take (structural keyword,
        invalid keyword).
    """

    keyword: str
    action: str
    reason: str
    original: str
    result: str = ""
    bad_value: bool = False

    def __str__(self) -> str:
        tail = f" -> {self.result}" if self.action != "dropped" else ""
        return f"{self.keyword}: {self.action} ({self.reason}): {self.original}{tail}"

    @property
    def note(self) -> str:
        """One line for ``HDRNOTE``: ``DATE-BEG dropped: 'yesterday' is not an ISO date``.

        Printable ASCII; a long value is abbreviated.
        """
        return f"{self.keyword} {self.action}: {_quote(self.original)} is {self.reason}"


def _repr(value: Any) -> str:
    """``repr`` of a received value, cut for the record (a 10 MB string stays out of the log)."""
    if isinstance(value, str | bytes) and len(value) > _MAX_RECORDED:
        return f"{value[:_MAX_RECORDED]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= 2 * _MAX_RECORDED else text[: 2 * _MAX_RECORDED] + "..."


def _quote(original: str) -> str:
    """A received value's ``repr`` made short printable ASCII for a note."""
    text = original.encode("ascii", "backslashreplace").decode("ascii")
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    if len(text) > _NOTE_VALUE_LENGTH:
        text = text[: _NOTE_VALUE_LENGTH - 3] + "..."
    return text


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
    """Internal: the value cannot be kept (``bad``: a bad value, not an absent one)."""

    def __init__(self, reason: str, *, bad: bool = False) -> None:
        super().__init__(reason)
        self.bad = bad


def ascii_text(text: str) -> str:
    """Transliterate to printable ASCII (é -> e, control characters removed)."""
    normalized = unicodedata.normalize("NFKD", text)
    plain = normalized.encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in plain if ch.isprintable())


def _clean_string(text: str, changes: list[str]) -> str:
    if not (text.isascii() and text.isprintable()):
        text = ascii_text(text)
        changes.append("non-ASCII or control characters replaced")
    doubled = text.count("'")
    if len(text) + doubled > _MAX_STRING:
        cut = text[:_MAX_STRING]
        while len(cut) + cut.count("'") > _MAX_STRING:
            cut = cut[:-1]
        text = cut
        changes.append(f"longer than the {_MAX_STRING} characters a card holds")
    return text


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
    BadValueError
        If the value is not what the keyword needs (`KEYWORD_RULES`), not
        finite or of an unsupported type; the message says why.
    ValueError
        If there is no value (``None``, or an empty string where a
        formatted value is expected).
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
            raise _Drop("not a finite number", bad=True)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _INT64_MAX:
            value = float(value)
            notes.append("integer beyond 64 bits converted to a float")
        if not isinstance(value, bool | int | float | str):
            raise _Drop(f"a value of unsupported type {type(value).__name__}", bad=True)
        rule = rule_for(keyword)
        if rule is not None:
            value, rule_notes = rule.check(value)
            notes += rule_notes
        if isinstance(value, str):
            value = _clean_string(value, notes)
    except _Drop as e:
        if e.bad:
            raise BadValueError(str(e)) from None
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
                HeaderChange(label, "dropped", "structural keyword set by the writer", _repr(raw_value))
            )
            continue
        if keyword in drop:
            continue
        comment = "" if raw_comment is None else str(raw_comment)
        if not (comment.isascii() and comment.isprintable()):
            clean = ascii_text(comment)
            changes.append(HeaderChange(keyword, "comment", "non-ASCII comment transliterated", repr(comment),
                                        repr(clean)))  # fmt: skip
            comment = clean
        if keyword in COMMENTARY_KEYWORDS:
            text = ascii_text("" if raw_value is None else str(raw_value))
            commentary.append((index, Card(keyword, text[:72], "")))
            continue
        try:
            value, notes = sanitize_value(keyword, raw_value)
        except BadValueError as e:
            changes.append(HeaderChange(keyword, "dropped", e.reason, _repr(raw_value), bad_value=True))
            continue
        except ValueError as e:
            changes.append(HeaderChange(keyword, "dropped", str(e), _repr(raw_value)))
            continue
        for text in notes:
            action = "truncated" if "longer" in text else "converted"
            changes.append(HeaderChange(keyword, action, text, _repr(raw_value), _repr(value)))
        card = Card(keyword, value, comment)
        try:
            format_card(card)
        except ValueError as e:
            changes.append(HeaderChange(keyword, "dropped", str(e), _repr(raw_value)))
            continue
        if keyword in kept:
            changes.append(HeaderChange(keyword, "converted", "duplicate keyword; the last value wins",
                                        _repr(kept[keyword].value), _repr(value)))  # fmt: skip
        kept[keyword] = card
        order.setdefault(keyword, index)
    ordered = sorted([(order[k], c) for k, c in kept.items()] + commentary, key=lambda pair: pair[0])
    return SanitizedCards(tuple(card for _, card in ordered), tuple(changes))
