"""Several processes read the same image of one emulated DAQ store at once,
while the writer adds another: every reader gets every source intact."""

from __future__ import annotations

import multiprocessing
import zlib
from pathlib import Path

import pytest

from lsst.ts.archiver.camera import LSSTCAM
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.testing import STD_TIMEOUT

pytestmark = pytest.mark.integration  # starts reader processes

NAME = "MC_O_20261123_000007"
READERS = 4
ROUNDS = 3
# Reduced amplifiers (96 x 64 samples): an LSSTCam-shaped image of 205 detectors in a second.
REGISTERS = {"UnderCols": 3, "ReadCols": 61, "OverCols": 32, "ReadRows": 48, "OverRows": 16}


def read_every_source(root: str, name: str, start: multiprocessing.synchronize.Barrier) -> dict[str, int]:
    """In a reader process: open the store read-only, wait for the others, read every source."""
    store = EmulatedDaqStore(root, "camera", create=False)
    try:
        locations = store.find_image(name).locations
        start.wait(timeout=STD_TIMEOUT)
        crcs: dict[str, int] = {}
        for _ in range(ROUNDS):
            for location in locations:
                crcs[str(location)] = zlib.crc32(store.read_source(name, location, verify=True))
        return crcs
    finally:
        store.close()


def test_several_reader_processes_read_the_same_image_while_the_writer_writes(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path, "camera")
    generator = PixelGenerator(cosmic_rays=0)
    image = store.add_image(NAME, registers=REGISTERS, generator=generator, repeat_sources=True)
    assert image.complete and len(image.sources) == len(LSSTCAM.rebs)
    expected = {str(s.location): s.checksum for s in image.sources}
    context = multiprocessing.get_context("spawn")
    start = context.Manager().Barrier(READERS + 1)
    with context.Pool(READERS) as pool:
        results = [pool.apply_async(read_every_source, (str(tmp_path), NAME, start)) for _ in range(READERS)]
        start.wait(timeout=STD_TIMEOUT)
        # The writer keeps writing (catalog transactions, new files) while they read.
        store.add_image("MC_O_20261123_000008", registers=REGISTERS, generator=generator, repeat_sources=True)
        crcs = [result.get(timeout=STD_TIMEOUT) for result in results]
    assert crcs == [expected] * READERS
    assert store.find_image("MC_O_20261123_000008").complete
    store.close()


def test_repeated_sources_hold_one_packed_source_per_kind_and_geometry(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path, "camera")
    image = store.add_image(NAME, registers=REGISTERS, generator=PixelGenerator(), repeat_sources=True)
    by_geometry: dict[tuple[object, object], set[int | None]] = {}
    for source in image.sources:
        by_geometry.setdefault((source.kind, source.registers), set()).add(source.checksum)
    assert len(image.sources) == 71 and sum(len(r.detectors) for r in LSSTCAM.rebs) == 205
    assert all(len(checksums) == 1 for checksums in by_geometry.values())
    assert len(by_geometry) < 6  # science e2v/ITL, wavefront, guider
    store.close()
