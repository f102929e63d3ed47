"""Which DAQ images a catch-up run takes: a day_obs range (pure functions)."""

from __future__ import annotations

__all__ = ["DayObsRange", "DayObsRangeError"]

from dataclasses import dataclass

from ..camera import ImageName, InvalidImageNameError, day_obs_bounds


class DayObsRangeError(ValueError):
    """A catch-up date is not YYYYMMDD, or the range is empty."""


@dataclass(frozen=True)
class DayObsRange:
    """An inclusive range of observing days; None is an open end.

    Images are selected by the day_obs of their name (``SS_C_YYYYMMDD_NNNNNN``),
    never by the clock time the DAQ recorded.
    """

    first: int | None = None
    last: int | None = None

    @classmethod
    def parse(cls, start: str, end: str) -> DayObsRange:
        """Build from ``catchUp``'s ``startDate`` and ``endDate`` (YYYYMMDD or blank).

        Raises
        ------
        DayObsRangeError
            If a date is not an 8-digit ASCII YYYYMMDD date, or start is after end.
        """
        first, last = (_parse_day_obs(value.strip()) for value in (start, end))
        if first is not None and last is not None and first > last:
            raise DayObsRangeError(f"catchUp startDate {first} is after endDate {last}")
        return cls(first, last)

    def __contains__(self, obsid: object) -> bool:
        """Is ``obsid`` a valid image name whose day_obs is in the range?"""
        if not isinstance(obsid, str):
            return False
        try:
            day_obs = ImageName.parse(obsid).day_obs
        except InvalidImageNameError:
            return False
        return (self.first is None or day_obs >= self.first) and (self.last is None or day_obs <= self.last)

    def __str__(self) -> str:
        if self.first is None and self.last is None:
            return "every day_obs"
        return f"day_obs {self.first or '…'}–{self.last or '…'}"


def _parse_day_obs(value: str) -> int | None:
    if not value:
        return None
    if not (len(value) == 8 and value.isascii() and value.isdigit()):
        raise DayObsRangeError(f"catchUp dates must be YYYYMMDD (or blank), got {value!r}")
    day_obs = int(value)
    try:
        day_obs_bounds(day_obs)
    except InvalidImageNameError as e:
        raise DayObsRangeError(f"catchUp dates must be YYYYMMDD (or blank): {e}") from e
    return day_obs
