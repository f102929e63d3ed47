"""astro_metadata_translator translators for the raw files ts_archiver writes.

Three translators are registered with
`astro_metadata_translator.MetadataTranslator` when this module is imported:

============================  ===============  =====================================
translator name               instrument       ``INSTRUME`` accepted (any case)
============================  ===============  =====================================
``ArchiverLSSTCam``           ``LSSTCam``      ``lsstCam``
``ArchiverLSSTComCam``        ``LSSTComCam``   ``ComCam``, ``LSSTComCam``
``ArchiverLATISS``            ``LATISS``       ``LATISS``
============================  ===============  =====================================

**Marker.** A translator claims a header only when it also carries the
``ARCHVER`` keyword (`~lsst.ts.archiver.metadata.marker.MARKER_KEYWORD`) with
a non-empty string value, the ts_archiver version that wrote the file. The
FITS writer sets it; headers written by the camera itself (CCS) never have it,
so obs_lsst's translators keep theirs when both packages are installed.

The translated values follow obs_lsst's conventions (instrument names,
``exposure_id = DAYOBS * 100000 + SEQNUM``, detector numbers, observing day
rolling over at 12:00 TAI, physical filter names, LATISS ``FILTER~GRATING``)
so the same files get the same data IDs if they are ever re-ingested with
obs_lsst.

**Required keywords** (without them no sidecar can be made): ``ARCHVER``,
``INSTRUME``, ``OBSID``, ``SEQNUM``, ``DAYOBS`` (or a begin time),
``DATE-BEG``/``MJD-BEG`` (or ``DATE-OBS``/``MJD-OBS``), ``EXPTIME`` and, except
on LATISS, ``RAFTBAY`` and ``CCDSLOT``. Everything else has a default
(``FILTER`` → ``unknown``, ``IMGTYPE`` → ``unknown``, ``CONTRLLR`` → ``O``,
``GROUPID`` → the exposure id, end = begin + exposure time...).

Header keywords read (reference camera-daq-fits §3.2): ``INSTRUME``,
``TELESCOP``, ``OBSID``, ``GROUPID``, ``DAYOBS``, ``SEQNUM``, ``CONTRLLR``,
``CURINDEX``, ``MAXINDEX``, ``IMGTYPE``, ``EXPTIME``, ``SHUTTIME``,
``DARKTIME``, ``DATE-BEG``/``MJD-BEG`` (or ``-OBS``), ``DATE-END``/``MJD-END``,
``TIMESYS``, ``FILTER`` (and ``GRATING`` on LATISS), ``RAFTBAY``,
``CCDSLOT``, ``LSST_NUM``, ``OBJECT``, ``PROGRAM``, ``REASON``, ``RASTART``/
``DECSTART`` (or ``RA``/``DEC``), ``RADESYS``, ``ROTPA``, ``ROTCOORD``,
``AZSTART``/``ELSTART``, ``OBS-LONG``/``OBS-LAT``/``OBS-ELEV`` or
``OBSGEO-X/Y/Z``, ``VIGN_MIN``, ``FOCUSZ`` and any ``*SIMULATE*`` key.

A physical filter longer than a Butler registry holds
(`PHYSICAL_FILTER_MAX_LENGTH`, e.g. a LATISS ``FILTER~GRATING`` of more than
32 characters) is refused: ingest could not register it.
"""

from __future__ import annotations

__all__ = [
    "INGEST_OPTIONAL_PROPERTIES",
    "INGEST_REQUIRED_PROPERTIES",
    "PHYSICAL_FILTER_MAX_LENGTH",
    "SIDECAR_PROPERTIES",
    "ArchiverLatissTranslator",
    "ArchiverLsstCamTranslator",
    "ArchiverLsstComCamTranslator",
    "ArchiverTranslator",
]

from collections.abc import Mapping
from typing import Any, ClassVar

import astropy.units as u
from astro_metadata_translator import cache_translation
from astro_metadata_translator.translators.fits import FitsTranslator
from astro_metadata_translator.translators.helpers import (
    altaz_from_degree_headers,
    tracking_from_degree_headers,
)
from astropy.coordinates import AltAz, EarthLocation, SkyCoord
from astropy.time import Time, TimeDelta

from ..camera import DAY_OBS_ROLLOVER_SECONDS, SIMULATED_CONTROLLERS, ImageName, get_camera
from .detectors import detector_number
from .marker import has_marker

INGEST_REQUIRED_PROPERTIES: frozenset[str] = frozenset(
    {
        "datetime_begin",
        "datetime_end",
        "detector_num",
        "exposure_group",
        "exposure_id",
        "exposure_time_requested",
        "group_counter_start",
        "group_counter_end",
        "has_simulated_content",
        "instrument",
        "observation_id",
        "observation_type",
        "observing_day",
        "physical_filter",
    }
)
"""Properties raw ingest cannot do without (the obs_base required set)."""

INGEST_OPTIONAL_PROPERTIES: frozenset[str] = frozenset(
    {
        "altaz_begin",
        "boresight_rotation_coord",
        "boresight_rotation_angle",
        "dark_time",
        "tracking_radec",
        "object",
        "observation_counter",
        "observation_reason",
        "observing_day_offset",
        "science_program",
        "visit_id",
        "can_see_sky",
    }
)
"""Properties raw ingest uses when they are available (obs_base's optional set)."""

SIDECAR_PROPERTIES: frozenset[str] = (
    INGEST_REQUIRED_PROPERTIES
    | INGEST_OPTIONAL_PROPERTIES
    | {
        "telescope",
        "location",
        "exposure_time",
        "detector_name",
        "detector_group",
        "detector_unique_name",
        "detector_serial",
        "detector_exposure_id",
        "focus_z",
    }
)
"""Properties translated into a raw sidecar."""

PHYSICAL_FILTER_MAX_LENGTH = 32
"""Characters a Butler registry holds in a physical filter name (dimension
universe 8): a longer name could be translated but never ingested, so the
translators refuse it."""

_DAY_OBS_OFFSET = TimeDelta(DAY_OBS_ROLLOVER_SECONDS, format="sec", scale="tai")
"""The observing day rolls over at 12:00 TAI (obs_lsst)."""

_RUBIN_SITE = EarthLocation.from_geodetic(lon=-70.749417 * u.deg, lat=-30.244639 * u.deg, height=2663.0 * u.m)
"""Default site when the header has no location keywords."""

_SKY_TYPES = frozenset({"object", "skyexp", "science"})

_DETECTOR_EXPOSURE_MULTIPLIER = 1000
"""``detector_exposure_id = exposure_id * 1000 + detector_num``."""


class ArchiverTranslator(FitsTranslator):
    """Base translator for raw headers written by ts_archiver.

    Not registered itself (``name`` is `None`); one subclass per camera is.
    """

    name: str | None = None
    supported_instrument: str | None = None

    instrume_values: ClassVar[frozenset[str]] = frozenset()
    """Lower-case ``INSTRUME`` values this translator accepts."""

    default_telescope: ClassVar[str] = "Simonyi Survey Telescope"
    """Telescope name used when ``TELESCOP`` is absent."""

    _const_map: dict[str, Any] = {}
    _trivial_map: dict[str, str | list[str] | tuple[Any, ...]] = {
        "observation_id": "OBSID",
        "detector_serial": ("LSST_NUM", {"default": "UNKNOWN"}),
        "science_program": ("PROGRAM", {"default": "unknown"}),
        "boresight_rotation_coord": ("ROTCOORD", {"default": "sky"}),
    }

    @classmethod
    def can_translate(cls, header: Mapping[str, Any], filename: str | None = None) -> bool:
        """Tell whether this translator handles a header.

        Parameters
        ----------
        header : `~collections.abc.Mapping`
            Primary header.
        filename : `str`, optional
            Name of the file, unused.

        Returns
        -------
        can : `bool`
            `True` only if the header carries the ``ARCHVER`` marker and an
            ``INSTRUME`` value of this camera.
        """
        if not has_marker(header):
            return False
        instrume = header.get("INSTRUME")
        return isinstance(instrume, str) and instrume.strip().lower() in cls.instrume_values

    # ------------------------------------------------------------------
    # small helpers

    def _string(self, keyword: str, default: str | None = None) -> str:
        if self.is_key_ok(keyword):
            self._used_these_cards(keyword)
            return str(self._header[keyword]).strip()
        if default is None:
            raise KeyError(f"{self._log_prefix}: required keyword {keyword} is missing")
        return default

    def _int(self, keyword: str) -> int:
        if not self.is_key_ok(keyword):
            raise KeyError(f"{self._log_prefix}: required keyword {keyword} is missing")
        self._used_these_cards(keyword)
        return int(self._header[keyword])

    def _is_science(self) -> bool:
        return self.to_observation_type() == "science"

    # ------------------------------------------------------------------
    # identity

    @cache_translation
    def to_instrument(self) -> str:
        assert self.supported_instrument is not None
        return self.supported_instrument

    @cache_translation
    def to_telescope(self) -> str:
        return self._string("TELESCOP", self.default_telescope)

    @cache_translation
    def to_observing_day(self) -> int:
        if self.is_key_ok("DAYOBS"):
            return self._int("DAYOBS")
        day = super().to_observing_day()
        if day is None:
            raise KeyError(f"{self._log_prefix}: neither DAYOBS nor a begin time is present")
        return day

    @cache_translation
    def to_observing_day_offset(self) -> TimeDelta:
        return _DAY_OBS_OFFSET

    @cache_translation
    def to_observation_counter(self) -> int:
        return self._int("SEQNUM")

    def _controller(self) -> str:
        return self._string("CONTRLLR", "O").upper() or "O"

    @cache_translation
    def to_exposure_id(self) -> int:
        camera_code = get_camera(self.to_instrument()).camera_code
        name = ImageName(
            camera_code, self._controller(), self.to_observing_day(), self.to_observation_counter()
        )
        return name.exposure_id

    @cache_translation
    def to_visit_id(self) -> int:
        return self.to_exposure_id()

    @cache_translation
    def to_exposure_group(self) -> str:
        return self._string("GROUPID", str(self.to_exposure_id()))

    @cache_translation
    def to_group_counter_start(self) -> int:
        seq_num = self.to_observation_counter()
        if self.is_key_ok("CURINDEX"):
            return seq_num - self._int("CURINDEX") + 1
        return seq_num

    @cache_translation
    def to_group_counter_end(self) -> int:
        seq_num = self.to_observation_counter()
        if self.are_keys_ok(["CURINDEX", "MAXINDEX"]):
            return seq_num + self._int("MAXINDEX") - self._int("CURINDEX")
        return seq_num

    @cache_translation
    def to_has_simulated_content(self) -> bool:
        if self._controller() in SIMULATED_CONTROLLERS:
            return True
        for keyword, value in self._header.items():
            if "SIMULATE" in str(keyword).upper() and value is True:
                return True
        return False

    @cache_translation
    def to_observation_type(self) -> str:
        image_type = self._string("IMGTYPE", "unknown").lower()
        return "science" if image_type in _SKY_TYPES else image_type

    @cache_translation
    def to_observation_reason(self) -> str:
        return self._string("REASON", "science" if self._is_science() else "unknown")

    @cache_translation
    def to_object(self) -> str:
        return self._string("OBJECT", "UNKNOWN")

    # ------------------------------------------------------------------
    # detector

    @cache_translation
    def to_detector_group(self) -> str:
        return self._string("RAFTBAY")

    @cache_translation
    def to_detector_name(self) -> str:
        return self._string("CCDSLOT")

    @cache_translation
    def to_detector_num(self) -> int:
        return detector_number(self.to_instrument(), self.to_detector_group(), self.to_detector_name())

    @cache_translation
    def to_detector_exposure_id(self) -> int:
        return self.to_exposure_id() * _DETECTOR_EXPOSURE_MULTIPLIER + self.to_detector_num()

    # ------------------------------------------------------------------
    # time

    @cache_translation
    def to_datetime_begin(self) -> Time:
        # The camera writes DATE-BEG in TAI whatever TIMESYS says (obs_lsst).
        for suffix in ("BEG", "OBS"):
            begin = self._from_fits_date(f"DATE-{suffix}", mjd_key=f"MJD-{suffix}", scale="tai")
            if begin is not None:
                return begin
        raise KeyError(f"{self._log_prefix}: none of DATE-BEG, MJD-BEG, DATE-OBS, MJD-OBS is present")

    @cache_translation
    def to_datetime_end(self) -> Time:
        end = self._from_fits_date("DATE-END", mjd_key="MJD-END")
        if end is None:
            end = self.to_datetime_begin() + self.to_exposure_time()
        return end

    @cache_translation
    def to_exposure_time_requested(self) -> u.Quantity:
        return self.quantity_from_card("EXPTIME", u.s)

    @cache_translation
    def to_exposure_time(self) -> u.Quantity:
        if self.is_key_ok("SHUTTIME"):
            shutter = self.quantity_from_card("SHUTTIME", u.s)
            if shutter.to_value(u.s) > 0:
                return shutter
        return self.to_exposure_time_requested()

    @cache_translation
    def to_dark_time(self) -> u.Quantity:
        exposure_time = self.to_exposure_time()
        if self.is_key_ok("DARKTIME"):
            dark = self.quantity_from_card("DARKTIME", u.s)
            if dark >= exposure_time:
                return dark
        return exposure_time

    # ------------------------------------------------------------------
    # filter

    def _checked_filter(self, name: str) -> str:
        if len(name) > PHYSICAL_FILTER_MAX_LENGTH:
            raise ValueError(
                f"{self._log_prefix}: physical filter {name[:80]!r} has {len(name)} characters, more than "
                f"the {PHYSICAL_FILTER_MAX_LENGTH} a Butler registry holds"
            )
        return name

    @cache_translation
    def to_physical_filter(self) -> str:
        return self._checked_filter(self._string("FILTER", "unknown") or "unknown")

    # ------------------------------------------------------------------
    # site and pointing

    @cache_translation
    def to_location(self) -> EarthLocation:
        if self.are_keys_ok(["OBS-LONG", "OBS-LAT", "OBS-ELEV"]):
            self._used_these_cards("OBS-LONG", "OBS-LAT", "OBS-ELEV")
            return EarthLocation.from_geodetic(
                lon=float(self._header["OBS-LONG"]) * u.deg,
                lat=float(self._header["OBS-LAT"]) * u.deg,
                height=float(self._header["OBS-ELEV"]) * u.m,
            )
        if self.are_keys_ok(["OBSGEO-X", "OBSGEO-Y", "OBSGEO-Z"]):
            return super().to_location()
        return _RUBIN_SITE

    @cache_translation
    def to_tracking_radec(self) -> SkyCoord | None:
        return tracking_from_degree_headers(self, ("RADESYS",), (("RASTART", "DECSTART"), ("RA", "DEC")))

    @cache_translation
    def to_altaz_begin(self) -> AltAz | None:
        if not self.are_keys_ok(["AZSTART", "ELSTART"]):
            return None
        return altaz_from_degree_headers(self, (("ELSTART", "AZSTART"),), self.to_datetime_begin())

    @cache_translation
    def to_boresight_rotation_angle(self) -> u.Quantity | None:
        if not self.is_key_ok("ROTPA"):
            return None
        return self.quantity_from_card("ROTPA", u.deg)

    @cache_translation
    def to_can_see_sky(self) -> bool | None:
        if self._string("VIGN_MIN", "").upper() == "FULLY":
            return False
        if self.is_key_ok("SHUTTIME") and self.quantity_from_card("SHUTTIME", u.s).to_value(u.s) <= 0:
            return False
        return super().to_can_see_sky()

    @cache_translation
    def to_altaz_end(self) -> AltAz | None:
        if not self.are_keys_ok(["AZEND", "ELEND"]):
            return None
        return altaz_from_degree_headers(self, (("ELEND", "AZEND"),), self.to_datetime_end())

    @cache_translation
    def to_boresight_airmass(self) -> float | None:
        if not self.is_key_ok("AMSTART"):
            return None
        self._used_these_cards("AMSTART")
        return float(self._header["AMSTART"])

    # ------------------------------------------------------------------
    # weather (optional; None when the header has no value)

    @cache_translation
    def to_temperature(self) -> u.Quantity | None:
        if not self.is_key_ok("AIRTEMP"):
            return None
        return self.quantity_from_card("AIRTEMP", u.deg_C).to(u.K, equivalencies=u.temperature())

    @cache_translation
    def to_pressure(self) -> u.Quantity | None:
        if not self.is_key_ok("PRESSURE"):
            return None
        value = float(self._header["PRESSURE"])
        self._used_these_cards("PRESSURE")
        # The weather station has reported both Pa and hPa (obs_lsst).
        return value * (u.Pa if value > 10000 else u.hPa)

    @cache_translation
    def to_relative_humidity(self) -> float | None:  # type: ignore[override]
        if not self.is_key_ok("HUMIDITY"):
            return None
        self._used_these_cards("HUMIDITY")
        return float(self._header["HUMIDITY"])

    @cache_translation
    def to_focus_z(self) -> u.Quantity:
        if self.is_key_ok("FOCUSZ"):
            return self.quantity_from_card("FOCUSZ", u.mm)
        return 0.0 * u.mm


class ArchiverLsstCamTranslator(ArchiverTranslator):
    """Translator for LSSTCam raw files written by ts_archiver."""

    name = "ArchiverLSSTCam"
    supported_instrument = "LSSTCam"
    instrume_values = frozenset({"lsstcam"})


class ArchiverLsstComCamTranslator(ArchiverTranslator):
    """Translator for LSSTComCam raw files written by ts_archiver."""

    name = "ArchiverLSSTComCam"
    supported_instrument = "LSSTComCam"
    instrume_values = frozenset({"comcam", "lsstcomcam"})


class ArchiverLatissTranslator(ArchiverTranslator):
    """Translator for LATISS raw files written by ts_archiver.

    The single CCD is detector 0, raft ``RXX``, sensor ``S00`` as in obs_lsst
    whatever ``RAFTBAY``/``CCDSLOT`` say, and the physical filter is
    ``FILTER~GRATING``.
    """

    name = "ArchiverLATISS"
    supported_instrument = "LATISS"
    instrume_values = frozenset({"latiss"})
    default_telescope = "LSST AuxTelescope"

    @cache_translation
    def to_detector_group(self) -> str:
        return "RXX"

    @cache_translation
    def to_detector_name(self) -> str:
        return "S00"

    @cache_translation
    def to_detector_num(self) -> int:
        return 0

    @cache_translation
    def to_physical_filter(self) -> str:
        filter_name = self._string("FILTER", "empty") or "empty"
        grating = self._string("GRATING", "empty") or "empty"
        return self._checked_filter(f"{filter_name}~{grating}")
