"""The staging area: where an image's files are written before delivery.

One directory per image, ``<staging>/<day_obs>/<obsid>``, holds the raw
FITS files and their sidecars (written by the capture workers), the
``<obsid>_expectedSensors.json`` manifest, and two side files that let a
restarted Archiver capture the image exactly as the first run would have:

* ``<obsid>_camera.json``: the Archiver's own metadata from the camera
  events (`~lsst.ts.archiver.fits.ExposureMetadata`), which a restart cannot
  get back from SAL;
* ``<obsid>_header.yaml``: the Header Service header as fetched.

Every file is written atomically (temporary name + rename). `StagingArea`
also checks that the area can be written and has free space, maps an
`OSError` to the CSC's `~lsst.ts.archiver.error_codes.ErrorCode` (one
mapping, `staging_error_code`), and removes the directories of archived
images. Conditions that stop the Archiver raise
`~lsst.ts.archiver.error_codes.ArchiverFault`.

Nothing here imports salkit, the pipeline, delivery or the CSC.
"""

from __future__ import annotations

__all__ = ["GB", "StagingArea", "staging_error_code"]

import dataclasses
import errno
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .camera import ImageName
from .error_codes import ArchiverFault, ErrorCode
from .fits import AtomicFile, ExpectedSensors, ExposureMetadata, manifest_path_for, write_expected_sensors

if TYPE_CHECKING:
    from .ledger import Ledger

GB = 1e9
"""Bytes per GB, the unit of ``staging.min_free_space`` and ``archiverHealth.freeSpace``."""

_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})

_log = logging.getLogger(__name__)


def staging_error_code(error: OSError) -> ErrorCode:
    """The CSC's error code for an `OSError` raised in the staging area.

    ``ENOSPC`` (and ``EDQUOT``, a full quota) is `ErrorCode.STAGING_FULL`;
    anything else `ErrorCode.STAGING_NOT_WRITABLE`.
    """
    return ErrorCode.STAGING_FULL if error.errno in _NO_SPACE else ErrorCode.STAGING_NOT_WRITABLE


class StagingArea:
    """The staging area below one root directory.

    Path methods are pure. The other methods do blocking file-system I/O
    (run them in a thread from asyncio code) and raise
    `~lsst.ts.archiver.error_codes.ArchiverFault` (``STAGING_FULL`` or
    ``STAGING_NOT_WRITABLE``) when the area cannot be used.

    Parameters
    ----------
    root : `str` or `os.PathLike`
        The staging directory (``staging.directory``).
    fsync : `bool`, optional
        Flush side files and manifests to disk before they get their final
        name (``fits.fsync``).
    log : `logging.Logger`, optional
        Where to log (default this module's logger).
    """

    def __init__(
        self, root: str | os.PathLike[str], *, fsync: bool = False, log: logging.Logger | None = None
    ) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.log = log if log is not None else _log

    def __repr__(self) -> str:
        return f"StagingArea({os.fspath(self.root)!r}, fsync={self.fsync})"

    # ------------------------------------------------------------------ paths (pure)

    def image_dir(self, obsid: str) -> Path:
        """``<root>/<day_obs>/<obsid>``: where an image's files are written.

        Raises
        ------
        lsst.ts.archiver.camera.InvalidImageNameError
            If ``obsid`` is not a valid image name.
        """
        name = ImageName.parse(obsid)
        return self.root / str(name.day_obs) / name.obsid

    def metadata_path(self, obsid: str) -> Path:
        """``<obsid>_camera.json``: the saved camera metadata of an image."""
        return self.image_dir(obsid) / f"{obsid}_camera.json"

    def header_path(self, obsid: str) -> Path:
        """``<obsid>_header.yaml``: the saved Header Service header of an image."""
        return self.image_dir(obsid) / f"{obsid}_header.yaml"

    def manifest_path(self, obsid: str) -> Path:
        """``<obsid>_expectedSensors.json``: the image's manifest."""
        return manifest_path_for(self.image_dir(obsid), obsid)

    # ------------------------------------------------------------------ writing (blocking)

    def create_image_dir(self, obsid: str) -> Path:
        """Create an image's directory (and its parents) if needed; blocking.

        Returns
        -------
        directory : `pathlib.Path`
            `image_dir`.

        Raises
        ------
        ArchiverFault
            If it cannot be created.
        """
        directory = self.image_dir(obsid)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise self.fault(e, f"create directory {directory}") from e
        return directory

    def save_metadata(self, obsid: str, metadata: ExposureMetadata) -> Path:
        """Save an image's camera metadata (atomically); blocking.

        Raises
        ------
        ArchiverFault
            If it cannot be written.
        """
        data = dataclasses.asdict(metadata)
        data["extra"] = dict(metadata.extra)
        return self._write(obsid, self.metadata_path(obsid), json.dumps(data, indent=1) + "\n")

    def load_metadata(self, obsid: str) -> ExposureMetadata | None:
        """The camera metadata saved by `save_metadata`; blocking.

        Returns
        -------
        metadata : `~lsst.ts.archiver.fits.ExposureMetadata` or `None`
            None if none was saved, or if the file is unreadable (logged: the
            image is then written with the DAQ's metadata only).

        Raises
        ------
        ArchiverFault
            If the staging area cannot be read.
        """
        path = self.metadata_path(obsid)
        text = self._read(path)
        if text is None:
            return None
        try:
            return ExposureMetadata(**json.loads(text))
        except (ValueError, TypeError) as e:
            self.log.warning("Ignoring unreadable saved camera metadata %s: %s", path, e)
            return None

    def save_header(self, obsid: str, text: str) -> Path:
        """Save an image's Header Service header (atomically); blocking.

        Raises
        ------
        ArchiverFault
            If it cannot be written.
        """
        return self._write(obsid, self.header_path(obsid), text)

    def load_header(self, obsid: str) -> str | None:
        """The header saved by `save_header`, or None; blocking.

        Raises
        ------
        ArchiverFault
            If the staging area cannot be read.
        """
        return self._read(self.header_path(obsid))

    def write_manifest(self, manifest: ExpectedSensors) -> Path:
        """Write an image's ``expectedSensors.json`` (atomically); blocking.

        Returns
        -------
        path : `pathlib.Path`
            `manifest_path`.

        Raises
        ------
        ArchiverFault
            If it cannot be written.
        """
        directory = self.create_image_dir(manifest.obsid)
        try:
            return write_expected_sensors(directory, manifest, fsync=self.fsync)
        except OSError as e:
            raise self.fault(e, f"write {manifest_path_for(directory, manifest.obsid)}") from e

    def _write(self, obsid: str, path: Path, text: str) -> Path:
        self.create_image_dir(obsid)
        try:
            with AtomicFile(path, fsync=self.fsync) as out:
                out.write([text.encode("utf-8")])
        except OSError as e:
            raise self.fault(e, f"write {path}") from e
        return path

    def _read(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as e:
            self.log.warning("Ignoring %s: not UTF-8 text (%s)", path, e)
            return None
        except OSError as e:
            raise self.fault(e, f"read {path}") from e

    # ------------------------------------------------------------------ health (blocking)

    def probe(self) -> None:
        """Create the root if needed and write and remove a small file in it; blocking.

        Raises
        ------
        ArchiverFault
            ``STAGING_FULL`` or ``STAGING_NOT_WRITABLE`` if that fails.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise self.fault(e, f"create {self.root}") from e
        probe = self.root / f".write-probe-{os.getpid()}"
        try:
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as e:
            raise self.fault(e, f"write {probe}") from e

    def free_space(self) -> float:
        """Free space (GB) on the file system of the root; blocking.

        Raises
        ------
        ArchiverFault
            ``STAGING_NOT_WRITABLE`` if the root cannot be examined (missing,
            not mounted, no permission).
        """
        try:
            return shutil.disk_usage(self.root).free / GB
        except OSError as e:
            raise self.fault(e, "measure the free space") from e

    def require_free_space(self, min_free_space: float) -> float:
        """Check the free space against ``min_free_space`` (GB); blocking.

        Returns
        -------
        free : `float`
            Free space (GB).

        Raises
        ------
        ArchiverFault
            ``STAGING_FULL`` if less than ``min_free_space`` GB are free;
            ``STAGING_NOT_WRITABLE`` if the root cannot be examined.
        """
        free = self.free_space()
        if free < min_free_space:
            raise ArchiverFault(
                ErrorCode.STAGING_FULL,
                f"Staging area {self.root} has {free:.1f} GB free, below staging.min_free_space "
                f"{min_free_space:g} GB; free space there (archived images' directories may be removed) "
                "or point staging.directory at a larger disk",
            )
        return free

    def check(self, min_free_space: float) -> float:
        """`probe`, then `require_free_space`: is the area usable? Blocking.

        Returns
        -------
        free : `float`
            Free space (GB).

        Raises
        ------
        ArchiverFault
            If the area cannot be written or is too full.
        """
        self.probe()
        return self.require_free_space(min_free_space)

    def fault(self, error: OSError, action: str) -> ArchiverFault:
        """The `ArchiverFault` for an `OSError` raised while trying to ``action``.

        The code comes from `staging_error_code`; the report names the
        staging area, the action (with its path), the reason and what to do.

        Parameters
        ----------
        error : `OSError`
            What the OS said.
        action : `str`
            What was tried, with its path, e.g. ``"write /data/staging/x"``.
        """
        code = staging_error_code(error)
        reason = os.strerror(error.errno) if error.errno else str(error)
        if code is ErrorCode.STAGING_FULL:
            state = "is full"
            remedy = (
                f"free space on the file system of {self.root} or point staging.directory at a larger disk"
            )
        else:
            state = "is not writable"
            remedy = (
                f"check that {self.root} is a directory (or can be created) and its owner, mode and mount "
                "options, or point staging.directory elsewhere"
            )
        return ArchiverFault(code, f"Staging area {self.root} {state}: cannot {action} ({reason}); {remedy}")

    # ------------------------------------------------------------------ cleanup (blocking)

    def clean_archived(self, ledger: Ledger, retention: float, *, now: float | None = None) -> list[str]:
        """Delete the directories of images archived more than ``retention`` s ago; blocking.

        Only images the ledger shows as completely archived (status 0) are
        touched; anything else (unknown or unfinished images, images with a
        missing or finally failed file, which ``retryImage`` may deliver
        again, names that are not image names) is left alone. A directory that cannot be removed is logged and kept
        for the next pass; emptied ``<day_obs>`` directories are removed.

        Parameters
        ----------
        ledger : `~lsst.ts.archiver.ledger.Ledger`
            Tells which images are archived, and when (blocking calls).
        retention : `float`
            Seconds an archived image's directory is kept.
        now : `float`, optional
            Current time (Unix seconds); default now.

        Returns
        -------
        removed : `list` [`str`]
            Names of the images whose directory was removed.
        """
        # Imported here: capture worker processes import this module and
        # should not pay for SQLAlchemy.
        from .ledger import UnknownImageError

        now = time.time() if now is None else now
        removed: list[str] = []
        if not self.root.is_dir():
            return removed
        for day_dir in sorted(p for p in self.root.iterdir() if p.is_dir() and p.name.isdigit()):
            for image_dir in sorted(p for p in day_dir.iterdir() if p.is_dir()):
                if not ImageName.is_valid(image_dir.name):
                    continue
                try:
                    record = ledger.image(image_dir.name)
                except UnknownImageError:
                    continue
                if record.archived_at is None or record.archive_status != 0:
                    continue
                if now - record.archived_at < retention:
                    continue
                try:
                    shutil.rmtree(image_dir)
                except OSError as e:
                    self.log.warning("Could not remove the staging directory %s: %s", image_dir, e)
                    continue
                removed.append(image_dir.name)
            try:
                day_dir.rmdir()
            except OSError:
                pass  # not empty
        return removed
