"""A catch-up run selects images by the day_obs of their name."""

from __future__ import annotations

import pytest

from lsst.ts.archiver.catch_up import DayObsRange, DayObsRangeError


def test_range_selects_by_the_day_obs_in_the_image_name() -> None:
    days = DayObsRange.parse("20261123", "20261124")
    assert "AT_O_20261123_000001" in days
    assert "MC_O_20261124_000123" in days
    assert "AT_O_20261122_000001" not in days
    assert "AT_O_20261125_000001" not in days


def test_blank_dates_leave_the_range_open() -> None:
    assert "AT_O_19991231_000001" in DayObsRange.parse("", "")
    assert "AT_O_20261122_000001" not in DayObsRange.parse("20261123", "")
    assert "AT_O_20261124_000001" not in DayObsRange.parse("", "20261123")
    assert str(DayObsRange.parse(" ", "")) == "every day_obs"


def test_names_that_are_not_image_names_are_never_selected() -> None:
    days = DayObsRange()
    assert "not-an-image" not in days
    assert "AT_O_2026112_000001" not in days
    assert 20261123 not in days


@pytest.mark.parametrize(
    ("start", "end", "match"),
    [
        ("2026-11-23", "", "YYYYMMDD"),
        ("20261323", "", "not a valid"),
        ("２０２６１１２３", "", "YYYYMMDD"),
        ("20261124", "20261123", "after endDate"),
    ],
)
def test_bad_dates_are_refused_with_the_value(start: str, end: str, match: str) -> None:
    with pytest.raises(DayObsRangeError, match=match):
        DayObsRange.parse(start, end)
