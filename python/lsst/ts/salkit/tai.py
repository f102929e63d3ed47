"""TAI time: `current_tai` and conversions between TAI and UTC unix seconds."""

from __future__ import annotations

__all__ = ["current_tai", "tai_from_utc_unix", "tai_minus_utc", "utc_from_tai_unix"]

import functools
import time
import warnings

#: Linux clock ID of CLOCK_TAI (time.CLOCK_TAI is not always defined).
CLOCK_TAI = getattr(time, "CLOCK_TAI", 11)

#: CLOCK_TAI is trusted only if it is this close to UTC + leap seconds (s).
CLOCK_TAI_TOLERANCE = 1.1

_SECONDS_PER_DAY = 86400


@functools.lru_cache(maxsize=64)
def _tai_minus_utc_for_day(day: int) -> float:
    import erfa

    tm = time.gmtime(day * _SECONDS_PER_DAY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # erfa warns about "dubious year" near the table's end
        return float(erfa.dat(tm.tm_year, tm.tm_mon, tm.tm_mday, 0.0))


def tai_minus_utc(utc: float) -> float:
    """Return TAI - UTC (leap seconds, e.g. 37.0) at a UTC unix time."""
    return _tai_minus_utc_for_day(int(utc // _SECONDS_PER_DAY))


def tai_from_utc_unix(utc: float) -> float:
    """Convert UTC unix seconds to TAI unix seconds."""
    return utc + tai_minus_utc(utc)


def utc_from_tai_unix(tai: float) -> float:
    """Convert TAI unix seconds to UTC unix seconds."""
    approx_utc = tai - tai_minus_utc(tai)
    return tai - tai_minus_utc(approx_utc)


def _clock_tai_is_usable() -> bool:
    try:
        clock_tai = time.clock_gettime(CLOCK_TAI)
    except OSError:
        return False
    return abs(clock_tai - tai_from_utc_unix(time.time())) < CLOCK_TAI_TOLERANCE


_USE_CLOCK_TAI = _clock_tai_is_usable()


def current_tai() -> float:
    """Return the current TAI time as unix seconds.

    Uses the system's CLOCK_TAI if, at import, it agreed with UTC plus the
    leap-second table to within `CLOCK_TAI_TOLERANCE`; otherwise UTC plus
    the leap-second table (erfa's, as used by astropy).
    """
    if _USE_CLOCK_TAI:
        return time.clock_gettime(CLOCK_TAI)
    return tai_from_utc_unix(time.time())
