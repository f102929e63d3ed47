"""Object keys at a destination, as production lays them out, and name safety.

``{instrument}/{day_obs}/{obs_id}/{file}`` where ``file`` is
``{obs_id}_{raft}_{sensor}.fits`` (or ``.fits.fz``), its sidecar
``{obs_id}_{raft}_{sensor}.json`` or ``{obs_id}_expectedSensors.json``.
Every part is checked, so a hostile name from an event or a command can
never escape the destination (no ``..``, no separators, no absolute paths).
"""

from __future__ import annotations

__all__ = ["check_detector_name", "check_file_name", "check_image", "check_path_inside", "object_key"]

import os
import re

from ..camera import ImageName
from ..camera.errors import InvalidImageNameError
from .errors import UnsafeNameError

_INSTRUMENT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,31}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
_DETECTOR_RE = re.compile(r"^R\d\d_S[A-Z0-9]{2}$")


def check_detector_name(name: str) -> str:
    """Check a detector name ``RNN_SNN`` (``R00_SG0``, ``R22_S11`` ...); return it.

    Raises
    ------
    UnsafeNameError
        If it is not of that form.
    """
    if not isinstance(name, str) or not _DETECTOR_RE.match(name):
        raise UnsafeNameError(f"Detector name {name!r} is not of the form RNN_SNN (e.g. R22_S11)")
    return name


def check_image(instrument: str, day_obs: int | str, obsid: str) -> None:
    """Check that an image's identity can make object keys.

    Raises
    ------
    UnsafeNameError
        If the instrument, day_obs or obsid is malformed.
    """
    object_key(instrument, day_obs, obsid, f"{obsid}_expectedSensors.json")


def check_file_name(name: str, obsid: str | None = None) -> str:
    """Check a plain file name (no directory part); return it.

    Parameters
    ----------
    name : `str`
        File name.
    obsid : `str` or `None`, optional
        If given, the name must start with ``{obsid}_``.

    Raises
    ------
    UnsafeNameError
        If the name has separators, ``..``, control or other characters
        outside ``[A-Za-z0-9_.-]``, or does not belong to ``obsid``.
    """
    if not isinstance(name, str) or not _FILE_RE.match(name) or ".." in name:
        raise UnsafeNameError(
            f"File name {name!r} is not allowed: use letters, digits, '_', '.', '-' only, "
            "no directory part and no '..'"
        )
    if obsid is not None and not name.startswith(f"{obsid}_"):
        raise UnsafeNameError(f"File name {name!r} does not belong to image {obsid}")
    return name


def object_key(instrument: str, day_obs: int | str, obsid: str, file_name: str) -> str:
    """Key of a file relative to a destination's target.

    Parameters
    ----------
    instrument : `str`
        Instrument name (``LSSTCam``, ``LSSTComCam``, ``LATISS``).
    day_obs : `int` or `str`
        Observing day ``YYYYMMDD``.
    obsid : `str`
        Image name.
    file_name : `str`
        File name (see `check_file_name`).

    Returns
    -------
    key : `str`
        ``{instrument}/{day_obs}/{obs_id}/{file_name}``.

    Raises
    ------
    UnsafeNameError
        If any part is malformed.
    """
    if not isinstance(instrument, str) or not _INSTRUMENT_RE.match(instrument):
        raise UnsafeNameError(f"Instrument name {instrument!r} is not allowed in an object key")
    day = str(day_obs)
    if not re.fullmatch(r"\d{8}", day):
        raise UnsafeNameError(f"day_obs {day_obs!r} is not YYYYMMDD")
    try:
        parsed = ImageName.parse(obsid)
    except InvalidImageNameError as e:
        raise UnsafeNameError(str(e)) from None
    if parsed.obsid != obsid:
        raise UnsafeNameError(f"Image name {obsid!r} is not in canonical form")
    check_file_name(file_name, obsid)
    return f"{instrument}/{day}/{obsid}/{file_name}"


def check_path_inside(root: str, path: str) -> str:
    """Check that a local ``path`` resolves inside directory ``root``; return it.

    Raises
    ------
    UnsafeNameError
        If it resolves elsewhere (e.g. through ``..`` or a symlink).
    """
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise UnsafeNameError(f"Path {path!r} resolves to {real!r}, outside the destination {real_root!r}")
    return path
