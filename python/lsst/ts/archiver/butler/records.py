"""Exposure, day_obs and group records from an ObservationInfo.

All values are plain Python types (``int``, ``float``, ``str``, ``bool``):
numpy scalars pass on SQLite but break psycopg on PostgreSQL. Strings are cut
to the registry's column lengths so an over-long header value never fails an
ingest. The mapping follows obs_base (``exposure_time`` is the requested
time; an end before the begin is set to the begin).
"""

from __future__ import annotations

__all__ = ["ExposureRecords", "exposure_records"]

from dataclasses import dataclass
from typing import Any

import astropy.units as u
from astro_metadata_translator import ObservationInfo
from lsst.daf.butler import Timespan

_LIMITS = {
    "observation_type": 16,
    "observation_reason": 68,
    "target_name": 64,
    "science_program": 64,
    "group": 64,
}


@dataclass(frozen=True)
class ExposureRecords:
    """The dimension records one exposure needs, as plain values.

    Attributes
    ----------
    day_obs : `dict`
        ``day_obs`` record.
    group : `dict`
        ``group`` record.
    exposure : `dict`
        ``exposure`` record.
    """

    day_obs: dict[str, Any]
    group: dict[str, Any]
    exposure: dict[str, Any]


def _cut(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    return str(value)[: _LIMITS[field]]


def _seconds(value: u.Quantity | None) -> float | None:
    return None if value is None else float(value.to_value(u.s))


def exposure_records(info: ObservationInfo) -> ExposureRecords:
    """Build the day_obs, group and exposure records of an observation.

    Parameters
    ----------
    info : `astro_metadata_translator.ObservationInfo`
        Translated metadata of any file of the exposure.

    Returns
    -------
    records : `ExposureRecords`
        Plain-typed record values.

    Raises
    ------
    ValueError
        Raised if a property the records need is missing; the message names
        it and the observation.
    """
    missing = [
        name
        for name in ("instrument", "exposure_id", "observation_id", "physical_filter", "observing_day")
        if getattr(info, name) is None
    ]
    if missing:
        raise ValueError(
            f"Observation {info.observation_id!r} lacks {missing}: cannot build its exposure record"
        )
    assert info.observing_day is not None and info.exposure_id is not None  # checked above
    instrument = str(info.instrument)
    day_obs = int(info.observing_day)
    offset = info.observing_day_offset
    offset_seconds = int(round(offset.to_value(u.s))) if offset is not None else 0
    group_name = _cut("group", info.exposure_group or str(info.exposure_id))

    timespan = None
    if info.datetime_begin is not None:
        begin = info.datetime_begin
        end = info.datetime_end if info.datetime_end is not None else begin
        if end < begin:
            end = begin
        timespan = Timespan(begin, end)

    exposure: dict[str, Any] = {
        "instrument": instrument,
        "id": int(info.exposure_id),
        "obs_id": str(info.observation_id),
        "physical_filter": str(info.physical_filter),
        "day_obs": day_obs,
        "group": group_name,
        "timespan": timespan,
        "exposure_time": _seconds(
            info.exposure_time_requested if info.exposure_time_requested is not None else info.exposure_time
        ),
        "dark_time": _seconds(info.dark_time),
        "observation_type": _cut("observation_type", info.observation_type),
        "observation_reason": _cut("observation_reason", info.observation_reason),
        "seq_num": None if info.observation_counter is None else int(info.observation_counter),
        "seq_start": None if info.group_counter_start is None else int(info.group_counter_start),
        "seq_end": None if info.group_counter_end is None else int(info.group_counter_end),
        "target_name": _cut("target_name", info.object),
        "science_program": _cut("science_program", info.science_program),
        "tracking_ra": None,
        "tracking_dec": None,
        "sky_angle": None,
        "azimuth": None,
        "zenith_angle": None,
        "has_simulated": None if info.has_simulated_content is None else bool(info.has_simulated_content),
        "can_see_sky": None if info.can_see_sky is None else bool(info.can_see_sky),
    }
    if info.tracking_radec is not None:
        icrs = info.tracking_radec.icrs
        exposure["tracking_ra"] = float(icrs.ra.degree)
        exposure["tracking_dec"] = float(icrs.dec.degree)
    if info.boresight_rotation_angle is not None and info.boresight_rotation_coord == "sky":
        exposure["sky_angle"] = float(info.boresight_rotation_angle.to_value(u.deg))
    if info.altaz_begin is not None:
        exposure["azimuth"] = float(info.altaz_begin.az.degree)
        exposure["zenith_angle"] = float(90.0 - info.altaz_begin.alt.degree)

    return ExposureRecords(
        day_obs={
            "instrument": instrument,
            "id": day_obs,
            "timespan": Timespan.from_day_obs(day_obs, offset_seconds),
        },
        group={"instrument": instrument, "name": group_name},
        exposure=exposure,
    )
