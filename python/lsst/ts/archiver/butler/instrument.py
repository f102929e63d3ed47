"""Instrument, physical-filter and detector records of the three cameras.

Names and numbers follow obs_lsst (instrument ``LATISS``, ``LSSTComCam``,
``LSSTCam``; detector ids and full names; physical filter names), so raws
ingested here get the data IDs obs_lsst would give them. The focal planes come
from `lsst.ts.archiver.camera`; only obs_lsst's LATISS naming differs: its
single CCD is raft ``RXX``, full name ``RXX_S00``.
"""

from __future__ import annotations

__all__ = [
    "INSTRUMENT_NAMES",
    "band_for",
    "detector_records",
    "instrument_record",
    "known_physical_filters",
    "physical_filter_record",
    "register_instrument",
    "register_physical_filter",
]

import re
from typing import Any

from lsst.daf.butler import Butler

from ..camera import Camera, get_camera
from ..camera.errors import UnknownCameraError
from ..camera.filters import COMCAM_FILTER_BANDS, LSSTCAM_FILTER_BANDS
from .errors import UnknownInstrumentError

INSTRUMENT_NAMES: tuple[str, ...] = ("LATISS", "LSSTComCam", "LSSTCam")
"""Butler instrument names ts_archiver registers."""

_DETECTOR_MAX = 1000
_EXPOSURE_MAX = 10**15

_LATISS_RAFT = "RXX"

_FILTERS: dict[str, tuple[str, ...]] = {
    "LSSTCam": (*LSSTCAM_FILTER_BANDS, "unknown"),
    "LSSTComCam": tuple(COMCAM_FILTER_BANDS),
    "LATISS": tuple(
        f"{f}~{g}"
        for f in (
            "empty",
            "SDSSg_65mm",
            "SDSSr_65mm",
            "SDSSi_65mm",
            "SDSSz_65mm",
            "SDSSy_65mm",
            "BG40_65mm",
            "OG550_65mm",
        )
        for g in ("empty", "ronchi170lpmm", "holo4_003", "blue300lpmm_qn1")
    ),
}

_BANDS = frozenset("ugrizy")
_LATISS_BAND_RE = re.compile(r"^SDSS([ugrizy])_")
_LATISS_BANDS = {"BG40_65mm": "g", "OG550_65mm": "r"}
_MAX_NAME = 32


def _camera(instrument: str) -> Camera:
    try:
        camera = get_camera(instrument)
    except UnknownCameraError as e:
        raise UnknownInstrumentError(f"{e}") from e
    if camera.name not in INSTRUMENT_NAMES:
        raise UnknownInstrumentError(
            f"Instrument {instrument!r} has no Butler registration; use {INSTRUMENT_NAMES}"
        )
    return camera


def band_for(instrument: str, physical_filter: str) -> str:
    """Return the band of a physical filter.

    Parameters
    ----------
    instrument : `str`
        Butler instrument name.
    physical_filter : `str`
        Physical filter name (``r_57``; LATISS ``SDSSr_65mm~empty``).

    Returns
    -------
    band : `str`
        ``u g r i z y`` for the survey filters, ``unknown`` for
        ``unknown``, otherwise ``white``.
    """
    if physical_filter == "unknown":
        return "unknown"
    if instrument == "LATISS":
        filter_name = physical_filter.split("~", 1)[0]
        match = _LATISS_BAND_RE.match(filter_name)
        if match:
            return match.group(1)
        return _LATISS_BANDS.get(filter_name, "white")
    known = {"LSSTCam": LSSTCAM_FILTER_BANDS, "LSSTComCam": COMCAM_FILTER_BANDS}.get(instrument, {})
    if physical_filter in known:
        return known[physical_filter]
    prefix = physical_filter.split("_", 1)[0]
    return prefix if prefix in _BANDS and "_" in physical_filter else "white"


def known_physical_filters(instrument: str) -> tuple[str, ...]:
    """Physical filters registered with the instrument (others are added on first use)."""
    return _FILTERS[_camera(instrument).name]


def instrument_record(instrument: str) -> dict[str, Any]:
    """Return the ``instrument`` dimension record values."""
    name = _camera(instrument).name
    return {
        "name": name,
        "detector_max": _DETECTOR_MAX,
        "exposure_max": _EXPOSURE_MAX,
        "visit_max": _EXPOSURE_MAX,
        "visit_system": 0,
    }


def physical_filter_record(instrument: str, physical_filter: str) -> dict[str, Any]:
    """Return a ``physical_filter`` record.

    Raises
    ------
    ValueError
        Raised if the name does not fit the registry's 32 characters.
    """
    if not physical_filter or len(physical_filter) > _MAX_NAME:
        raise ValueError(
            f"Physical filter {physical_filter!r} of {instrument} must have 1-{_MAX_NAME} characters"
        )
    return {"instrument": instrument, "name": physical_filter, "band": band_for(instrument, physical_filter)}


def detector_records(instrument: str) -> list[dict[str, Any]]:
    """Return the ``detector`` records of a camera, in detector-number order."""
    camera = _camera(instrument)
    records = []
    for detector in camera.detectors:
        raft = _LATISS_RAFT if camera.name == "LATISS" else detector.raft
        records.append(
            {
                "instrument": camera.name,
                "id": int(detector.id),
                "full_name": f"{raft}_{detector.sensor}",
                "raft": raft,
                "name_in_raft": detector.sensor,
                "purpose": detector.purpose.value,
            }
        )
    return records


def register_instrument(butler: Butler, instrument: str, *, update: bool = False) -> bool:
    """Register an instrument, its physical filters and detectors (idempotent).

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        Writeable Butler.
    instrument : `str`
        ``LATISS``, ``LSSTComCam`` or ``LSSTCam`` (any camera alias).
    update : `bool`, optional
        Overwrite an existing instrument record that differs.

    Returns
    -------
    inserted : `bool`
        `True` if the instrument record was new.

    Raises
    ------
    UnknownInstrumentError
        Raised for a camera ts_archiver does not know.
    lsst.daf.butler.registry.ConflictingDefinitionError
        Raised if the repository has a different record for the instrument
        and ``update`` is `False`.
    """
    name = _camera(instrument).name
    registry = butler.registry
    with registry.transaction():
        inserted = registry.syncDimensionData("instrument", instrument_record(name), update=update)
        registry.insertDimensionData(
            "physical_filter",
            *(physical_filter_record(name, f) for f in known_physical_filters(name)),
            skip_existing=True,
        )
        registry.insertDimensionData("detector", *detector_records(name), skip_existing=True)
    return bool(inserted)


def register_physical_filter(butler: Butler, instrument: str, physical_filter: str) -> None:
    """Add one physical filter to an instrument if it is not there yet."""
    butler.registry.syncDimensionData("physical_filter", physical_filter_record(instrument, physical_filter))
