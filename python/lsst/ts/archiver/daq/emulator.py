"""`EmulatedDaqStore`: the DAQ image store emulated on a local directory.

Layout of a store root::

    <root>/<partition>/catalog.sqlite3          the catalog (SQLite, WAL mode)
    <root>/<partition>/data/<tag>/<bay>_<board>.dat   packed source data

Sources are kept in the real packed format. Capacity is a byte budget: when
a new image does not fit, the oldest images are evicted (their catalog rows
stay, marked evicted, so readers get `ImageEvictedError` rather than "not
found"). One process writes; any number of processes may read.
"""

from __future__ import annotations

__all__ = ["DEFAULT_CAPACITY", "DEFAULT_DAQ_RELEASE", "EmulatedDaqStore", "EmulatedImageStream"]

import asyncio
import dataclasses
import hashlib
import os
import secrets
import shutil
import sqlite3
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..camera import Camera, DaqLocation, Reb, RebKind
from .catalog import Catalog, ImageRow
from .codec import encode_source
from .errors import (
    CorruptSourceError,
    FolderNotFoundError,
    ImageEvictedError,
    ImageExistsError,
    ImageIncompleteError,
    ImageNotFoundError,
    StoreCapacityError,
    StoreUnavailableError,
    TruncatedSourceError,
)
from .metadata import ImageMetadata, SourceMetadata, StoreCapacity
from .pixels import PixelGenerator
from .store import DaqStore, ImageStream, camera_for_partition

DEFAULT_CAPACITY = 64 * 1024**3
"""Byte budget of a new emulated store when none is given (64 GiB)."""

DEFAULT_DAQ_RELEASE = "R5-V13.12-emulated"
"""DAQ release string recorded in emulated images and sources."""

TAI_MINUS_UTC = 37.0
"""TAI - UTC in seconds (valid since 2017-01-01), for default trigger times."""

_DEFAULT_FOLDERS = ("raw", "emu")
_MAX_NAME = 63


def _check_name(kind: str, value: str) -> None:
    if not value or len(value) > _MAX_NAME or "/" in value or value.strip() != value:
        raise ValueError(
            f"DAQ {kind} {value!r} must be 1-{_MAX_NAME} characters, without '/' or surrounding spaces"
        )


class EmulatedImageStream(ImageStream):
    """Stream of new images of an `EmulatedDaqStore`, found by polling its catalog.

    Oldest first, or with ``newest_first`` the newest image not yet reported
    (the camera writer's stream mode: after a burst the latest image comes
    first, then the others, newest to oldest).
    """

    def __init__(
        self, store: EmulatedDaqStore, folder: str | None, poll_interval: float, *, newest_first: bool = False
    ) -> None:
        self._store = store
        self._folder = folder
        self._poll_interval = poll_interval
        self._newest_first = newest_first
        self._last_seq = store._catalog.last_seq()
        self._reported: set[int] = set()

    async def next(self, timeout: float | None = None, *, complete: bool = False) -> ImageMetadata:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = self._newest(complete) if self._newest_first else self._oldest(complete)
            if found is not None:
                return found
            if deadline is not None and time.monotonic() >= deadline:
                where = f"folder {self._folder!r}" if self._folder else "any folder"
                raise TimeoutError(
                    f"no new {'complete ' if complete else ''}image in {where} of DAQ partition "
                    f"{self._store.partition!r} within {timeout} s"
                )
            await asyncio.sleep(self._poll_interval)

    def _oldest(self, complete: bool) -> ImageMetadata | None:
        while True:
            rows = self._store._catalog.images_after(self._last_seq, self._folder)
            if not rows:
                return None
            row = rows[0]
            if not complete or row.metadata.complete:
                self._last_seq = row.seq
                return row.metadata
            current = self._store._catalog.image_by_seq(row.seq)
            if current is None or current.evicted_at is None:
                return None  # the oldest is still being written: wait for it
            self._last_seq = row.seq  # evicted before it was complete: skip it

    def _newest(self, complete: bool) -> ImageMetadata | None:
        for row in self._store._catalog.newest_images_after(self._last_seq, self._folder):
            if row.seq in self._reported or (complete and not row.metadata.complete):
                continue
            self._reported.add(row.seq)
            return row.metadata
        return None


class EmulatedDaqStore(DaqStore):
    """A DAQ partition's image store on local disk.

    Parameters
    ----------
    root : `str` or `os.PathLike`
        Store root directory; the partition lives in ``root/partition``.
    partition : `str`
        DAQ partition name (``camera``, ``comcam``, ``lat``).
    camera : `Camera`, optional
        The camera feeding the partition; default from the partition name.
    capacity : `int`, optional
        Byte budget. Stored in the catalog; if omitted, the stored value (or
        `DEFAULT_CAPACITY` for a new store) is used.
    poll_interval : `float`
        Seconds between catalog polls while waiting for images.
    create : `bool`
        Create the store if it does not exist; if False, a missing store
        raises `StoreUnavailableError` (used by read-only tools).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        partition: str,
        *,
        camera: Camera | None = None,
        capacity: int | None = None,
        poll_interval: float = 0.05,
        create: bool = True,
    ) -> None:
        _check_name("partition", partition)
        catalog_path = Path(root) / partition / "catalog.sqlite3"
        if not create and not catalog_path.exists():
            raise StoreUnavailableError(
                f"no emulated DAQ store for partition {partition!r} under {os.fspath(root)!r} "
                f"({catalog_path} does not exist); check --root and --partition"
            )
        self._partition = partition
        self._camera = camera if camera is not None else camera_for_partition(partition)
        self.directory = Path(root) / partition
        self._data_dir = self.directory / "data"
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._catalog = Catalog(self.directory / "catalog.sqlite3", partition)
        self.poll_interval = poll_interval
        for folder in _DEFAULT_FOLDERS:
            if not self._catalog.has_folder(folder):
                self.create_folder(folder)
        if capacity is not None:
            self.set_capacity(capacity)
        elif self._catalog.get_setting("capacity") is None:
            self.set_capacity(DEFAULT_CAPACITY)

    # DaqStore API -----------------------------------------------------------
    @property
    def partition(self) -> str:
        return self._partition

    @property
    def camera(self) -> Camera:
        return self._camera

    def close(self) -> None:
        self._catalog.close()

    def folders(self) -> list[str]:
        return self._catalog.folders()

    def find_image(self, name: str, folder: str = "raw") -> ImageMetadata:
        return self._find(name, folder).metadata

    def list_images(
        self,
        folder: str | None = "raw",
        *,
        since: float | None = None,
        until: float | None = None,
        complete_only: bool = False,
    ) -> list[ImageMetadata]:
        if folder is not None:
            self._require_folder(folder)
        return [r.metadata for r in self._catalog.list_images(folder, since, until, complete_only)]

    def read_source(
        self, name: str, location: str | DaqLocation, folder: str = "raw", *, verify: bool = True
    ) -> np.ndarray:
        row = self._find(name, folder)
        source = row.metadata.source(location)
        what = f"image {name} source {source.location} in DAQ partition {self.partition!r}"
        if not source.complete:
            raise ImageIncompleteError(name, str(source.location), self.partition)
        path = self._source_path(row.metadata, source.location)
        try:
            with open(path, "rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                if size != source.size:
                    raise TruncatedSourceError(what, source.size, size)
                words = np.empty(size // 4, dtype="<u4")
                got = stream.readinto(memoryview(words).cast("B"))
        except FileNotFoundError:
            evicted = self._catalog.evicted_image(name, folder)
            if evicted is not None and evicted.metadata.tag == row.metadata.tag:
                raise ImageEvictedError(name, folder, self.partition, evicted.evicted_at) from None
            raise TruncatedSourceError(what, source.size, 0) from None
        if got != size:
            raise TruncatedSourceError(what, source.size, got)
        if verify and source.checksum is not None:
            actual = zlib.crc32(words)
            if actual != source.checksum:
                raise CorruptSourceError(
                    f"{what}: CRC-32 {actual:08x} of the stored data does not match {source.checksum:08x} "
                    "recorded when it was written; the data are corrupt"
                )
        return words

    def capacity(self) -> StoreCapacity:
        return StoreCapacity(
            capacity=int(self._catalog.get_setting("capacity") or 0), used=self._catalog.used_bytes()
        )

    def stream(self, folder: str | None = "raw", *, newest_first: bool = False) -> EmulatedImageStream:
        if folder is not None:
            self._require_folder(folder)
        return EmulatedImageStream(self, folder, self.poll_interval, newest_first=newest_first)

    # administration ---------------------------------------------------------
    def set_capacity(self, capacity: int) -> None:
        """Set the byte budget; images beyond it are evicted at the next `create_image`."""
        if capacity <= 0:
            raise ValueError(f"DAQ store capacity must be > 0 bytes, got {capacity}")
        self._catalog.set_setting("capacity", str(int(capacity)))

    def create_folder(self, name: str) -> None:
        """Create a folder (no error if it exists)."""
        _check_name("folder", name)
        with self._catalog.transaction() as db:
            db.execute("INSERT OR IGNORE INTO folders (name, created) VALUES (?, ?)", (name, time.time()))

    def remove_folder(self, name: str) -> None:
        """Remove an empty folder.

        Raises
        ------
        FolderNotFoundError
            If the folder does not exist.
        ValueError
            If it still holds images.
        """
        self._require_folder(name)
        count = len(self._catalog.list_images(name, None, None, False))
        if count:
            raise ValueError(
                f"DAQ folder {name!r} of partition {self.partition!r} still holds {count} images"
            )
        with self._catalog.transaction() as db:
            db.execute("DELETE FROM folders WHERE name = ?", (name,))

    def remove_image(self, name: str, folder: str = "raw") -> None:
        """Delete an image and its data (as the DAQ's ``Image::remove``)."""
        row = self._find(name, folder)
        with self._catalog.transaction() as db:
            db.execute("DELETE FROM images WHERE seq = ?", (row.seq,))
        shutil.rmtree(self._image_dir(row.metadata), ignore_errors=True)

    # writing (emulation) ----------------------------------------------------
    def source_metadata(self, reb: Reb, registers: Mapping[str, int] | None = None) -> SourceMetadata:
        """The metadata of a new source of ``reb`` (camera geometry unless ``registers`` given)."""
        regs = dict(reb.detectors[0].layout.registers())
        if registers:
            regs.update(registers)
        serial = int.from_bytes(hashlib.blake2b(reb.name.encode(), digest_size=4).digest(), "little")
        source = SourceMetadata(
            location=reb.location,
            kind=reb.kind,
            registers=tuple(regs.items()),
            platform=self.camera.platform,
            firmware=0x3131_0003,
            serial_number=serial,
            daq_version=DEFAULT_DAQ_RELEASE,
        )
        return dataclasses.replace(source, size=source.expected_size)

    def create_image(
        self,
        name: str,
        folder: str = "raw",
        *,
        locations: Iterable[str | DaqLocation] | None = None,
        annotation: str = "",
        opcode: int = 0,
        timestamp: float | None = None,
        tag: int | None = None,
        registers: Mapping[str, int] | None = None,
    ) -> ImageMetadata:
        """Trigger a new image: add it to the catalog with empty sources.

        Evicts the oldest images if the new one does not fit.

        Parameters
        ----------
        name : `str`
            Image name (normally the obsid), at most 63 characters.
        folder : `str`
            Folder to create it in.
        locations : iterable of `str` or `DaqLocation`, optional
            REBs taking part; default every REB of the camera.
        annotation : `str`
            Free text, at most 63 characters.
        opcode : `int`
            Sequencer opcode.
        timestamp : `float`, optional
            Trigger time, TAI unix seconds; default now.
        tag : `int`, optional
            64-bit image id; default random.
        registers : mapping, optional
            Register values overriding the camera geometry for every
            source (e.g. small images in tests).

        Raises
        ------
        ImageExistsError
            If the folder already holds an image of that name.
        StoreCapacityError
            If the image is larger than the whole store.
        """
        _check_name("image name", name)
        if len(annotation) > _MAX_NAME:
            raise ValueError(f"DAQ annotation must be at most {_MAX_NAME} characters, got {len(annotation)}")
        self._require_folder(folder)
        rebs = self.camera.rebs if locations is None else tuple(self.camera.reb(loc) for loc in locations)
        rebs = tuple(sorted(set(rebs), key=lambda r: r.location))
        if not rebs:
            raise ValueError(f"image {name} needs at least one DAQ location")
        metadata = ImageMetadata(
            name=name,
            folder=folder,
            partition=self.partition,
            annotation=annotation,
            opcode=int(opcode),
            timestamp=time.time() + TAI_MINUS_UTC if timestamp is None else float(timestamp),
            tag=secrets.randbits(64) if tag is None else int(tag) & (2**64 - 1),
            release=DEFAULT_DAQ_RELEASE,
            sources=tuple(self.source_metadata(reb, registers) for reb in rebs),
        )
        capacity = self.capacity().capacity
        if metadata.size > capacity:
            raise StoreCapacityError(
                f"image {name} needs {metadata.size} bytes but DAQ partition {self.partition!r} "
                f"holds only {capacity}; raise the capacity"
            )
        if self._catalog.live_image(name, folder) is not None:
            raise ImageExistsError(name, folder, self.partition)
        self._evict_for(metadata.size, capacity)
        try:
            with self._catalog.transaction() as db:
                self._catalog.insert_image(db, metadata)
        except sqlite3.IntegrityError:
            # Another writer created the same name between our check and insert.
            raise ImageExistsError(name, folder, self.partition) from None
        self._image_dir(metadata).mkdir(parents=True, exist_ok=True)
        return metadata

    def write_source(
        self,
        name: str,
        location: str | DaqLocation,
        data: np.ndarray | bytes | bytearray | memoryview,
        folder: str = "raw",
    ) -> SourceMetadata:
        """Store one source's packed data and mark it complete.

        Raises
        ------
        TruncatedSourceError
            If ``data`` is not exactly the size the register list implies.
        """
        row = self._find(name, folder)
        source = row.metadata.source(location)
        buffer = (
            memoryview(data).cast("B")
            if not isinstance(data, np.ndarray)
            else memoryview(data.reshape(-1)).cast("B")
        )
        if buffer.nbytes != source.size:
            raise TruncatedSourceError(
                f"writing image {name} source {source.location} in DAQ partition {self.partition!r}",
                source.size,
                buffer.nbytes,
            )
        path = self._source_path(row.metadata, source.location)
        temp = path.with_suffix(".part")
        with open(temp, "wb") as stream:
            stream.write(buffer)
        os.replace(temp, path)
        checksum = zlib.crc32(buffer)
        self._catalog.mark_source_complete(row.seq, str(source.location), checksum)
        return dataclasses.replace(source, complete=True, checksum=checksum)

    def write_pixels(
        self,
        name: str,
        location: str | DaqLocation,
        pixels: np.ndarray | Sequence[np.ndarray],
        folder: str = "raw",
    ) -> SourceMetadata:
        """Encode per-detector, per-amplifier int32 pixels (FITS order) and store them.

        ``pixels`` has shape ``(n_detectors, n_amplifiers, naxis2, naxis1)``
        or is one ``(n_amplifiers, naxis2, naxis1)`` array per detector in
        `Reb.detectors` order; see `encode_source`.
        """
        source = self.find_image(name, folder).source(location)
        return self.write_source(name, source.location, encode_source(pixels, source.kind), folder)

    def write_generated(
        self,
        name: str,
        location: str | DaqLocation,
        generator: PixelGenerator | None = None,
        folder: str = "raw",
    ) -> SourceMetadata:
        """Generate a source's pixels with ``generator`` (seeded by ``name``) and store them."""
        generator = generator or PixelGenerator()
        source = self.find_image(name, folder).source(location)
        reb = self.camera.reb(source.location)
        first = reb.detectors[0]
        shape = (len(reb.detectors), first.n_amplifiers, source.naxis2, source.naxis1)
        if (source.naxis2, source.naxis1) == (first.layout.naxis2, first.layout.naxis1):
            pixels = generator.source_pixels(name, reb)
        else:
            pixels = _resized(generator.source_pixels(name, reb), shape)
        return self.write_pixels(name, source.location, pixels, folder)

    def add_image(
        self,
        name: str,
        folder: str = "raw",
        *,
        generator: PixelGenerator | None = None,
        locations: Iterable[str | DaqLocation] | None = None,
        annotation: str = "",
        opcode: int = 0,
        timestamp: float | None = None,
        tag: int | None = None,
        registers: Mapping[str, int] | None = None,
        repeat_sources: bool = False,
    ) -> ImageMetadata:
        """Create an image and write every source from the pixel generator.

        A blocking, CPU-heavy call (about 0.2 s per science REB): run it in
        a thread or process from asyncio code.

        With ``repeat_sources`` the pixels of the first source of each kind
        (science, wavefront, guider) and readout geometry (e2v, ITL) are generated and packed once and the
        same packed bytes are stored for every other source of that kind:
        an LSSTCam-shaped image (205 detectors) is then written at disk
        speed, for benchmarks; its REBs of one kind and geometry hold
        identical pixels.
        """
        image = self.create_image(
            name,
            folder,
            locations=locations,
            annotation=annotation,
            opcode=opcode,
            timestamp=timestamp,
            tag=tag,
            registers=registers,
        )
        packed: dict[tuple[RebKind, tuple[tuple[str, int], ...]], bytes] = {}
        for source in image.sources:
            if not repeat_sources:
                self.write_generated(name, source.location, generator, folder)
            elif (source.kind, source.registers) in packed:
                self.write_source(name, source.location, packed[source.kind, source.registers], folder)
            else:
                self.write_generated(name, source.location, generator, folder)
                packed[source.kind, source.registers] = self._source_path(image, source.location).read_bytes()
        return self.find_image(name, folder)

    # internals --------------------------------------------------------------
    def _require_folder(self, folder: str) -> None:
        if not self._catalog.has_folder(folder):
            raise FolderNotFoundError(folder, self.partition)

    def _find(self, name: str, folder: str) -> ImageRow:
        row = self._catalog.live_image(name, folder)
        if row is not None:
            return row
        self._require_folder(folder)
        evicted = self._catalog.evicted_image(name, folder)
        if evicted is not None:
            raise ImageEvictedError(name, folder, self.partition, evicted.evicted_at)
        raise ImageNotFoundError(name, folder, self.partition)

    def _image_dir(self, image: ImageMetadata) -> Path:
        return self._data_dir / image.tag_hex

    def _source_path(self, image: ImageMetadata, location: DaqLocation) -> Path:
        return self._image_dir(image) / f"{location.bay:02d}_{location.board}.dat"

    def _evict_for(self, needed: int, capacity: int) -> None:
        used = self._catalog.used_bytes()
        if used + needed <= capacity:
            return
        victims = []
        for seq, _name, _folder, size in self._catalog.oldest_live():
            if used + needed <= capacity:
                break
            victims.append(seq)
            used -= size
        now = time.time()
        with self._catalog.transaction() as db:
            for seq in victims:
                db.execute("UPDATE images SET evicted_at = ? WHERE seq = ?", (now, seq))
        for seq in victims:
            row = self._catalog.image_by_seq(seq)
            if row is not None:
                shutil.rmtree(self._image_dir(row.metadata), ignore_errors=True)


def _resized(pixels: np.ndarray, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Crop (or tile) generated full-size amplifiers to a custom readout geometry."""
    ny, nx = shape[2], shape[3]
    reps = (1, 1, -(-ny // pixels.shape[2]), -(-nx // pixels.shape[3]))
    tiled = np.tile(pixels, reps) if reps[2] > 1 or reps[3] > 1 else pixels
    return np.ascontiguousarray(tiled[:, :, :ny, :nx])
