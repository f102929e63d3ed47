"""Catch-Up Archiver: backlog throughput, and live latency with and without a draining backlog.

One process, in-memory SAL (``LSST_SITE=test``, a test topic sub-name, as
``tests/archiver/csc/conftest.py`` sets up for the CSC tests). A CCArchiver
CSC (`lsst.ts.archiver.testing.running_archiver`, configuration from
`write_config_dir`: 2 capture workers, OODS destination with direct Butler
ingest + DBB destination with a copying ingest, SQLite ledger) runs with
``catch_up = {rate: 600, priority: -10, concurrency: C}``, no real Header
Service wait (``header_service.wait_timeout`` 1 s) and a 2 s DAQ wait.

1. Catch-up throughput: N ComCam images (9 CCDs each, no cosmic rays)
   are written to an emulated DAQ store first, as
   ``CC_O_20261123_000001``..., with no camera events: nothing archives
   them until ``catchUp`` for day_obs 20261123. Timed from the command to
   the N-th ``imageArchived``; printed as images per minute and as a ratio
   to the live cadence (one image per 17 s, 3.53 images/min; the technote
   sizes catch-up at 4x that).
2. Live latency: the ComCam camera and Header Service simulators
   (`lsst.ts.archiver.simulators.start_simulated_system`) take K images one
   at a time, each waited for before the next (latency without queueing).
   Latency of one image = from the return of ``take_images`` (its
   ``endOfImageTelemetry`` has been published) to its ``imageArchived``.
   One warm-up image first (not counted, so (a) does not include the
   CSC's first image); then (a) with nothing else to do; (b) after N
   backlog images were added to the simulator's own DAQ store as
   ``CC_O_20261123_000901``... (a day and sequence numbers the simulator,
   which names images by today's day_obs, never uses) and ``catchUp`` was
   issued for that day. Once the backlog
   is drained, (b) measures the same as (a), so each (b) image is marked
   ``*`` if backlog images were still unarchived when its own
   ``imageArchived`` arrived (it overlapped the drain throughout).
   Printed: p50 of each and the ratio (b)/(a) (the issue's target is
   within 1.2x), and the same for the marked images alone.
   Live latencies on this machine vary by a factor of 2 or more from
   image to image (and images after the drain were often faster than
   those of (a)), so with the default K the ratios are indicative only.

Everything lives in temporary directories removed at exit; the CSC and the
simulators are closed. Timings are printed, never asserted.

This machine has 2 cores: the two capture workers, FITS writing, both
ingests, the simulators and this process share them, so a catch-up image
competes for the same CPU as the live one; the ratios are a property of
this machine as much as of the design.

Default run (about 3-4 minutes on a 2-core VM): N=6, K=4, C=1, one warm-up image.

Usage: ``.venv/bin/python benchmarks/bench_catch_up.py [--images N] [--live K] [--concurrency C] [--warm-up W] [--exp-time S]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lsst.ts import salkit

from lsst.ts.archiver.camera import ImageName, get_camera
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.simulators import start_simulated_system
from lsst.ts.archiver.testing import running_archiver, write_config_dir

CAMERA = get_camera("LSSTComCam")
BACKLOG_DAY = 20261123
"""day_obs of every backlog image (never today's: the simulator names live images by today)."""
LIVE_BACKLOG_FIRST_SEQ = 901
"""First sequence number of the backlog added next to the simulator's live images."""
CADENCE = 17.0
"""Seconds between images at the live cadence."""
TECHNOTE_FACTOR = 4.0
"""Catch-up throughput the technote sizes for, as a multiple of the capture rate."""
TIMEOUT = 900.0
"""Longest wait for any image (s)."""


def set_up_environment() -> None:
    """Select the test site, the in-memory SAL transport and a fresh test topic sub-name."""
    os.environ["LSST_SITE"] = "test"
    os.environ[salkit.TRANSPORT_ENV_VAR] = "memory"
    os.environ[salkit.TOPIC_SUBNAME_ENV_VAR] = salkit.make_test_topic_subname()


def pixel_generator() -> PixelGenerator:
    """Plain pixels (no cosmic rays or saturated spots), for the backlog and the simulator alike."""
    return PixelGenerator(cosmic_rays=0, saturated_spots=0)


def backlog_names(n_images: int, first_seq: int) -> list[str]:
    """Names of ``n_images`` ComCam images of `BACKLOG_DAY` from sequence number ``first_seq``."""
    return [
        ImageName(CAMERA.camera_code, "O", BACKLOG_DAY, seq).obsid
        for seq in range(first_seq, first_seq + n_images)
    ]


async def add_backlog(store: EmulatedDaqStore, names: Iterable[str]) -> float:
    """Write each image to the DAQ store (in a thread); return the seconds it took."""
    started = time.monotonic()
    for name in names:
        await asyncio.to_thread(store.add_image, name, generator=pixel_generator())
    return time.monotonic() - started


def archiver_config(root: Path, daq_root: Path, concurrency: int) -> Path:
    """Write the CCArchiver's configuration under ``root``, reading the DAQ store at ``daq_root``."""
    return write_config_dir(
        CAMERA.archiver_name,
        root,
        daq={"root": str(daq_root), "wait_timeout": 2.0},
        header_service={"name": "", "wait_timeout": 1.0},
        catch_up={"rate": 600.0, "priority": -10, "concurrency": concurrency},
    )


class ArchivedClock:
    """When each ``imageArchived`` arrived (monotonic seconds), by obsid.

    Wraps the callback the `EventLog` put on the remote's
    ``evt_imageArchived``, so the log still collects every sample.
    """

    def __init__(self, remote: salkit.Remote) -> None:
        self.times: dict[str, float] = {}
        self.status: dict[str, int] = {}
        self._changed = asyncio.Event()
        topic = remote.evt_imageArchived  # type: ignore[attr-defined]
        self._previous = topic.callback
        topic.callback = self._on_sample

    def _on_sample(self, data: Any) -> None:
        self.times.setdefault(data.obsid, time.monotonic())
        self.status.setdefault(data.obsid, data.statusCode)
        if self._previous is not None:
            self._previous(data)
        self._changed.set()

    def pending(self, names: Iterable[str]) -> list[str]:
        """The names without an ``imageArchived`` yet."""
        return [name for name in names if name not in self.times]

    async def wait(self, names: Iterable[str], timeout: float = TIMEOUT) -> float:
        """Wait until every name has its ``imageArchived``; return when the last one arrived."""
        wanted = list(names)
        deadline = time.monotonic() + timeout
        while left := self.pending(wanted):
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no imageArchived after {timeout:.0f} s for {', '.join(left)}")
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=remaining)
            except TimeoutError:
                pass
        return max(self.times[name] for name in wanted)


async def catch_up(remote: salkit.Remote) -> None:
    """Issue ``catchUp`` for `BACKLOG_DAY` (acknowledged once the run is planned and started)."""
    day = str(BACKLOG_DAY)
    await remote.cmd_catchUp.set_start(startDate=day, endDate=day, timeout=60)  # type: ignore[attr-defined]


async def measure_throughput(n_images: int, concurrency: int) -> dict[str, Any]:
    """Part 1: time catch-up of an ``n_images`` backlog from ``catchUp`` to the last ``imageArchived``."""
    with tempfile.TemporaryDirectory(prefix="bench_catch_up_") as tmp:
        root = Path(tmp)
        names = backlog_names(n_images, 1)
        store = EmulatedDaqStore(root / "daq", CAMERA.partition)
        try:
            write_seconds = await add_backlog(store, names)
        finally:
            store.close()
        config_dir = archiver_config(root, root / "daq", concurrency)
        async with running_archiver(CAMERA.archiver_name, config_dir) as (csc, remote, log):
            clock = ArchivedClock(remote)
            started = time.monotonic()
            await catch_up(remote)
            finished = await clock.wait(names)
            await log.wait_for("evt_imageArchived", n_images, timeout=60)
    elapsed = finished - started
    return {
        "n": n_images,
        "write_s": write_seconds,
        "elapsed": elapsed,
        "per_min": n_images / elapsed * 60.0,
        "failed": sum(1 for name in names if clock.status.get(name, 0) != 0),
    }


async def take_live(system: Any, clock: ArchivedClock, exp_time: float) -> float:
    """Take one live image and wait for its ``imageArchived``; return its latency (s)."""
    [name] = await system.take_images(1, exp_time=exp_time)
    telemetry = time.monotonic()
    archived = await clock.wait([name])
    return archived - telemetry


async def live_series(
    system: Any, clock: ArchivedClock, k_images: int, exp_time: float, backlog: list[str]
) -> list[tuple[float, bool]]:
    """Take ``k_images`` live images one after another.

    Returns, per image, its latency and whether some of ``backlog`` was
    still unarchived when its ``imageArchived`` arrived (so the backlog
    drained during the whole of it).
    """
    results: list[tuple[float, bool]] = []
    for _ in range(k_images):
        latency = await take_live(system, clock, exp_time)
        results.append((latency, bool(clock.pending(backlog))))
    return results


async def measure_live(
    n_backlog: int, k_images: int, concurrency: int, exp_time: float, warm_up: int
) -> dict[str, Any]:
    """Part 2: live latencies (a) alone, then (b) while an ``n_backlog`` catch-up drains."""
    with tempfile.TemporaryDirectory(prefix="bench_catch_up_live_") as tmp:
        root = Path(tmp)
        system = await start_simulated_system(CAMERA.name, root / "sim", pixel_generator=pixel_generator())
        try:
            config_dir = archiver_config(root, system.daq_root, concurrency)
            async with running_archiver(CAMERA.archiver_name, config_dir) as (csc, remote, log):
                clock = ArchivedClock(remote)
                warm = [latency for latency, _ in await live_series(system, clock, warm_up, exp_time, [])]
                alone = [latency for latency, _ in await live_series(system, clock, k_images, exp_time, [])]
                names = backlog_names(n_backlog, LIVE_BACKLOG_FIRST_SEQ)
                write_seconds = await add_backlog(system.daq_store, names)
                started = time.monotonic()
                await catch_up(remote)
                series = await live_series(system, clock, k_images, exp_time, names)
                drained = await clock.wait(names)
        finally:
            await system.close()
    busy = [latency for latency, _ in series]
    overlapped = [latency for latency, during in series if during]
    p50_alone, p50_busy = statistics.median(alone), statistics.median(busy)
    p50_overlapped = statistics.median(overlapped) if overlapped else float("nan")
    return {
        "k": k_images,
        "n": n_backlog,
        "warm": warm,
        "alone": alone,
        "busy": busy,
        "p50_alone": p50_alone,
        "p50_busy": p50_busy,
        "ratio": p50_busy / p50_alone,
        "marks": [during for _, during in series],
        "overlapped": len(overlapped),
        "p50_overlapped": p50_overlapped,
        "ratio_overlapped": p50_overlapped / p50_alone,
        "write_s": write_seconds,
        "drain_s": drained - started,
    }


def print_throughput(result: dict[str, Any], concurrency: int) -> None:
    """Print part 1."""
    live_rate = 60.0 / CADENCE
    ratio = result["per_min"] / live_rate
    print(
        f"1. catch-up of {result['n']} ComCam images (concurrency {concurrency}; "
        f"backlog written in {result['write_s']:.1f} s, not timed)",
        flush=True,
    )
    print(
        f"   catchUp -> last imageArchived: {result['elapsed']:.1f} s = {result['per_min']:.2f} images/min "
        f"= {ratio:.2f}x the live cadence ({live_rate:.2f} images/min; technote: {TECHNOTE_FACTOR:.0f}x); "
        f"failed: {result['failed']}",
        flush=True,
    )


def print_live(result: dict[str, Any]) -> None:
    """Print part 2."""

    def seconds(values: list[float], marks: list[bool] | None = None) -> str:
        marks = marks or [False] * len(values)
        return ", ".join(f"{v:.2f}{'*' if m else ''}" for v, m in zip(values, marks, strict=True))

    print(
        f"2. live ComCam latency, take_images return -> imageArchived, {result['k']} images each", flush=True
    )
    print(f"   warm-up (not counted): [{seconds(result['warm'])}]", flush=True)
    print(
        f"   (a) no backlog:      p50 {result['p50_alone']:.2f} s  [{seconds(result['alone'])}]", flush=True
    )
    print(
        f"   (b) {result['n']}-image backlog: p50 {result['p50_busy']:.2f} s  "
        f"[{seconds(result['busy'], result['marks'])}]  (* = backlog still draining when archived; "
        f"backlog written in {result['write_s']:.1f} s before catchUp, drained {result['drain_s']:.1f} s after it)",
        flush=True,
    )
    print(
        f"   (b)/(a) = {result['ratio']:.2f} (target <= 1.2); * images only: p50 {result['p50_overlapped']:.2f} s, "
        f"{result['ratio_overlapped']:.2f}x ({result['overlapped']}/{result['k']})",
        flush=True,
    )


def print_summary(throughput: dict[str, Any], live: dict[str, Any], concurrency: int) -> None:
    """Print the summary block and what limits the numbers here."""
    live_rate = 60.0 / CADENCE
    print()
    print(f"Summary ({os.cpu_count()}-core machine, one process, in-memory SAL):")
    print(
        f"  catch-up throughput   {throughput['per_min']:6.2f} images/min  "
        f"{throughput['per_min'] / live_rate:5.2f}x live cadence (technote: {TECHNOTE_FACTOR:.0f}x)"
    )
    print(f"  live p50, no backlog  {live['p50_alone']:6.2f} s")
    print(
        f"  live p50, backlog     {live['p50_busy']:6.2f} s          {live['ratio']:5.2f}x (target <= 1.2x)"
    )
    print(
        f"  ... drain overlapped  {live['p50_overlapped']:6.2f} s          {live['ratio_overlapped']:5.2f}x "
        f"({live['overlapped']}/{live['k']} live images; K={live['k']} is too few for a firm p50)"
    )
    print(
        f"  Limits here: {os.cpu_count()} cores shared by the 2 capture workers, FITS writing, the OODS and DBB ingests,\n"
        f"  the simulators (writing DAQ sources) and the benchmark; catch-up concurrency {concurrency}, rate\n"
        f"  600/min (not binding). A catch-up image being captured or ingested shares the capture\n"
        f"  workers and the cores with a live one: the catch-up gate limits how many, it does not pause them.",
        flush=True,
    )


async def main() -> None:
    """Parse the options, run both parts and print the results."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=6, help="Backlog ComCam images N (default 6).")
    parser.add_argument("--live", type=int, default=4, help="Live images K per case (default 4).")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="catch_up.concurrency: backlog images at once (default 1)."
    )
    parser.add_argument(
        "--warm-up", type=int, default=1, help="Live images before (a), not counted (default 1)."
    )
    parser.add_argument("--exp-time", type=float, default=1.0, help="Live exposure time, s (default 1).")
    args = parser.parse_args()
    if args.images < 1 or args.live < 1 or args.warm_up < 0 or not 1 <= args.concurrency <= 16:
        parser.error("--images and --live must be >= 1, --warm-up >= 0, --concurrency 1..16")
    set_up_environment()
    print(f"{os.cpu_count()} cores; ComCam ({len(CAMERA.detectors)} CCDs per image)", flush=True)
    throughput = await measure_throughput(args.images, args.concurrency)
    print_throughput(throughput, args.concurrency)
    live = await measure_live(args.images, args.live, args.concurrency, args.exp_time, args.warm_up)
    print_live(live)
    print_summary(throughput, live, args.concurrency)


if __name__ == "__main__":
    asyncio.run(main())
