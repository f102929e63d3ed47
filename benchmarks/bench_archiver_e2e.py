"""End-to-end Archiver latency: endOfImageTelemetry -> last imageInOODS, vs the copy floor.

One process, in-memory SAL. An Archiver CSC (2 capture workers, OODS
destination with direct Butler ingest + DBB destination with a copying
ingest, SQLite ledger and registries) archives images that are already
complete in an emulated DAQ store. For each image the benchmark publishes
the Header Service's ``largeFileObjectAvailable`` (a small header file)
and then the camera's ``endOfImageTelemetry`` from in-process controllers,
and waits for the image's last ``imageInOODS`` before the next one (latency
without queueing). Per image it also measures the floor: reading the same
packed bytes from the DAQ store and writing them to a file in the OODS
destination directory (no decode, no FITS, no ingest).

Printed per camera and compression: p50/p95 latency, p50 floor, the ratio
p50/p50-floor, the throughput (MB of raw FITS per second of latency),
from the ledger the median per file of capture (image registered -> file
written), transfer to the OODS and OODS ingest, and the disk used per
image by the raw files of the demo layout (staging, OODS directory, DBB
buffer, DBB repository; every inode counted once, measured once the DBB
has ingested every file) next to one copy's bytes.

Every case runs with the delivery as configured (same-file-system
destinations hard-linked, the DBB's ``copy`` ingest hard-linked) except the
``copies`` row: ComCam uncompressed with links switched off (every
destination and the DBB repository get a real copy, verified by re-reading
it), the layout as it was before links, measured side by side in the same
run.

Default run (about 5 minutes on a 2-core VM): LATISS 20 images
plain + 20 RICE_1, ComCam 20 + 20, ComCam 3 with copies. ``--quick``
(about 1-2 minutes): LATISS 5 + 5, ComCam 3 + 3, copies 2. ``--lsstcam``
adds one LSSTCam image per compression mode (205 CCDs: about 16 GB of raw
files per copy).

Usage: ``.venv/bin/python benchmarks/bench_archiver_e2e.py [--quick] [--latiss N] [--comcam N] [--copies N]
[--lsstcam] [--modes M] [--workers N]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lsst.ts import salkit

import lsst.ts.archiver.delivery.destination as destination_module
from lsst.ts.archiver.camera import Camera, ImageName, get_camera
from lsst.ts.archiver.csc import ArchiverCsc
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.fits import Card, HeaderServiceFile, render_header_file
from lsst.ts.archiver.ledger import Ledger
from lsst.ts.archiver.local_config import local_site_config, write_local_config_dir

WORKERS: int | None = None
"""Capture worker processes (``--workers``); None keeps the site's (2)."""


def write_config(root: Path, component: str, compress: bool) -> Path:
    overrides: dict[str, Any] = {"fits": {"compress": compress, "fsync": False}}
    if WORKERS is not None:
        overrides["workers"] = WORKERS
    settings = local_site_config(root, **overrides)
    return write_local_config_dir(component, root, "bench", settings)


def header_file(root: Path, obsid: str, tai: float) -> Path:
    header = HeaderServiceFile(
        primary=(
            Card("OBSID", obsid),
            Card("IMGTYPE", "FLAT"),
            Card("EXPTIME", 1.0),
            Card("DARKTIME", 1.0),
            Card("OBJECT", "benchmark"),
        )
    )
    path = root / "headers" / f"{obsid}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_header_file(header))
    return path


def copy_floor(store: EmulatedDaqStore, obsid: str, destination: Path) -> float:
    """Seconds to read an image's packed sources and write them to ``destination``."""
    started = time.perf_counter()
    for location in store.find_image(obsid).locations:
        words = store.read_source(obsid, location, verify=False)
        words.tofile(destination / f"{obsid}_{location.bay}_{location.board}.dat")
    elapsed = time.perf_counter() - started
    for path in destination.glob(f"{obsid}_*.dat"):
        path.unlink()
    return elapsed


@contextlib.contextmanager
def copies_only() -> Iterator[None]:
    """Deliver as before links: every destination and the DBB repository get a copy."""
    transferrer, ingester = destination_module.Transferrer, destination_module.RawIngester
    destination_module.Transferrer = functools.partial(transferrer, link=False)  # type: ignore[misc,assignment]
    destination_module.RawIngester = functools.partial(ingester, link_copies=False)  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        destination_module.Transferrer = transferrer  # type: ignore[misc]
        destination_module.RawIngester = ingester  # type: ignore[misc]


LAYOUT = ("staging", "oods", "dbb-buffer", "repo-dbb")
"""Where the demo layout keeps raw files (the DBB repository's own copies included)."""


def raw_files(root: Path) -> list[Path]:
    return [path for directory in LAYOUT for path in (root / directory).rglob("*.fits") if path.is_file()]


async def wait_for_dbb_ingest(root: Path, expected: int, timeout: float = 300.0) -> None:
    """Wait until the DBB repository holds ``expected`` raw files."""
    deadline = time.monotonic() + timeout
    while len(list((root / "repo-dbb").rglob("*.fits"))) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"The DBB repository did not get {expected} files in {timeout} s")
        await asyncio.sleep(0.2)


def disk_per_image(root: Path, n_images: int) -> tuple[float, float]:
    """(bytes of every raw inode in the layout, bytes of one copy), per image."""
    inodes: dict[tuple[int, int], int] = {}
    for path in raw_files(root):
        stat = path.stat()
        inodes[(stat.st_dev, stat.st_ino)] = stat.st_blocks * 512
    one_copy = sum(p.stat().st_blocks * 512 for p in (root / "staging").rglob("*.fits"))
    return sum(inodes.values()) / n_images, one_copy / n_images


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


async def run_case(camera: Camera, n_images: int, compress: bool, *, links: bool = True) -> dict[str, Any]:
    with contextlib.nullcontext() if links else copies_only():
        return await _run_case(camera, n_images, compress, links)


async def _run_case(camera: Camera, n_images: int, compress: bool, links: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench_archiver_") as tmp:
        root = Path(tmp)
        store = EmulatedDaqStore(root / "daq", camera.partition)
        generator = PixelGenerator(signal=2000.0, cosmic_rays=5, saturated_spots=0)
        day_obs = 20261123
        names = [ImageName(camera.camera_code, "O", day_obs, seq).obsid for seq in range(1, n_images + 1)]
        config_dir = write_config(root, camera.archiver_name, compress)
        os.environ["LSST_SITE"] = "bench"
        csc = ArchiverCsc(camera.archiver_name, config_dir=config_dir, initial_state=salkit.State.ENABLED)
        cam = salkit.Controller(camera.csc_name)
        hs = salkit.Controller(camera.header_service_name)
        domain = salkit.Domain()
        remote = salkit.Remote(
            domain,
            camera.archiver_name,
            readonly=True,
            include=["imageInOODS"],
            evt_max_history=0,
        )
        latencies: list[float] = []
        floors: list[float] = []
        sizes: list[int] = []
        try:
            await asyncio.gather(csc.start_task, cam.start_task, hs.start_task, remote.start_task)
            assert csc.summary_state == salkit.State.ENABLED, csc.evt_errorCode.data  # type: ignore[attr-defined]
            in_oods: dict[str, int] = {}
            done: dict[str, asyncio.Future[float]] = {}
            expected = len(camera.detectors)

            async def on_in_oods(data: Any) -> None:
                in_oods[data.obsid] = in_oods.get(data.obsid, 0) + 1
                if in_oods[data.obsid] == expected and data.obsid in done:
                    done[data.obsid].set_result(time.monotonic())

            remote.evt_imageInOODS.callback = on_in_oods  # type: ignore[attr-defined]
            for index, obsid in enumerate(names):
                await asyncio.to_thread(store.add_image, obsid, generator=generator)
                floors.append(await asyncio.to_thread(copy_floor, store, obsid, root / "oods"))
                tai = salkit.current_tai()
                path = header_file(root, obsid, tai)
                done[obsid] = asyncio.get_running_loop().create_future()
                await hs.evt_largeFileObjectAvailable.set_write(  # type: ignore[attr-defined]
                    url=path.as_uri(),
                    generator=camera.header_service_name,
                    id=obsid,
                    mimeType="YAML",
                    force_output=True,
                )
                started = time.monotonic()
                await cam.evt_endOfImageTelemetry.set_write(  # type: ignore[attr-defined]
                    imageName=obsid,
                    imagesInSequence=n_images,
                    imageIndex=index + 1,
                    imageSource=camera.camera_code,
                    imageController="O",
                    imageDate=str(day_obs),
                    imageNumber=index + 1,
                    exposureTime=1.0,
                    timestampDateObs=tai - 1.0,
                    timestampDateEnd=tai,
                    darkTime=1.0,
                    measuredShutterOpenTime=1.0,
                    force_output=True,
                )
                finished = await asyncio.wait_for(done[obsid], timeout=600)
                latencies.append(finished - started)
                sizes.append(sum(p.stat().st_size for p in (root / "staging").rglob(f"{obsid}_R*.fits")))
            await wait_for_dbb_ingest(root, n_images * expected)
            disk, one_copy = disk_per_image(root, n_images)
        finally:
            await remote.close()
            await domain.close()
            await cam.close()
            await hs.close()
            await csc.close()
            store.close()
        with Ledger(f"sqlite:///{root / 'ledger.sqlite3'}", create=False) as ledger:
            stages = ledger.stage_latencies(destination="oods")
    p50 = statistics.median(latencies)
    floor = statistics.median(floors)
    return {
        "camera": camera.name,
        "links": links,
        "disk_mb": disk / 1e6,
        "disk_ratio": disk / one_copy,
        "compress": compress,
        "n": n_images,
        "p50": p50,
        "p95": percentile(latencies, 95),
        "floor": floor,
        "ratio": p50 / floor,
        "mb_s": statistics.median(sizes) / 1e6 / p50,
        "capture": stages["capture"].median or 0.0,
        "transfer": stages["transfer"].median or 0.0,
        "ingest": stages["ingest"].median or 0.0,
    }


def print_row(result: dict[str, Any]) -> None:
    label = result["camera"] if result["links"] else f"{result['camera']} copies"
    print(
        f"{label:<18} {'yes' if result['compress'] else 'no':<5} {result['n']:>3} {result['p50']:>8.2f} "
        f"{result['p95']:>8.2f} {result['floor']:>9.3f} {result['ratio']:>9.1f} {result['mb_s']:>7.0f}"
        f" {result['capture']:>8.2f} {result['transfer']:>8.2f} {result['ingest']:>7.2f}"
        f" {result['disk_mb']:>9.0f} {result['disk_ratio']:>8.2f}",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="Fewer images: LATISS 5, ComCam 3, copies 2.")
    parser.add_argument("--latiss", type=int, help="LATISS images per mode (default 20).")
    parser.add_argument("--comcam", type=int, help="ComCam images per mode (default 20).")
    parser.add_argument(
        "--copies", type=int, help="ComCam images delivered with links off, for comparison (default 3)."
    )
    parser.add_argument("--lsstcam", action="store_true", help="Also one LSSTCam image per mode (~16 GB).")
    parser.add_argument("--workers", type=int, help="Capture worker processes (default: the site's, 2).")
    parser.add_argument(
        "--modes",
        choices=("both", "plain", "rice"),
        default="both",
        help="Uncompressed, RICE_1 or both (default).",
    )
    args = parser.parse_args()
    global WORKERS
    WORKERS = args.workers
    latiss = args.latiss if args.latiss is not None else (5 if args.quick else 20)
    comcam = args.comcam if args.comcam is not None else (3 if args.quick else 20)
    copies = args.copies if args.copies is not None else (2 if args.quick else 3)
    cases = [("LATISS", latiss), ("LSSTComCam", comcam)]
    if args.lsstcam:
        cases.append(("LSSTCam", 1))
    print(
        f"{'camera':<18} {'RICE':<5} {'n':>3} {'p50 (s)':>8} {'p95 (s)':>8} {'floor (s)':>9} "
        f"{'p50/floor':>9} {'MB/s':>7} {'capture':>8} {'transfer':>8} {'ingest':>7}"
        f" {'disk MB':>9} {'x 1 copy':>8}",
        flush=True,
    )
    print(
        f"{'':<18} {'':<5} {'':>3} {'':>8} {'':>8} {'':>9} {'':>9} {'':>7}  median per file (s)  per image",
        flush=True,
    )
    for camera_name, n_images in cases:
        if n_images < 1:
            continue
        for compress in {"both": (False, True), "plain": (False,), "rice": (True,)}[args.modes]:
            print_row(await run_case(get_camera(camera_name), n_images, compress))
    if copies > 0:
        print_row(await run_case(get_camera("LSSTComCam"), copies, False, links=False))


if __name__ == "__main__":
    asyncio.run(main())
