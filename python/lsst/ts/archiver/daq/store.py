"""The DAQ image-store API, independent of how the store is implemented.

`DaqStore` is what the Archiver uses: the on-disk emulator
(`lsst.ts.archiver.daq.EmulatedDaqStore`) implements it today; a binding to
the real DAQ client library would implement the same methods.

Blocking and asyncio
--------------------
Catalog calls (`find_image`, `list_images`, `capacity` ...) are short
blocking calls (a local database query, normally well under a
millisecond); they are safe to call from an event loop. `read_source` and
`decode_source` read and decode ~127 MB per science REB: they are
blocking, CPU- and I/O-bound calls meant to run in a worker thread or
process. The waiting calls, `ImageStream.next` and `wait_complete`, are
coroutines that poll cooperatively and never block the event loop.
"""

from __future__ import annotations

__all__ = ["DaqStore", "ImageStream", "camera_for_partition"]

import abc
import asyncio
import time
from collections.abc import AsyncIterator
from typing import Self

import numpy as np

from ..camera import CAMERAS, LATISS, Camera, DaqLocation, UnknownCameraError
from .codec import decode_source
from .decoded import DecodedSource
from .errors import ImageIncompleteError
from .metadata import ImageMetadata, StoreCapacity

_PARTITION_ALIASES = {"ats": LATISS}


def camera_for_partition(partition: str) -> Camera:
    """The camera whose images a DAQ partition holds (``camera``, ``comcam``, ``lat``/``ats``).

    Raises
    ------
    UnknownCameraError
        If the partition belongs to no known camera.
    """
    for camera in CAMERAS:
        if camera.partition == partition:
            return camera
    if partition in _PARTITION_ALIASES:
        return _PARTITION_ALIASES[partition]
    raise UnknownCameraError(
        f"DAQ partition {partition!r} belongs to no known camera; "
        f"use one of {', '.join(c.partition for c in CAMERAS)} or pass the camera explicitly"
    )


class ImageStream(abc.ABC):
    """New images arriving in a store ("stream mode"), oldest or newest first.

    Only images created after the stream was opened are reported.
    """

    @abc.abstractmethod
    async def next(self, timeout: float | None = None, *, complete: bool = False) -> ImageMetadata:
        """Wait for the next new image.

        Parameters
        ----------
        timeout : `float`, optional
            Seconds to wait; None waits forever.
        complete : `bool`
            If True, return the image only once every source is written
            (the DAQ "barrier"); otherwise as soon as it is created.

        Raises
        ------
        TimeoutError
            If no new image arrived in time.
        """

    def __aiter__(self) -> AsyncIterator[ImageMetadata]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[ImageMetadata]:
        while True:
            yield await self.next()


class DaqStore(abc.ABC):
    """One DAQ partition's image store ("2-day store").

    Images live in named folders (``raw`` for camera images, ``emu`` for
    emulation templates) and are looked up by name within a folder.
    """

    @property
    @abc.abstractmethod
    def partition(self) -> str:
        """The DAQ partition name (``camera``, ``comcam``, ``lat``)."""

    @property
    @abc.abstractmethod
    def camera(self) -> Camera:
        """The camera whose REBs feed this partition."""

    @abc.abstractmethod
    def folders(self) -> list[str]:
        """Names of the folders in the store, sorted."""

    @abc.abstractmethod
    def find_image(self, name: str, folder: str = "raw") -> ImageMetadata:
        """Look up an image by name.

        Raises
        ------
        ImageNotFoundError
            If no such image is in the folder.
        ImageEvictedError
            If the image was there but has been evicted.
        FolderNotFoundError
            If the folder does not exist.
        """

    @abc.abstractmethod
    def list_images(
        self,
        folder: str | None = "raw",
        *,
        since: float | None = None,
        until: float | None = None,
        complete_only: bool = False,
    ) -> list[ImageMetadata]:
        """Images in a folder (all folders if None), sorted by trigger time.

        Parameters
        ----------
        folder : `str` or `None`
            Folder to list; None lists every folder.
        since, until : `float`, optional
            Keep images with ``since <= timestamp < until`` (TAI unix seconds).
        complete_only : `bool`
            Leave out images whose sources are not all written.
        """

    @abc.abstractmethod
    def read_source(
        self, name: str, location: str | DaqLocation, folder: str = "raw", *, verify: bool = True
    ) -> np.ndarray:
        """Read one source's packed data.

        Parameters
        ----------
        name : `str`
            Image name.
        location : `str` or `DaqLocation`
            Source location (``R22/Reb0``).
        folder : `str`
            Image folder.
        verify : `bool`
            Check the data against the checksum recorded when written.

        Returns
        -------
        words : `numpy.ndarray`
            uint32 packed words.

        Raises
        ------
        ImageNotFoundError, ImageEvictedError, SourceNotFoundError
            If the image or source does not exist (any more).
        ImageIncompleteError
            If the source has not been fully written.
        TruncatedSourceError, CorruptSourceError
            If the stored data are damaged.
        """

    @abc.abstractmethod
    def capacity(self) -> StoreCapacity:
        """Capacity and used space of the store, in bytes."""

    @abc.abstractmethod
    def stream(self, folder: str | None = "raw", *, newest_first: bool = False) -> ImageStream:
        """Open a stream of the images created from now on (in ``folder``; None = any);
        oldest first, or the newest not yet reported first (stream mode)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (database connections ...)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def decode_source(
        self,
        name: str,
        location: str | DaqLocation,
        folder: str = "raw",
        *,
        out: np.ndarray | None = None,
        verify: bool = True,
    ) -> DecodedSource:
        """Read one source and decode it into int32 pixels per detector and amplifier.

        Parameters
        ----------
        name, location, folder, verify
            As for `read_source`.
        out : `numpy.ndarray`, optional
            Preallocated int32 result array (reusing one avoids page faults).

        Returns
        -------
        decoded : `DecodedSource`
            Pixels in FITS HDU order, plus the detectors and source metadata.
        """
        image = self.find_image(name, folder)
        source = image.source(location)
        words = self.read_source(name, source.location, folder, verify=verify)
        pixels = decode_source(
            words,
            source.kind,
            source.naxis1,
            source.naxis2,
            out=out,
            what=f"image {name} source {source.location} in partition {self.partition!r}",
        )
        detectors = self.camera.reb(source.location).detectors
        return DecodedSource(image=name, source=source, detectors=detectors, pixels=pixels)

    async def wait_complete(
        self, name: str, folder: str = "raw", timeout: float | None = None, *, poll_interval: float = 0.05
    ) -> ImageMetadata:
        """Wait until every source of an image is written (the DAQ "barrier").

        Raises
        ------
        TimeoutError
            If the image is not complete in time.
        ImageNotFoundError
            If the image does not exist.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            image = self.find_image(name, folder)
            if image.complete:
                return image
            if deadline is not None and time.monotonic() >= deadline:
                missing = [str(s.location) for s in image.sources if not s.complete]
                raise TimeoutError(
                    f"image {name} in partition {self.partition!r} not complete after {timeout} s; "
                    f"sources still missing: {', '.join(missing)}"
                ) from ImageIncompleteError(name, missing[0] if missing else "?", self.partition)
            await asyncio.sleep(poll_interval)
