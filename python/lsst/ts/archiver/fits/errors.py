"""Exceptions raised by the raw FITS writer."""

from __future__ import annotations

__all__ = [
    "CorruptHeaderError",
    "DiskFullError",
    "FitsWriteError",
    "PixelDataError",
    "UntranslatableFileError",
    "WritePermissionError",
]

import os

from ..metadata import SidecarError


class FitsWriteError(OSError):
    """A raw FITS file (or its sidecar/manifest) could not be written.

    Parameters
    ----------
    message : `str`
        What went wrong and what to do.
    path : `str` or `os.PathLike`
        The file (or directory) concerned.
    errno : `int`, optional
        The underlying OS error number, if any.
    """

    def __init__(self, message: str, path: str | os.PathLike[str], errno: int | None = None) -> None:
        super().__init__(message)
        self.path = os.fspath(path)
        self.errno = errno

    def __str__(self) -> str:
        return str(self.args[0])


class DiskFullError(FitsWriteError):
    """No space (or quota) left on the file system of the target path."""


class WritePermissionError(FitsWriteError):
    """The target directory or file may not be written (permission, read-only)."""


class CorruptHeaderError(ValueError):
    """A Header Service header file cannot be used.

    Parameters
    ----------
    source : `str`
        Where the header came from (path or URL).
    problem : `str`
        What is wrong with it.
    """

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"Header Service file {source}: {problem}")
        self.source = source
        self.problem = problem


class PixelDataError(ValueError):
    """The pixel arrays handed to the writer do not match the detector."""


class UntranslatableFileError(SidecarError):
    """A raw file was written, but even the Archiver's own metadata of it
    cannot be translated, so ingest could not take it.

    The file is kept under a name that is not the raw file's
    (`~lsst.ts.archiver.fits.untranslated_file_name`), without a sidecar,
    so no delivery picks it up; the capture reports ``METADATA_FAILED``.

    Parameters
    ----------
    message : `str`
        Why the metadata cannot be translated, and where the file is.
    path : `str` or `os.PathLike`
        The kept file.
    """

    def __init__(self, message: str, path: str | os.PathLike[str]) -> None:
        super().__init__(message)
        self.path = os.fspath(path)
