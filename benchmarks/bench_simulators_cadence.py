#!/usr/bin/env python
"""Camera simulator: time to put one image into the DAQ emulator, and event-loop lag meanwhile.

On the same camera image (ComCam by default: 3 science REBs, full geometry),
in one run:

* floor: ``numpy.ndarray.tofile`` of the packed bytes of the image (what
  merely writing them to the page cache costs);
* ours: `DaqImageWriter` (trigger + pixel generation + 18-bit packing +
  file writes in its worker thread), with a 10 ms asyncio ticker measuring
  how late the event loop runs meanwhile (heartbeats and command acks
  depend on it); and the same with a pool of 2 writer processes;
* reference: the same work called directly on the event loop
  (``EmulatedDaqStore.add_image``), i.e. what a naive simulator would do.

It prints seconds per image, the ratio to the floor, the worst loop lag of
each, and the projected LSSTCam time (71 REBs, scaled from the per-REB
time; ``--camera LSSTCam`` measures it for real, about 40 s per image on a
2-core VM) against the 17 s cadence.

Run: ``.venv/bin/python benchmarks/bench_simulators_cadence.py [--camera LSSTComCam] [--images 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable

import numpy as np

from lsst.ts.archiver.camera import LSSTCAM, get_camera
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.simulators import DaqImageWriter

CADENCE = 17.0  # seconds between LSSTCam images (15 s exposure + 2 s readout)


async def _with_lag(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Run ``work``; return (wall seconds, worst lateness of a 10 ms ticker)."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            expected = loop.time() + 0.01
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - expected)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - start
    done.set()
    await tick
    return elapsed, worst


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--camera", default="LSSTComCam", help="Camera name (LSSTComCam, LATISS, LSSTCam).")
    parser.add_argument("--images", type=int, default=2, help="Images per method (best is reported).")
    args = parser.parse_args()
    camera = get_camera(args.camera)
    generator = PixelGenerator()
    with tempfile.TemporaryDirectory() as root:
        store = EmulatedDaqStore(root, camera.partition)
        writer = DaqImageWriter(store, generator=generator)
        pool_writer = DaqImageWriter(store, generator=generator, processes=2)
        locations = list(camera.locations)
        try:
            ours, ours_lag, pool, pool_lag, ref, ref_lag, floor = [], [], [], [], [], [], []
            # Start the writer processes (spawn + imports) before timing.
            await pool_writer.trigger(
                f"{camera.camera_code}_O_20261123_000001", locations[:1], annotation="", timestamp=0.0
            )
            await pool_writer.write_sources(f"{camera.camera_code}_O_20261123_000001", locations[:1])
            for i in range(args.images):
                name = f"{camera.camera_code}_O_20261124_{3 * i + 1:06d}"

                async def via_writer(name: str = name) -> None:
                    await writer.trigger(name, locations, annotation="bench", timestamp=time.time())
                    await writer.write_sources(name, locations)

                elapsed, lag = await _with_lag(via_writer)
                ours.append(elapsed)
                ours_lag.append(lag)

                pool_name = f"{camera.camera_code}_O_20261124_{3 * i + 3:06d}"

                async def via_pool(name: str = pool_name) -> None:
                    await pool_writer.trigger(name, locations, annotation="bench", timestamp=time.time())
                    await pool_writer.write_sources(name, locations)

                elapsed, lag = await _with_lag(via_pool)
                pool.append(elapsed)
                pool_lag.append(lag)

                direct_name = f"{camera.camera_code}_O_20261124_{3 * i + 2:06d}"

                async def direct(name: str = direct_name) -> None:
                    store.add_image(name, generator=generator)

                elapsed, lag = await _with_lag(direct)
                ref.append(elapsed)
                ref_lag.append(lag)

                size = store.find_image(name).size
                data = np.frombuffer(os.urandom(size), dtype=np.uint8)
                path = os.path.join(root, "floor.bin")
                start = time.perf_counter()
                data.tofile(path)
                floor.append(time.perf_counter() - start)
                os.unlink(path)
                for old in (name, direct_name, pool_name):
                    store.remove_image(old)
        finally:
            writer.close()
            pool_writer.close()
            store.close()
    n_rebs = len(camera.rebs)
    best_ours, best_pool, best_ref, best_floor = min(ours), min(pool), min(ref), min(floor)
    print(f"camera {camera.name}: {n_rebs} REBs, {size / 1e6:.0f} MB packed per image, best of {args.images}")
    print(f"  floor  numpy.tofile of the packed bytes : {best_floor:7.2f} s")
    print(
        f"  ours   DaqImageWriter (worker thread)  : {best_ours:7.2f} s  "
        f"({best_ours / best_floor:.1f}x floor), worst loop lag {max(ours_lag) * 1e3:6.0f} ms"
    )
    print(
        f"  ours   DaqImageWriter (2 processes)    : {best_pool:7.2f} s  "
        f"({best_pool / best_floor:.1f}x floor), worst loop lag {max(pool_lag) * 1e3:6.0f} ms"
    )
    print(
        f"  ref    add_image on the event loop     : {best_ref:7.2f} s  "
        f"({best_ref / best_floor:.1f}x floor), worst loop lag {max(ref_lag) * 1e3:6.0f} ms"
    )
    print(f"  loop lag ratio ref/ours: {max(ref_lag) / max(max(ours_lag), 1e-4):.0f}x")
    for label, best in (("thread", best_ours), ("2 processes", best_pool)):
        per_reb = best / n_rebs
        lsstcam = per_reb * len(LSSTCAM.rebs)
        print(
            f"  LSSTCam projection, {label} ({len(LSSTCAM.rebs)} REBs at {per_reb:.2f} s/REB): {lsstcam:.1f} s "
            f"per image vs. a {CADENCE:.0f} s cadence ({lsstcam / CADENCE:.1f}x)"
        )


if __name__ == "__main__":
    asyncio.run(main())
