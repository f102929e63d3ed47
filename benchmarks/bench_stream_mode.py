"""Stream-mode latency next to event mode: the same images, one run.

One process, in-memory SAL (``LSST_SITE=test``, a fresh test topic sub-name per mode, as
``tests/archiver/csc/conftest.py`` sets up for the CSC tests). For each
``trigger.mode`` in turn an Archiver CSC of the camera
(`lsst.ts.archiver.testing.running_archiver`, configuration from
`write_config_dir`, ``header_service.wait_timeout`` W the same in both) runs
next to the camera and Header Service simulators
(`lsst.ts.archiver.simulators.start_simulated_system`), in its own temporary
directory:

* ``event``: the camera publishes its image events; ``endOfImageTelemetry``
  starts each image and the Header Service sends its header;
* ``stream``: the camera sends no image events (``image_events=False``);
  the Archiver's `StreamTrigger` starts each image when the DAQ store's
  stream reports it complete (the store polls its catalog every
  ``poll_interval``, 0.05 s). With no camera events the Header Service
  writes no header, so the Archiver waits the whole W before it writes the
  files with its own metadata (HDRSRC='Archiver').

Per mode: N warm-up images (not counted, they include the CSC's first
image), then K images taken one at a time, each waited for (its
``imageArchived``) before the next, so there is no queueing. Per image:

* complete: when the image became complete in the DAQ store (its last
  source written). The emulated store's catalog has no completion time, so
  a watcher thread with its own read-only connection to the store polls
  ``list_images(complete_only=True)`` every 10 ms and stamps each image
  when it first appears (``time.time()``, UTC); the newest mtime of the
  image's source files is printed next to it as a check (it precedes the
  catalog update by a CRC32 and an SQLite commit).
* file written: the ``private_sndStamp`` (TAI) of the image's last
  detector's first ``imageRetrievalForArchiving`` (sent once the
  detector's file is written),
  converted to UTC with the TAI-UTC offset measured at start
  (``salkit.current_tai() - time.time()``).
* archived: the ``private_sndStamp`` of its ``imageArchived`` (context).

If an image has more than one ``imageArchived`` (or more
``imageRetrievalForArchiving`` than detectors) the first of each is used
and the duplicates are counted and printed.

Printed per mode: each latency, p50 and max of complete -> file written
and of complete -> imageArchived, the stream/event ratio of the p50s, and
how much of the stream latency the header wait W explains.

Everything lives in temporary directories removed at exit; the CSCs and the
simulators are closed. Timings are printed, never asserted. On a 2-core
machine the capture workers, FITS writing, the ingests, the simulators and
this process share the cores.

Default run (about 50 s on a 2-core VM): LATISS, K=4, one warm-up image
per mode, W=1 s, 1 s exposures.

The camera simulator's readout is a fixed 2 s timer and its emulated DAQ
finishes writing an image well before it, so ``endOfImageTelemetry``
(end of readout + 0.3 s) comes about 1.8 s after the image is complete:
event mode pays that gap here, and the summary also prints event mode
timed from ``endOfImageTelemetry`` (the return of ``take_images``).

Usage: ``.venv/bin/python benchmarks/bench_stream_mode.py [--camera LATISS|LSSTComCam] [--images K] [--warm-up N] [--header-wait W] [--exp-time S]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsst.ts import salkit

from lsst.ts.archiver.camera import Camera, get_camera
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.ledger import Ledger
from lsst.ts.archiver.simulators import start_simulated_system
from lsst.ts.archiver.testing import running_archiver, write_config_dir

MODES = ("event", "stream")
TIMEOUT = 300.0
"""Longest wait for any image (s)."""
WATCH_INTERVAL = 0.01
"""Seconds between the completion watcher's polls of the DAQ catalog."""
DAQ_FOLDER = "raw"
SETTLE = 2.0
"""Seconds waited after the last image before the events per image are counted."""


def set_up_environment() -> None:
    """Select the test site and the in-memory SAL transport (each mode sets its own topic sub-name)."""
    os.environ["LSST_SITE"] = "test"
    os.environ[salkit.TRANSPORT_ENV_VAR] = "memory"


def pixel_generator() -> PixelGenerator:
    """Plain pixels (no cosmic rays or saturated spots)."""
    return PixelGenerator(cosmic_rays=0, saturated_spots=0)


def archiver_config(camera: Camera, root: Path, daq_root: Path, mode: str, header_wait: float) -> Path:
    """Write the Archiver's configuration under ``root`` for ``trigger.mode`` ``mode``."""
    return write_config_dir(
        camera.archiver_name,
        root,
        daq={"root": str(daq_root), "wait_timeout": 10.0},
        header_service={"wait_timeout": header_wait},
        trigger={"mode": mode, "event_grace": 0.0},
    )


class CompletionWatcher:
    """Stamp (UTC, ``time.time()``) each image of a DAQ store when it is first complete.

    Runs in a thread with its own `EmulatedDaqStore` (own SQLite
    connection, WAL mode), so a busy event loop does not delay the stamps.
    """

    def __init__(self, daq_root: Path, partition: str) -> None:
        self._store = EmulatedDaqStore(daq_root, partition, create=False)
        self.complete: dict[str, float] = {}
        self.source_mtime: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="daq-completion-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            images = self._store.list_images(DAQ_FOLDER, complete_only=True)
            now = time.time()
            for image in images:
                if image.name not in self.complete:
                    self.complete[image.name] = now
                    self.source_mtime[image.name] = self._newest_source(image.tag_hex)
            self._stop.wait(WATCH_INTERVAL)

    def _newest_source(self, tag_hex: str) -> float:
        mtimes = [p.stat().st_mtime for p in (self._store.directory / "data" / tag_hex).glob("*.dat")]
        return max(mtimes) if mtimes else float("nan")

    async def wait(self, name: str, timeout: float = 30.0) -> float:
        """The completion stamp of ``name``, waiting for the watcher if need be."""
        deadline = time.monotonic() + timeout
        while name not in self.complete:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} never seen complete in the DAQ store")
            await asyncio.sleep(WATCH_INTERVAL)
        return self.complete[name]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._store.close()


@dataclass
class ImageTiming:
    """One image's times (UTC unix seconds) and how it was archived."""

    name: str
    complete: float
    source_mtime: float
    returned: float
    written: float
    archived: float
    status: int
    header_source: str = "?"
    trigger: str = "?"
    n_archived: int = 0
    n_retrieved: int = 0

    @property
    def to_written(self) -> float:
        return self.written - self.complete

    @property
    def to_archived(self) -> float:
        return self.archived - self.complete


async def take_one(
    system: Any, log: Any, watcher: CompletionWatcher, exp_time: float, tai_offset: float
) -> ImageTiming:
    """Take one image, wait for its ``imageArchived``; return its times."""
    [name] = await system.take_images(1, exp_time=exp_time)
    returned = time.time()
    archived = (await log.wait_for("evt_imageArchived", 1, obsid=name, timeout=TIMEOUT))[0]
    complete = await watcher.wait(name)
    first_per_detector: dict[str, float] = {}
    for r in log.of("evt_imageRetrievalForArchiving", name):
        first_per_detector.setdefault(f"{r.raft}_{r.sensor}", r.private_sndStamp)
    written = max(first_per_detector.values()) - tai_offset
    return ImageTiming(
        name=name,
        complete=complete,
        source_mtime=watcher.source_mtime[name],
        returned=returned,
        written=written,
        archived=archived.private_sndStamp - tai_offset,
        status=archived.statusCode,
    )


async def measure_mode(
    camera: Camera, mode: str, k_images: int, warm_up: int, header_wait: float, exp_time: float
) -> dict[str, Any]:
    """Run one Archiver in ``mode`` and take ``warm_up`` + ``k_images`` images."""
    # A fresh topic sub-name per mode: the in-memory bus keeps each topic's last sample as
    # history, so a new Remote of the same Archiver would otherwise get the previous mode's
    # last imageArchived (same image names: each mode's simulator starts at sequence 1).
    os.environ[salkit.TOPIC_SUBNAME_ENV_VAR] = salkit.make_test_topic_subname()
    tai_offset = salkit.current_tai() - time.time()
    with tempfile.TemporaryDirectory(prefix=f"bench_stream_mode_{mode}_") as tmp:
        root = Path(tmp)
        system = await start_simulated_system(
            camera.name, root / "sim", pixel_generator=pixel_generator(), image_events=mode == "event"
        )
        watcher: CompletionWatcher | None = None
        try:
            watcher = CompletionWatcher(system.daq_root, camera.partition)
            config_dir = archiver_config(camera, root, system.daq_root, mode, header_wait)
            started = time.monotonic()
            async with running_archiver(camera.archiver_name, config_dir) as (_csc, _remote, log):
                timings = [
                    await take_one(system, log, watcher, exp_time, tai_offset)
                    for _ in range(warm_up + k_images)
                ]
                await asyncio.sleep(SETTLE)  # a duplicate event would arrive by now
                for timing in timings:
                    timing.n_archived = len(log.of("evt_imageArchived", timing.name))
                    timing.n_retrieved = len(log.of("evt_imageRetrievalForArchiving", timing.name))
            elapsed = time.monotonic() - started
        finally:
            if watcher is not None:
                watcher.close()
            await system.close()
        with Ledger(f"sqlite:///{root / 'ledger.sqlite3'}") as ledger:
            for timing in timings:
                record = ledger.image(timing.name)
                timing.header_source = record.header_source or "-"
                timing.trigger = record.trigger.name
    counted = timings[warm_up:]
    return {
        "mode": mode,
        "warm": timings[:warm_up],
        "images": counted,
        "elapsed": elapsed,
        "tai_offset": tai_offset,
        "p50_written": statistics.median(t.to_written for t in counted),
        "max_written": max(t.to_written for t in counted),
        "p50_archived": statistics.median(t.to_archived for t in counted),
        "max_archived": max(t.to_archived for t in counted),
        "p50_returned": statistics.median(t.returned - t.complete for t in counted),
        "p50_mtime": statistics.median(t.complete - t.source_mtime for t in counted),
    }


def print_mode(result: dict[str, Any], camera: Camera) -> None:
    """Print one mode's images and percentiles."""
    print(
        f"{result['mode']}: {len(result['images'])} {camera.name} images in {result['elapsed']:.1f} s "
        f"(TAI-UTC used {result['tai_offset']:.3f} s); latencies from 'complete in the DAQ' (s):",
        flush=True,
    )
    print(
        "   image                   mtime->complete  complete->take_images-return  ->file written  "
        "->imageArchived  trigger  header         status  events (retrieval/archived)",
        flush=True,
    )
    for label, images in (("warm-up", result["warm"]), ("", result["images"])):
        for t in images:
            print(
                f"   {t.name:22s}  {t.complete - t.source_mtime:15.3f}  {t.returned - t.complete:28.3f}  "
                f"{t.to_written:14.2f}  {t.to_archived:15.2f}  {t.trigger:7s}  {t.header_source:13s}  "
                f"{t.status:6d}  {t.n_retrieved}/{t.n_archived}{'  (warm-up, not counted)' if label else ''}",
                flush=True,
            )
    n_detectors = len(camera.detectors)
    duplicated = [
        t.name
        for t in (*result["warm"], *result["images"])
        if t.n_archived > 1 or t.n_retrieved > n_detectors
    ]
    if duplicated:
        print(
            f"   NOTE: more than one imageArchived, or more than {n_detectors} imageRetrievalForArchiving, "
            f"for {', '.join(duplicated)} (latencies use the first of each)",
            flush=True,
        )
    print(
        f"   complete -> file written:   p50 {result['p50_written']:.2f} s  max {result['max_written']:.2f} s",
        flush=True,
    )
    print(
        f"   complete -> imageArchived:  p50 {result['p50_archived']:.2f} s  max {result['max_archived']:.2f} s",
        flush=True,
    )


def print_summary(results: dict[str, dict[str, Any]], header_wait: float, camera: Camera) -> None:
    """Print the stream/event comparison and what explains it."""
    event, stream = results["event"], results["stream"]
    extra = stream["p50_written"] - event["p50_written"]
    print()
    print(f"Summary ({os.cpu_count()}-core machine, one process, in-memory SAL, {camera.name}):")
    print("                      complete->file written (p50 / max)   complete->imageArchived (p50 / max)")
    for result in (event, stream):
        print(
            f"  {result['mode']:7s}             {result['p50_written']:6.2f} / {result['max_written']:6.2f} s"
            f"                    {result['p50_archived']:6.2f} / {result['max_archived']:6.2f} s"
        )
    print(
        f"  stream/event        {stream['p50_written'] / event['p50_written']:6.2f}x (p50)"
        f"                        {stream['p50_archived'] / event['p50_archived']:6.2f}x (p50)"
    )
    print(f"  stream - event      {extra:+6.2f} s (p50)")
    share = header_wait / stream["p50_written"] if stream["p50_written"] > 0 else float("nan")
    event_gap = event["p50_returned"]
    from_event = statistics.median(t.written - t.returned for t in event["images"])
    print(
        f"  Header wait: in stream mode there are no camera events, so the Header Service sends no\n"
        f"  header and the Archiver waits the whole header_service.wait_timeout ({header_wait:g} s, the same in\n"
        f"  both modes) before writing the files with its own metadata (HDRSRC='Archiver'): {share:.0%} of the\n"
        f"  stream p50 complete->file written; without it {stream['p50_written'] - header_wait:.2f} s would be left\n"
        f"  (the DAQ stream, polled every 0.05 s by EmulatedDaqStore.poll_interval, plus the capture).\n"
        f"  In event mode the header arrives within the wait, which overlaps the DAQ wait.\n"
        f"  Event mode starts at endOfImageTelemetry, which the camera simulator publishes at the end\n"
        f"  of its fixed 2 s readout + 0.3 s, here p50 {event_gap:.2f} s after the image was already complete in\n"
        f"  the DAQ (the emulated DAQ finishes writing before the simulated readout ends); from\n"
        f"  endOfImageTelemetry, event mode writes the file in p50 {from_event:.2f} s. Without that simulator\n"
        f"  gap, stream - event would be about {stream['p50_written'] - from_event:+.2f} s (p50) instead of {extra:+.2f} s.\n"
        f"  Clocks: 'complete' = when a watcher thread polling the DAQ catalog every {WATCH_INTERVAL * 1000:.0f} ms first\n"
        f"  saw the image complete (UTC), p50 {event['p50_mtime']:.3f} s (event) / {stream['p50_mtime']:.3f} s (stream)\n"
        f"  after its last source file's mtime; 'file written' and 'imageArchived' = private_sndStamp\n"
        f"  (TAI) of the events, minus the TAI-UTC offset ({event['tai_offset']:.3f} s).",
        flush=True,
    )


async def main() -> None:
    """Parse the options, measure both modes and print the results."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--camera", choices=["LATISS", "LSSTComCam"], default="LATISS", help="Camera (default LATISS)."
    )
    parser.add_argument("--images", type=int, default=4, help="Images K per mode (default 4).")
    parser.add_argument(
        "--warm-up", type=int, default=1, help="Images per mode before the K, not counted (default 1)."
    )
    parser.add_argument(
        "--header-wait",
        type=float,
        default=1.0,
        help="header_service.wait_timeout W, s, both modes (default 1).",
    )
    parser.add_argument("--exp-time", type=float, default=1.0, help="Exposure time, s (default 1).")
    args = parser.parse_args()
    if args.images < 1 or args.warm_up < 0 or args.header_wait < 0 or args.exp_time < 0:
        parser.error("--images must be >= 1; --warm-up, --header-wait and --exp-time >= 0")
    set_up_environment()
    camera = get_camera(args.camera)
    print(
        f"{os.cpu_count()} cores; {camera.name} ({len(camera.detectors)} CCD(s) per image), "
        f"K={args.images}, warm-up {args.warm_up}, header wait {args.header_wait:g} s, "
        f"exposure {args.exp_time:g} s",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    for mode in MODES:
        results[mode] = await measure_mode(
            camera, mode, args.images, args.warm_up, args.header_wait, args.exp_time
        )
        print_mode(results[mode], camera)
    print_summary(results, args.header_wait, camera)


if __name__ == "__main__":
    asyncio.run(main())
