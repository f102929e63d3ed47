"""TAI time helpers."""

from __future__ import annotations

import time

from lsst.ts import salkit


def test_current_tai_is_utc_plus_leap_seconds() -> None:
    tai = salkit.current_tai()
    utc = time.time()
    assert abs(tai - utc - 37.0) < 0.5


def test_tai_utc_round_trip_and_historic_offset() -> None:
    utc = 1_700_000_000.25
    tai = salkit.tai_from_utc_unix(utc)
    assert tai - utc == 37.0
    assert salkit.utc_from_tai_unix(tai) == utc
    # 2010-01-01: TAI-UTC was 34 s
    assert salkit.tai_minus_utc(1_262_304_000.0) == 34.0
