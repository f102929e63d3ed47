"""Exposure records built from translated metadata."""

from __future__ import annotations

from astro_metadata_translator import ObservationInfo

from lsst.ts.archiver.butler import exposure_records
from lsst.ts.archiver.testing import make_primary_header

PLAIN = (int, float, str, bool, type(None))


def info_for(**changes: object) -> ObservationInfo:
    header = make_primary_header("LSSTCam", day_obs=20261123, seq_num=4, detector="R22_S11")
    header.update(changes)
    return ObservationInfo(header, quiet=True)


def test_record_values_are_plain_python_types() -> None:
    records = exposure_records(info_for())
    for record in (records.exposure, records.group):
        for key, value in record.items():
            if key != "timespan":
                assert type(value) in PLAIN, (key, type(value))
    assert records.exposure["id"] == 2026112300004 and records.exposure["seq_num"] == 4
    assert records.exposure["sky_angle"] == 12.5 and records.exposure["azimuth"] == 120.0


def test_day_obs_timespan_starts_at_noon_tai() -> None:
    records = exposure_records(info_for())
    assert records.day_obs["timespan"].begin.tai.isot == "2026-11-23T12:00:00.000000"


def test_end_before_begin_is_set_to_begin() -> None:
    info = info_for(**{"DATE-END": "2026-11-23T00:00:00.000"})
    timespan = exposure_records(info).exposure["timespan"]
    begin_ns, end_ns = timespan.nsec
    assert end_ns - begin_ns <= 1  # Timespan keeps [t, t] non-empty by one nanosecond


def test_over_long_strings_are_cut_to_registry_limits() -> None:
    records = exposure_records(info_for(REASON="r" * 100, OBJECT="o" * 100, GROUPID="g" * 90))
    assert len(records.exposure["observation_reason"]) == 68
    assert len(records.exposure["target_name"]) == 64
    assert len(records.group["name"]) == 64 and records.exposure["group"] == records.group["name"]
