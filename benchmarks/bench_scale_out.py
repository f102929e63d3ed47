"""Capture scale-out on Redis Streams: 1, 2 and 4 ``run_archiver_worker`` processes vs the copy floor.

LSSTCam-shaped images (all 205 detectors in 71 REB sources: 189 science, 8
wavefront, 8 guider) with a reduced amplifier size (``--amp-scale`` of the
imaging and overscan rows and columns, printed) are written to an emulated
DAQ store with ``EmulatedDaqStore.add_image(repeat_sources=True)`` (one
packed source per kind and geometry, stored for every REB of that kind).
The reduced geometry is a copy of the LSSTCam model with smaller
amplifiers (`scaled_camera`), used by the store and by the workers: each
worker is ``run_archiver_worker``'s ``main`` started through this script
(``--worker-process``), which only installs that camera for the
``camera`` partition, so decode, FITS writing, checksums and sidecars run
unchanged. A private ``redis-server`` (`TemporaryRedis`) on a free
loopback port carries one capture task per REB from a `RedisCapturePool`
to N worker processes, as in ``tests/archiver/capture/test_redis_capture.py``;
the workers first capture a few warm-up sources, then every image's tasks
are handed to the pool, at most 64 at once (more than redis.asyncio's 100
connections fail to publish and wait for a republish), and the run ends
when every outcome is back.

Printed, all measured in this one run on the same data:

* per N: images per minute, scale-out efficiency (throughput with N /
  (N x throughput with 1)), images per minute per core in use, that rate
  scaled to full-size LSSTCam (by the ratio of pixels; per-file costs are
  scaled too, so this is pessimistic) and the cores needed for one image
  every 17 s; each worker's peak RSS (VmHWM) next to the decoded pixels of
  one science source;
* the floor: reading the same packed bytes from the DAQ store and writing
  them to the staging directory (no decode, no FITS), in this process,
  scaled the same way;
* a kill run: a worker holding a task is SIGKILLed; the time until another
  worker reclaims the task, and the loss count (detectors not archived;
  must be 0).

This machine has 2 cores: N=4 is oversubscribed and N=2 shares its cores
with the pool, Redis and this process, so efficiencies at N >= 2 are a
lower bound set by the machine, not by the design.

Default run (about 3 minutes on a 2-core VM): 3 images, N = 1, 2, 4,
amp-scale 0.125 (about 1/64 of the pixels).

Usage: ``.venv/bin/python benchmarks/bench_scale_out.py [--images N] [--workers 1,2,4] [--amp-scale F]``
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from lsst.ts.archiver.camera import LSSTCAM, Camera, ImageName, make_amplifiers
from lsst.ts.archiver.capture import (
    CaptureOptions,
    CaptureStatus,
    CaptureTask,
    RedisCapturePool,
    RedisQueueNames,
    SourceOutcome,
)
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator, SourceMetadata, stream_layout
from lsst.ts.archiver.fits import ExposureMetadata
from lsst.ts.archiver.testing import TemporaryRedis

CADENCE = 17.0
"""Seconds between LSSTCam images."""
LEASE = 2.0
TIMEOUT = 900.0
IN_FLIGHT = 64
"""Tasks handed to the pool at once: below redis.asyncio's 100 connections (more fail to publish)."""
_log = logging.getLogger("bench_scale_out")


def scaled_camera(scale: float) -> Camera:
    """LSSTCam with every amplifier's imaging rows and columns (and overscans) scaled by ``scale``.

    The DAQ store writes sources of this geometry and the workers capture
    them with it (`worker_main` installs it), so the whole capture path
    (decode, FITS, checksums, sidecars) runs unchanged on smaller pixels.
    """
    if scale >= 1:
        return LSSTCAM

    def scaled(detector: Any) -> Any:
        layout = detector.layout
        small = dataclasses.replace(
            layout,
            data_rows=max(50, round(layout.data_rows * scale)),
            overscan_rows=max(1, round(layout.overscan_rows * scale)),
            data_cols=max(8, round(layout.data_cols * scale)),
            overscan_cols=max(1, round(layout.overscan_cols * scale)),
        )
        amplifiers = make_amplifiers(small, wavefront_half=len(detector.amplifiers) == 8)
        return dataclasses.replace(detector, layout=small, amplifiers=amplifiers)

    rebs = tuple(
        dataclasses.replace(reb, detectors=tuple(scaled(d) for d in reb.detectors)) for reb in LSSTCAM.rebs
    )
    return dataclasses.replace(LSSTCAM, rebs=rebs)


def worker_main(scale: float, argv: list[str]) -> int:
    """A ``run_archiver_worker`` process whose DAQ store sees the scaled LSSTCam geometry."""
    from lsst.ts.archiver.capture import redis_worker
    from lsst.ts.archiver.daq import emulator

    camera = scaled_camera(scale)
    by_partition = emulator.camera_for_partition
    emulator.camera_for_partition = lambda p: camera if p == camera.partition else by_partition(p)  # type: ignore[assignment]
    return redis_worker.main(argv)


def queue_names(run: str) -> RedisQueueNames:
    return RedisQueueNames(
        task_stream=f"archiver:bench:{run}:tasks",
        result_stream=f"archiver:bench:{run}:results",
        worker_group="capture-workers",
        result_group="archiver",
    )


def image_tasks(store: EmulatedDaqStore, obsid: str, options: CaptureOptions) -> list[CaptureTask]:
    metadata = ExposureMetadata(obsid=obsid, imgtype="FLAT", exptime=1.0)
    return [
        CaptureTask(
            options=options,
            obsid=obsid,
            location=str(source.location),
            detectors=tuple(d.name for d in LSSTCAM.reb(source.location).detectors),
            metadata=metadata,
        )
        for source in store.find_image(obsid).sources
    ]


def decoded_bytes(source: SourceMetadata) -> int:
    """Bytes of a source's decoded int32 pixels (every amplifier of every detector of the REB)."""
    layout = stream_layout(source.kind)
    return layout.n_detectors * layout.amps_per_detector * source.n_samples * 4


def losses(outcomes: list[SourceOutcome], tasks: list[CaptureTask]) -> int:
    """Detectors of the tasks without an OK outcome and a file on disk."""
    archived = {
        (o.obsid, d.name)
        for o in outcomes
        for d in o.detectors
        if d.status is CaptureStatus.OK and d.path and os.path.exists(d.path)
    }
    lost = sum((t.obsid, name) not in archived for t in tasks for name in t.detectors)
    if lost:
        failed = next(d for o in outcomes for d in o.detectors if (o.obsid, d.name) not in archived)
        print(
            f"  {lost} detectors not archived, e.g. {failed.name}: {failed.status.name} {failed.description}"
        )
    return lost


def peak_rss(pid: int) -> int:
    """VmHWM of a live process, bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


class Workers:
    """``run_archiver_worker`` processes of one run."""

    def __init__(self, url: str, names: RedisQueueNames, log_dir: Path, scale: float) -> None:
        self.url, self.names, self.log_dir, self.scale = url, names, log_dir, scale
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    f"--worker-process={self.scale}",
                    "--",
                    f"--redis-url={self.url}",
                    f"--task-stream={self.names.task_stream}",
                    f"--result-stream={self.names.result_stream}",
                    f"--worker-group={self.names.worker_group}",
                    f"--lease={LEASE}",
                    f"--name={name}",
                    "--log-level=WARNING",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def peak_rss(self) -> dict[str, int]:
        return {n: peak_rss(p.pid) for n, p in self.processes.items() if p.poll() is None}

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


async def run_all(pool: RedisCapturePool, tasks: list[CaptureTask]) -> list[SourceOutcome]:
    """Every task through the pool, at most `IN_FLIGHT` at once (the workers' backlog)."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def run(task: CaptureTask) -> SourceOutcome:
        async with slots:
            return await pool.run(task)

    return list(await asyncio.wait_for(asyncio.gather(*(run(t) for t in tasks)), TIMEOUT))


async def wait_for(predicate: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


async def capture_run(
    url: str,
    run: str,
    n_workers: int,
    tasks: list[CaptureTask],
    warm_up: list[CaptureTask],
    log_dir: Path,
    scale: float,
) -> dict[str, Any]:
    """Start N workers, warm them up, time the capture of ``tasks``; returns figures."""
    names = queue_names(run)
    workers = Workers(url, names, log_dir, scale)
    pool = RedisCapturePool(url, names, lease=LEASE, no_worker_timeout=TIMEOUT, log=_log)
    await pool.start()
    try:
        for i in range(n_workers):
            workers.start(f"{run}-w{i}")
        await wait_for(lambda: pool.workers_alive == n_workers, f"{n_workers} workers alive")
        await run_all(pool, warm_up)
        started = time.perf_counter()
        outcomes = await run_all(pool, tasks)
        elapsed = time.perf_counter() - started
        rss = workers.peak_rss()
    finally:
        await pool.close()
        workers.close()
    return {"elapsed": elapsed, "lost": losses(list(outcomes), tasks), "rss": rss}


async def kill_run(url: str, tasks: list[CaptureTask], log_dir: Path, scale: float) -> dict[str, Any]:
    """Two workers; SIGKILL the one holding a task; time until the task is reclaimed; count losses."""
    names = queue_names("kill")
    workers = Workers(url, names, log_dir, scale)
    pool = RedisCapturePool(url, names, lease=LEASE, no_worker_timeout=TIMEOUT, log=_log)
    client = redis.Redis.from_url(url)
    await pool.start()

    def holders() -> dict[str, str]:
        pending: Any = client.xpending_range(
            names.task_stream, names.worker_group, min="-", max="+", count=1000
        )
        return {p["message_id"].decode(): p["consumer"].decode() for p in pending}

    try:
        for name in ("kill-w0", "kill-w1"):
            workers.start(name)
        await wait_for(lambda: pool.workers_alive == 2, "2 workers alive")
        runs = asyncio.ensure_future(run_all(pool, tasks))
        entry, victim = await wait_for(lambda: next(iter(holders().items()), None), "a task held")
        os.kill(workers.processes[victim].pid, signal.SIGKILL)
        killed_at = time.monotonic()
        await wait_for(
            lambda: holders().get(entry, "") != victim, f"task {entry} of killed {victim} reclaimed", TIMEOUT
        )
        reclaim = time.monotonic() - killed_at
        outcomes = await runs
        discarded = pool.discarded
    finally:
        await pool.close()
        workers.close()
        client.close()
    return {"reclaim": reclaim, "lost": losses(list(outcomes), tasks), "discarded": discarded}


def copy_floor(store: EmulatedDaqStore, obsids: list[str], destination: Path) -> float:
    """Seconds to read the images' packed sources and write them to ``destination`` (one process)."""
    destination.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for obsid in obsids:
        for location in store.find_image(obsid).locations:
            words = store.read_source(obsid, location, verify=False)
            words.tofile(destination / f"{obsid}_{location.bay}_{location.board}.dat")
    elapsed = time.perf_counter() - started
    shutil.rmtree(destination)
    return elapsed


def clear(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=3, help="LSSTCam-shaped images per run (default 3).")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts, comma-separated (default 1,2,4).")
    parser.add_argument(
        "--amp-scale",
        type=float,
        default=0.125,
        help="Fraction of the imaging rows and columns of each amplifier (default 0.125; 1 = full size).",
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    cores = os.cpu_count() or 1
    camera = scaled_camera(args.amp_scale)
    with tempfile.TemporaryDirectory(prefix="bench_scale_out_") as tmp, TemporaryRedis() as server:
        root = Path(tmp)
        store = EmulatedDaqStore(root / "daq", LSSTCAM.partition, camera=camera, capacity=2**62)
        options = CaptureOptions(
            daq_root=str(root / "daq"),
            partition=LSSTCAM.partition,
            folder="raw",
            staging=str(root / "staging"),
        )
        generator = PixelGenerator(signal=2000.0, cosmic_rays=5, saturated_spots=0)
        obsids = [ImageName("MC", "O", 20261123, seq).obsid for seq in range(1, args.images + 2)]
        started = time.perf_counter()
        for obsid in obsids:
            store.add_image(obsid, generator=generator, repeat_sources=True)
        written = (time.perf_counter() - started) / len(obsids)
        warm_name = ImageName("MC", "O", 20261123, 999).obsid
        store.add_image(
            warm_name,
            generator=generator,
            locations=[r.location for r in LSSTCAM.rebs[: 2 * max(counts)]],
            repeat_sources=True,
        )
        image = store.find_image(obsids[0])
        full = EmulatedDaqStore(root / "full", LSSTCAM.partition)  # geometry only, nothing written
        decoded = sum(decoded_bytes(s) for s in image.sources)
        full_decoded = sum(decoded_bytes(full.source_metadata(reb)) for reb in LSSTCAM.rebs)
        fraction = decoded / full_decoded
        science = next(s for s in image.sources if s.kind.value == "science")
        source_decoded = decoded_bytes(science)
        full_source_decoded = decoded_bytes(full.source_metadata(LSSTCAM.reb(science.location)))
        print(
            f"LSSTCam-shaped images: {len(LSSTCAM.detectors)} detectors in {len(image.sources)} REB sources; "
            f"amplifier {science.naxis1} x {science.naxis2} samples (amp-scale {args.amp_scale}: "
            f"{fraction:.4f} of full-size pixels, {image.size / 1e6:.0f} MB packed per image, "
            f"written in {written:.2f} s with repeat_sources)",
            flush=True,
        )
        print(
            f"This machine has {cores} cores: N > {cores} is oversubscribed, and the workers share the cores "
            "with Redis, the pool and this process.",
            flush=True,
        )
        timed = obsids[: args.images]
        floor = copy_floor(store, timed, root / "floor")
        floor_rate = args.images / floor * 60
        all_tasks = [t for obsid in timed for t in image_tasks(store, obsid, options)]
        warm_up = image_tasks(store, warm_name, options)
        results: dict[int, dict[str, Any]] = {}
        for n in counts:
            clear(root / "staging")
            results[n] = await capture_run(server.url, f"n{n}", n, all_tasks, warm_up, root, args.amp_scale)
        clear(root / "staging")
        killed = await kill_run(server.url, image_tasks(store, obsids[-1], options), root, args.amp_scale)
        store.close()
        full.close()

    def full_size(per_core_rate: float) -> tuple[float, float]:
        rate = per_core_rate * fraction
        return rate, (60.0 / CADENCE) / rate

    print()
    print(
        f"{'run':<10} {'images':>6} {'s':>7} {'img/min':>8} {'efficiency':>10} {'img/min/core':>12} "
        f"{'full-size img/min/core':>22} {'cores for 17 s':>14} {'lost':>4}  peak RSS per worker (MB)"
    )
    floor_full, floor_cores = full_size(floor_rate)
    print(
        f"{'floor':<10} {args.images:>6} {floor:>7.2f} {floor_rate:>8.1f} {'':>10} {floor_rate:>12.1f} "
        f"{floor_full:>22.3f} {floor_cores:>14.1f} {'':>4}  (copy of the packed bytes, this process)"
    )
    one = args.images / results[1]["elapsed"] * 60 if 1 in results else None
    for n, result in results.items():
        rate = args.images / result["elapsed"] * 60
        per_core = rate / min(n, cores)
        efficiency = f"{rate / (n * one):.2f}" if one else "-"
        rate_full, needed = full_size(per_core)
        rss = " ".join(f"{v / 1e6:.0f}" for v in result["rss"].values())
        over = " (oversubscribed)" if n > cores else ""
        print(
            f"{'N=' + str(n):<10} {args.images:>6} {result['elapsed']:>7.2f} {rate:>8.2f} "
            f"{efficiency:>10} {per_core:>12.2f} {rate_full:>22.4f} {needed:>14.1f} {result['lost']:>4}  "
            f"{rss}{over}"
        )
    print()
    if one:
        rate_full, needed = full_size(one)
        print(
            f"ours / floor (N=1, one core): {floor_rate / one:.1f}x slower than copying the same bytes; "
            f"full-size LSSTCam at one worker per core: {rate_full:.3f} images/min/core, "
            f"{needed:.1f} cores for one image every {CADENCE:.0f} s (floor: {floor_cores:.1f} cores)"
        )
    print(
        f"kill run (2 workers, 1 image, lease {LEASE} s): SIGKILL to reclaim of its task "
        f"{killed['reclaim']:.2f} s; lost detectors {killed['lost']} (must be 0); "
        f"late results discarded {killed['discarded']}"
    )
    peak = max((v for r in results.values() for v in r["rss"].values()), default=0)
    print(
        f"peak worker RSS {peak / 1e6:.0f} MB vs one science source's decoded pixels "
        f"{source_decoded / 1e6:.1f} MB here ({full_source_decoded / 1e6:.0f} MB at full size); "
        f"one image's decoded pixels {decoded / 1e6:.0f} MB, the {args.images}-image backlog "
        f"{args.images * decoded / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1].startswith("--worker-process=") and sys.argv[2] == "--":
        sys.exit(worker_main(float(sys.argv[1].split("=", 1)[1]), sys.argv[3:]))
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
