"""The rules the value of each well-known header keyword must follow.

One table, `KEYWORD_RULES`, says for every keyword the Archiver, the
translators or Butler ingest care about what its value must be: its card
type (``float``, ``int``, ``str``, ``bool``) and, where the project knows
it, its format (an ISO date the translators can parse, an image name, a
filter name the Butler registry can hold ...), its range (an exposure time
is not negative, a declination is within ±90°) or its choices (``RADESYS``).
`check_value` applies the rule of a keyword to one value: a value that can
be converted without guessing is converted (``"15.5"`` for ``EXPTIME``),
anything else raises `BadValueError` saying why, e.g. ``'yesterday' is not
an ISO date``.

`~lsst.ts.archiver.fits.sanitize_cards` calls it for every card from
outside (Header Service file, camera events), before the cards are merged:
a bad value never reaches a file, the Archiver's own value is used instead
(`~lsst.ts.archiver.fits.build_primary_header`), and the drop is recorded
in ``HDRNOTE``.

Keywords without a rule only get the generic sanitation (finite numbers,
printable ASCII, card limits). Everything here is pure: no I/O, no clocks.
"""

from __future__ import annotations

__all__ = [
    "BadValueError",
    "FITS_DATE_PATTERN",
    "KEYWORD_RULES",
    "KeywordRule",
    "check_value",
    "rule_for",
]

import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..metadata import PHYSICAL_FILTER_MAX_LENGTH
from .card import CardValue

FITS_DATE_PATTERN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?)?$", re.ASCII)
"""A FITS date (FITS 4.0 §9.1.1): ``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm:ss[.s...]``,
without a time zone (the time scale is ``TIMESYS``)."""

_FIRST_YEAR = 1970
_LAST_YEAR = 2100
_MJD_MIN = 40587.0  # 1970-01-01
_MJD_MAX = 88069.0  # 2100-01-01
_ONE_DAY = 86400.0
_MAX_CHECKED_LENGTH = 200  # longer values cannot match any format below; not scanned
_INTEGER = re.compile(r"[+-]?[0-9]+")
_TRUE = frozenset({"T", "TRUE", "Y", "YES"})
_FALSE = frozenset({"F", "FALSE", "N", "NO"})


class BadValueError(ValueError):
    """A value does not follow its keyword's rule.

    Parameters
    ----------
    reason : `str`
        Why, as a predicate of the value: ``"not an ISO date"``,
        ``"not a finite number"``, ``"out of range [0, 86400]"``; the
        message reads ``<value> is <reason>``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class KeywordRule:
    """What the value of one keyword must be.

    Parameters
    ----------
    type : `type`
        The card value type: `float` (a real; integers are valid reals),
        `int`, `str` or `bool`.
    what : `str`
        The expected value in words (``"an ISO date"``), for messages.
    minimum, maximum : `float`, optional
        Inclusive bounds of a number.
    pattern : `re.Pattern`, optional
        Format of a string (matched whole).
    choices : `frozenset` [`str`], optional
        The values a string may take (upper case; compared ignoring case
        and written upper case).
    date : `bool`, optional
        The string is a FITS date (`FITS_DATE_PATTERN`) of a real calendar
        day and time between 1970 and 2100.

    Notes
    -----
    A string rule without ``pattern``, ``choices`` or ``date`` is free
    text: any string, made printable ASCII and cut to what a card holds by
    the sanitation that follows.
    """

    type: type
    what: str
    minimum: float | None = None
    maximum: float | None = None
    pattern: re.Pattern[str] | None = None
    choices: frozenset[str] | None = None
    date: bool = False

    @property
    def free_text(self) -> bool:
        """True for a string rule that accepts any text."""
        return self.type is str and self.pattern is None and self.choices is None and not self.date

    def check(self, value: CardValue) -> tuple[CardValue, list[str]]:
        """Check (and convert) one value.

        Parameters
        ----------
        value : `bool`, `int`, `float` or `str`
            The value, already unwrapped by the sanitation (no `None`, NaN
            or numpy scalar).

        Returns
        -------
        value : `bool`, `int`, `float` or `str`
            The value to write.
        notes : `list` [`str`]
            One note per conversion; empty when the value was written as
            received.

        Raises
        ------
        BadValueError
            If the value does not follow the rule.
        ValueError
            If the value is an empty string where a value with a format is
            expected: no value, rather than a bad one.
        """
        notes: list[str] = []
        if self.type is float:
            value = self._real(value, notes)
        elif self.type is int:
            value = self._integer(value, notes)
        elif self.type is bool:
            value = self._logical(value, notes)
        else:
            value = self._string(value, notes)
        return value, notes

    def _range(self, number: float) -> None:
        low = -math.inf if self.minimum is None else self.minimum
        high = math.inf if self.maximum is None else self.maximum
        if not low <= number <= high:
            if self.maximum is None:
                raise BadValueError(f"less than {self.minimum:g}")
            if self.minimum is None:
                raise BadValueError(f"more than {self.maximum:g}")
            raise BadValueError(f"out of range [{self.minimum:g}, {self.maximum:g}]")

    def _real(self, value: CardValue, notes: list[str]) -> CardValue:
        if isinstance(value, bool):
            raise BadValueError("a logical where a number is expected")
        if isinstance(value, str):
            text = value.strip()
            if not text:
                raise ValueError("empty value")
            # float() also reads non-ASCII digits ("٥١"); a card value is ASCII.
            if len(text) > _MAX_CHECKED_LENGTH or not text.isascii():
                raise BadValueError("not a number")
            try:
                number = float(text)
            except ValueError:
                raise BadValueError("not a number") from None
            if not math.isfinite(number):
                raise BadValueError("not a finite number")
            notes.append("string converted to a number")
            value = number
        assert isinstance(value, int | float)
        self._range(float(value))
        return value

    def _integer(self, value: CardValue, notes: list[str]) -> CardValue:
        if isinstance(value, bool):
            raise BadValueError("a logical where an integer is expected")
        if isinstance(value, float):
            if not value.is_integer():
                raise BadValueError("a fractional number where an integer is expected")
            notes.append("integral float converted to an integer")
            value = int(value)
        elif isinstance(value, str):
            text = value.strip()
            if not text:
                raise ValueError("empty value")
            if len(text) > _MAX_CHECKED_LENGTH or _INTEGER.fullmatch(text) is None:
                raise BadValueError("not an integer")
            notes.append("string converted to an integer")
            value = int(text)
        assert isinstance(value, int)
        self._range(value)
        return value

    def _logical(self, value: CardValue, notes: list[str]) -> CardValue:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            notes.append("0/1 converted to a logical")
            return bool(value)
        if isinstance(value, str):
            text = value.strip().upper()
            if not text:
                raise ValueError("empty value")
            if text in _TRUE or text in _FALSE:
                notes.append("string converted to a logical")
                return text in _TRUE
        raise BadValueError("not a logical (T or F)")

    def _string(self, value: CardValue, notes: list[str]) -> CardValue:
        if isinstance(value, bool):
            raise BadValueError("a logical where a string is expected")
        if not isinstance(value, str):
            notes.append("number converted to a string")
            value = str(value)
        if self.free_text:
            return value
        text = value.strip()
        if not text:
            raise ValueError("empty value")
        if len(text) > _MAX_CHECKED_LENGTH:
            raise BadValueError(f"not {self.what}")
        if self.date:
            _check_date(text)
        elif self.choices is not None:
            if text.upper() not in self.choices:
                raise BadValueError(f"not {self.what}")
            if text != text.upper():
                notes.append("upper-cased")
            text = text.upper()
        elif self.pattern is not None and self.pattern.fullmatch(text) is None:
            raise BadValueError(f"not {self.what}")
        return text


def _check_date(text: str) -> None:
    match = FITS_DATE_PATTERN.fullmatch(text)
    if match is None:
        raise BadValueError("not an ISO date")
    year, month, day, hour, minute, second = (int(g) if g is not None else 0 for g in match.groups())
    try:
        datetime.datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise BadValueError("not an ISO date (no such day or time)") from None
    if not _FIRST_YEAR <= year < _LAST_YEAR:
        raise BadValueError(f"an ISO date outside the years {_FIRST_YEAR} to {_LAST_YEAR - 1}")


# ---------------------------------------------------------------------- rule constructors


def _date() -> KeywordRule:
    return KeywordRule(str, "an ISO date", date=True)


def _mjd() -> KeywordRule:
    return KeywordRule(float, "a Modified Julian Date", minimum=_MJD_MIN, maximum=_MJD_MAX)


def _real(minimum: float | None = None, maximum: float | None = None) -> KeywordRule:
    return KeywordRule(float, "a number", minimum=minimum, maximum=maximum)


def _integer(minimum: int | None = None) -> KeywordRule:
    return KeywordRule(int, "an integer", minimum=minimum)


def _text() -> KeywordRule:
    return KeywordRule(str, "a string")


def _format(what: str, pattern: str) -> KeywordRule:
    return KeywordRule(str, what, pattern=re.compile(pattern, re.ASCII))


def _choice(*values: str) -> KeywordRule:
    return KeywordRule(str, f"one of {', '.join(values)}", choices=frozenset(values))


_DURATION = _real(0.0, _ONE_DAY)
_FILTER = _format(
    f"a filter name (1-{PHYSICAL_FILTER_MAX_LENGTH} of A-Z, a-z, 0-9 and _.+~-)",
    rf"[A-Za-z0-9_.+~-]{{1,{PHYSICAL_FILTER_MAX_LENGTH}}}",
)

KEYWORD_RULES: Mapping[str, KeywordRule] = {
    # Times: FITS dates (TAI, TIMESYS) and MJDs that the translators can parse.
    **{k: _date() for k in ("DATE", "DATE-OBS", "DATE-BEG", "DATE-END", "DATE-TRG")},
    **{k: _mjd() for k in ("MJD", "MJD-OBS", "MJD-BEG", "MJD-END", "MJD-TRG")},
    "DAYOBS": _format("an observing day YYYYMMDD", r"(19[7-9]\d|20\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"),
    "TIMESYS": _choice("TAI", "UTC", "UT1", "TT", "TDB", "TCG", "TCB", "GPS", "LOCAL"),
    # Durations (s).
    **{k: _DURATION for k in ("EXPTIME", "DARKTIME", "SHUTTIME", "XPOSURE", "TELAPSE")},
    # Identity and sequence.
    "OBSID": _format("an image name", r"[A-Z]{2}_[A-Z]_\d{8}_\d{6}"),
    "SEQNUM": _integer(1),
    "CURINDEX": _integer(1),
    "MAXINDEX": _integer(1),
    "HEADVER": _integer(0),
    "IMGTYPE": _format("an image type (a letter, then up to 15 of A-Z, a-z, 0-9, _)", r"[A-Za-z][A-Za-z0-9_]{0,15}"),
    "FILTER": _FILTER,
    "GRATING": _FILTER,
    "RADESYS": _choice("ICRS", "FK5", "FK4", "FK4-NO-E", "GAPPT"),
    "VIGNETTE": _choice("UNKNOWN", "NO", "PARTIALLY", "FULLY"),
    "VIGN_MIN": _choice("UNKNOWN", "NO", "PARTIALLY", "FULLY"),
    # Pointing and site (degrees, m).
    **{k: _real(0.0, 360.0) for k in ("RA", "RASTART", "RAEND")},
    **{k: _real(-90.0, 90.0) for k in ("DEC", "DECSTART", "DECEND", "ELSTART", "ELEND", "OBS-LAT")},
    **{k: _real(-360.0, 360.0) for k in ("AZSTART", "AZEND", "ROTPA", "OBS-LONG")},
    **{k: _real() for k in ("HASTART", "HAEND", "AMSTART", "AMEND", "FOCUSZ", "OBS-ELEV",
                             "OBSGEO-X", "OBSGEO-Y", "OBSGEO-Z", "AIRTEMP")},
    # Weather.
    **{k: _real(0.0) for k in ("PRESSURE", "WINDSPD", "SEEING")},
    "HUMIDITY": _real(0.0, 100.0),
    "WINDDIR": _real(-360.0, 360.0),
    # Free text (printable ASCII, cut to a card).
    **{k: _text() for k in ("CAMCODE", "TELCODE", "CONTRLLR", "TESTTYPE", "GROUPID", "INSTRUME",
                             "TELESCOP", "RAFTBAY", "CCDSLOT", "LSST_NUM", "CCD_MANU", "CCD_TYPE",
                             "DETSIZE", "FILENAME", "FILTBAND", "OBJECT", "PROGRAM", "REASON",
                             "TRACKSYS", "ROTCOORD", "IMAGETAG", "DAQPART", "DAQFOLD", "OBSANNOT",
                             "DAQANNOT", "PLATFORM", "DAQVERS", "FIRMWARE", "CONTNUM", "HDRSRC",
                             "HDRNOTE", "ARCHVER")},
}  # fmt: skip
"""The rule of every well-known keyword (primary header)."""

_SIMULATE = KeywordRule(bool, "a logical")
"""The rule of every keyword naming a simulated component (``SIMULATE ATMCS``):
the translators mark an image simulated when one of them is ``T``."""


def rule_for(keyword: str) -> KeywordRule | None:
    """The rule of a keyword, or None if it has none.

    Parameters
    ----------
    keyword : `str`
        Upper-case keyword (without ``HIERARCH``).
    """
    rule = KEYWORD_RULES.get(keyword)
    if rule is None and keyword.startswith("SIMULATE"):
        return _SIMULATE
    return rule


def check_value(keyword: str, value: CardValue) -> tuple[CardValue, list[str]]:
    """Check one value against its keyword's rule (`KeywordRule.check`).

    Parameters
    ----------
    keyword : `str`
        Upper-case keyword.
    value : `bool`, `int`, `float` or `str`
        The value.

    Returns
    -------
    value : `bool`, `int`, `float` or `str`
        The value to write (converted if needed); unchanged for a keyword
        without a rule.
    notes : `list` [`str`]
        One note per conversion.

    Raises
    ------
    BadValueError
        If the value does not follow the rule; the message says why.
    ValueError
        If the value is empty where a formatted value is expected.
    """
    rule = rule_for(keyword)
    if rule is None:
        return value, []
    return rule.check(value)
