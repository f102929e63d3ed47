"""A plausible simulated observatory: pointing, filter and weather over time.

Pure functions and small immutable classes, no I/O. Each group of images
(``groupId``) gets one field: a random declination and hour angle within
reach of the site, tracked sidereally, a rotator angle, a filter from the
camera's filter set and slowly varying weather. Everything is seeded, so a
seed and a list of groups always give the same values.
"""

from __future__ import annotations

__all__ = [
    "RUBIN_SITE",
    "ObservatoryState",
    "SimulatedObservatory",
    "Site",
    "filters_for",
    "gratings_for",
    "local_sidereal_time_deg",
]

import hashlib
import math
import random
from dataclasses import dataclass

from ..camera import COMCAM_FILTER_BANDS, COMCAM_ON_SKY_FILTERS, LSSTCAM_FILTER_BANDS

_J2000_UNIX_UTC = 946728000.0  # 2000-01-01T12:00:00 UTC as unix seconds
_TAI_MINUS_UTC = 37.0


@dataclass(frozen=True)
class Site:
    """An observatory site (WGS84)."""

    longitude: float
    latitude: float
    elevation: float


RUBIN_SITE = Site(longitude=-70.749417, latitude=-30.244639, elevation=2663.0)
"""Cerro Pachón, as in the raw headers (``OBS-LONG``, ``OBS-LAT``, ``OBS-ELEV``)."""

# The filters in the beam, by obs_lsst's names (`lsst.ts.archiver.camera.filters`).
_FILTERS: dict[str, tuple[tuple[str, str], ...]] = {
    "LATISS": (("SDSSr_65mm", "r"), ("SDSSg_65mm", "g"), ("SDSSi_65mm", "i"), ("empty", "white")),
    "LSSTComCam": tuple((name, COMCAM_FILTER_BANDS[name]) for name in COMCAM_ON_SKY_FILTERS),
    "default": tuple(
        (name, LSSTCAM_FILTER_BANDS[name]) for name in ("u_24", "g_6", "r_57", "i_39", "z_20", "y_10")
    ),
}

# LATISS's dispersers in the simulated grating wheel (a subset of
# `lsst.ts.archiver.camera.LATISS_GRATINGS`); the other cameras have none.
_GRATINGS: dict[str, tuple[str, ...]] = {
    "LATISS": ("empty", "holo4_003", "blue300lpmm_qn1", "ronchi170lpmm"),
}


def filters_for(camera_name: str) -> tuple[tuple[str, str], ...]:
    """(physical filter, band) pairs a camera can have in the beam."""
    return _FILTERS.get(camera_name, _FILTERS["default"])


def gratings_for(camera_name: str) -> tuple[str, ...]:
    """Gratings (``GRATING``) a camera can have in the beam; empty if it has no grating wheel."""
    return _GRATINGS.get(camera_name, ())


def local_sidereal_time_deg(tai_unix: float, longitude: float) -> float:
    """Local mean sidereal time in degrees (GMST formula, good to ~1 s)."""
    days = (tai_unix - _TAI_MINUS_UTC - _J2000_UNIX_UTC) / 86400.0
    gmst = 280.46061837 + 360.98564736629 * days
    return (gmst + longitude) % 360.0


@dataclass(frozen=True)
class ObservatoryState:
    """What the Header Service reads from the rest of the observatory at one time.

    Angles in degrees, temperatures in °C, pressure in hPa, wind in m/s.
    """

    ra: float
    dec: float
    hour_angle: float
    azimuth: float
    elevation: float
    airmass: float
    rotator_angle: float
    target: str
    physical_filter: str
    band: str
    filter_slot: int
    grating: str | None
    grating_slot: int | None
    focus_z: float
    dome_azimuth: float
    vignetted: str
    air_temperature: float
    pressure: float
    humidity: float
    wind_speed: float
    wind_direction: float
    seeing: float


def _alt_az(hour_angle_deg: float, dec_deg: float, latitude_deg: float) -> tuple[float, float]:
    ha, dec, lat = (math.radians(v) for v in (hour_angle_deg, dec_deg, latitude_deg))
    sin_alt = math.sin(dec) * math.sin(lat) + math.cos(dec) * math.cos(lat) * math.cos(ha)
    alt = math.asin(max(-1.0, min(1.0, sin_alt)))
    az = math.atan2(
        -math.cos(dec) * math.sin(ha),
        math.sin(dec) * math.cos(lat) - math.cos(dec) * math.cos(ha) * math.sin(lat),
    )
    return math.degrees(az) % 360.0, math.degrees(alt)


class SimulatedObservatory:
    """Observatory state per image group, deterministic for a seed.

    Parameters
    ----------
    camera_name : `str`
        Butler instrument name (``LATISS``, ``LSSTComCam``, ``LSSTCam``);
        chooses the filter set (and LATISS's gratings).
    seed : `int`
        Random seed.
    site : `Site`
        Where the telescope is.
    """

    def __init__(self, camera_name: str, seed: int = 0, site: Site = RUBIN_SITE) -> None:
        self.camera_name = camera_name
        self.seed = seed
        self.site = site
        self._filters = filters_for(camera_name)
        self._gratings = gratings_for(camera_name)

    def _rng(self, group_id: str) -> random.Random:
        digest = hashlib.blake2b(f"{self.seed}/{group_id}".encode(), digest_size=8).digest()
        return random.Random(int.from_bytes(digest, "little"))

    def state(self, group_id: str, group_start: float, tai_unix: float) -> ObservatoryState:
        """The state at ``tai_unix`` while observing the field of ``group_id``.

        Parameters
        ----------
        group_id : `str`
            The image group; all images of a group share the field.
        group_start : `float`
            TAI unix seconds when the group started (the field is chosen
            for that time and then tracked).
        tai_unix : `float`
            The time of interest.
        """
        rng = self._rng(group_id)
        start_ha = rng.uniform(-30.0, 30.0)
        dec = rng.uniform(-75.0, 5.0)
        ra = (local_sidereal_time_deg(group_start, self.site.longitude) - start_ha) % 360.0
        hour_angle = (local_sidereal_time_deg(tai_unix, self.site.longitude) - ra + 180.0) % 360.0 - 180.0
        azimuth, elevation = _alt_az(hour_angle, dec, self.site.latitude)
        airmass = 1.0 / math.sin(math.radians(max(elevation, 5.0)))
        slot = rng.randrange(len(self._filters))
        physical_filter, band = self._filters[slot]
        grating_slot = rng.randrange(len(self._gratings)) if self._gratings else None
        grating = self._gratings[grating_slot] if grating_slot is not None else None
        hours = (tai_unix - group_start) / 3600.0
        return ObservatoryState(
            ra=ra,
            dec=dec,
            hour_angle=hour_angle,
            azimuth=azimuth,
            elevation=elevation,
            airmass=airmass,
            rotator_angle=rng.uniform(-90.0, 90.0),
            target=f"field_{rng.randrange(10000):04d}",
            physical_filter=physical_filter,
            band=band,
            filter_slot=slot,
            grating=grating,
            grating_slot=grating_slot,
            focus_z=round(rng.uniform(-0.05, 0.05), 4),
            dome_azimuth=azimuth,
            vignetted="NO",
            air_temperature=round(11.0 - 0.5 * hours + rng.uniform(-0.2, 0.2), 2),
            pressure=round(743.0 + rng.uniform(-1.0, 1.0), 1),
            humidity=round(rng.uniform(10.0, 40.0), 1),
            wind_speed=round(rng.uniform(0.0, 12.0), 1),
            wind_direction=round(rng.uniform(0.0, 360.0), 1),
            seeing=round(rng.uniform(0.5, 1.4), 2),
        )
