"""Writing simulated images into the DAQ emulator without blocking asyncio.

Every store call runs in one worker thread, in order: triggering an image
(catalog insert, possibly evicting old images) and writing its sources
(pixel generation, 18-bit packing, file writes; 30-45 s for a full
LSSTCam image on a 2-core machine). The event loop stays free for
heartbeats and command acknowledgements. Optionally the sources are
written by a pool of processes instead (each opens the store itself; the
SQLite catalog serialises their updates), which uses more cores.
"""

from __future__ import annotations

__all__ = ["DaqImageWriter"]

import asyncio
import concurrent.futures
import functools
import multiprocessing
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ..camera import DaqLocation
from ..daq import EmulatedDaqStore, ImageMetadata, PixelGenerator

_T = TypeVar("_T")

# Stores opened by the writer processes, by (root, partition).
_process_stores: dict[tuple[str, str], EmulatedDaqStore] = {}


def _write_source_in_process(
    root: str, partition: str, name: str, location: str, generator: PixelGenerator, folder: str
) -> None:
    """Write one generated source (runs in a writer process)."""
    store = _process_stores.get((root, partition))
    if store is None:
        store = _process_stores[(root, partition)] = EmulatedDaqStore(root, partition)
    store.write_generated(name, location, generator, folder)


class DaqImageWriter:
    """Triggers and writes images in an `EmulatedDaqStore` from a worker thread.

    Parameters
    ----------
    store : `EmulatedDaqStore`
        The store (owned by the caller; not closed by `close`).
    registers : `~collections.abc.Mapping` [`str`, `int`], optional
        Register values overriding the readout geometry of every source
        (e.g. ``{"ReadRows": 8, "OverRows": 2, "ReadCols": 8, ...}`` for
        tiny fast images); None: the camera's real geometry.
    generator : `PixelGenerator`, optional
        Pixel content; default `PixelGenerator()` (bias and noise).
    folder : `str`
        DAQ folder to write into.
    processes : `int`
        Write sources with this many processes; 0 writes them in the
        worker thread.
    """

    def __init__(
        self,
        store: EmulatedDaqStore,
        *,
        registers: Mapping[str, int] | None = None,
        generator: PixelGenerator | None = None,
        folder: str = "raw",
        processes: int = 0,
    ) -> None:
        if processes < 0:
            raise ValueError(f"processes={processes} must be >= 0")
        self.store = store
        self.registers = dict(registers) if registers else None
        self.generator = generator or PixelGenerator()
        self.folder = folder
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"daq-writer-{store.partition}"
        )
        self._processes = (
            concurrent.futures.ProcessPoolExecutor(
                max_workers=processes, mp_context=multiprocessing.get_context("spawn")
            )
            if processes
            else None
        )

    async def _run(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(func, *args, **kwargs))

    async def names_since(self, since: float) -> list[str]:
        """Names of the images (any folder, evicted ones excluded) triggered since ``since`` (TAI)."""
        images: list[ImageMetadata] = await self._run(self.store.list_images, None, since=since)
        return [image.name for image in images]

    async def trigger(
        self,
        name: str,
        locations: Sequence[DaqLocation],
        *,
        annotation: str,
        timestamp: float,
    ) -> ImageMetadata:
        """Create the image in the catalog with empty sources (the DAQ trigger)."""
        metadata: ImageMetadata = await self._run(
            self.store.create_image,
            name,
            self.folder,
            locations=locations,
            annotation=annotation,
            timestamp=timestamp,
            registers=self.registers,
        )
        return metadata

    def _write_all(self, name: str, locations: Sequence[DaqLocation]) -> float:
        start = time.monotonic()
        for location in locations:
            self.store.write_generated(name, location, self.generator, self.folder)
        return time.monotonic() - start

    async def write_sources(self, name: str, locations: Sequence[DaqLocation]) -> float:
        """Write every source of a triggered image; return the seconds it took."""
        if self._processes is None:
            seconds: float = await self._run(self._write_all, name, locations)
            return seconds
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        root = os.fspath(self.store.directory.parent)
        await asyncio.gather(
            *(
                loop.run_in_executor(
                    self._processes,
                    _write_source_in_process,
                    root,
                    self.store.partition,
                    name,
                    str(location),
                    self.generator,
                    self.folder,
                )
                for location in locations
            )
        )
        return time.monotonic() - start

    def close(self) -> None:
        """Stop the worker thread (and processes) after the work already queued."""
        self._executor.shutdown(wait=True)
        if self._processes is not None:
            self._processes.shutdown(wait=True)
