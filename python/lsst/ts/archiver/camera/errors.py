"""Exceptions raised by the camera model."""

from __future__ import annotations

__all__ = [
    "CameraModelError",
    "InvalidImageNameError",
    "InvalidLocationError",
    "InvalidSectionError",
    "UnknownCameraError",
    "UnknownDetectorError",
    "UnknownRebError",
]


class CameraModelError(ValueError):
    """Base class of every error raised by `lsst.ts.archiver.camera`.

    A subclass of `ValueError`, because every one of these errors means a
    value from outside (a name, a number, a header string) was not valid.
    """


class UnknownCameraError(CameraModelError):
    """A camera name, CSC name or camera code is not one we know."""


class UnknownDetectorError(CameraModelError):
    """A detector number or name does not exist in the camera."""


class UnknownRebError(CameraModelError):
    """A REB / DAQ location does not exist in the camera."""


class InvalidLocationError(CameraModelError):
    """A DAQ location string or bay/board pair is malformed."""


class InvalidImageNameError(CameraModelError):
    """An image name (obsid) does not follow ``SS_C_YYYYMMDD_NNNNNN``."""


class InvalidSectionError(CameraModelError):
    """A FITS section string such as ``[4:512,1:2000]`` is malformed."""
