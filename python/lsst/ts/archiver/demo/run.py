"""`run_demo`: take a ComCam sequence and watch it reach the OODS and the DBB."""

from __future__ import annotations

__all__ = ["DEMO_COMPONENT", "main", "run_demo"]

import argparse
import asyncio
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..local_config import local_site_config, write_local_config_dir

DEMO_COMPONENT = "CCArchiver"
"""The Archiver the demo runs (ComCam: 9 detectors, 3 REBs)."""

_MARKER = ".archiver-demo"
_BYTES_PER_IMAGE = 2.2e9  # staging + OODS copy + DBB copy of 9 uncompressed ComCam raws


def _say(text: str = "") -> None:
    print(text, flush=True)


def _prepare_root(root: Path) -> None:
    """Start from an empty demo directory (only one this demo made is ever deleted)."""
    if root.exists() and any(root.iterdir()):
        if not (root / _MARKER).exists():
            raise SystemExit(
                f"{root} exists, is not empty and was not made by this demo; "
                "remove it or pass --root with another directory"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / _MARKER).write_text("made by bin/archiver_demo; deleted and re-made on every run\n")


def _write_config(root: Path, compress: bool) -> Path:
    """The Archiver's configuration for the demo: _init.yaml plus a ``demo`` site file."""
    settings = local_site_config(
        root,
        daq={"root": str(root / "simulator" / "daq")},
        fits={"compress": compress, "fsync": False},
        # No ctrl_oods runs in the demo: the Archiver is CCOODS too.
        oods_face={"enabled": True},
    )
    return write_local_config_dir(DEMO_COMPONENT, root, "demo", settings)


def _check_prerequisites(root: Path, n_images: int) -> None:
    missing = []
    for module in ("lsst.daf.butler", "fitsio", "astropy", "sqlalchemy"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise SystemExit(
            f"Missing Python packages: {', '.join(missing)}. Run 'make' (or "
            "'.venv/bin/pip install -e .[test]') first, then 'make demo' again."
        )
    parent = root if root.exists() else root.parent
    free = shutil.disk_usage(parent).free
    needed = _BYTES_PER_IMAGE * n_images + 2e9
    if free < needed:
        raise SystemExit(
            f"Not enough disk space in {parent}: {free / 1e9:.1f} GB free, the demo needs about "
            f"{needed / 1e9:.1f} GB for {n_images} images; use --images 1 or --compress"
        )


async def run_demo(root: Path, n_images: int = 3, exp_time: float = 1.0, compress: bool = False) -> int:
    """Run the demonstration; return a process exit code (0 if every image was archived)."""
    from lsst.daf.butler import Butler
    from lsst.ts import salkit

    from ..camera import ImageName, get_camera
    from ..csc import ArchiverCsc
    from ..maps import write_image_map
    from ..simulators import start_simulated_system
    from .progress import ImageProgress, format_table

    started = time.monotonic()
    os.environ["LSST_SITE"] = "demo"
    os.environ[salkit.TRANSPORT_ENV_VAR] = "memory"
    camera = get_camera(DEMO_COMPONENT)
    _check_prerequisites(root, n_images)
    _prepare_root(root)
    config_dir = _write_config(root, compress)
    _say(f"Demo directory: {root}")
    _say("Starting the simulated ComCam (camera simulator, DAQ emulator, Header Service simulator) ...")
    system = await start_simulated_system(camera.name, root / "simulator")
    csc: ArchiverCsc | None = None
    domain = salkit.Domain()
    images: dict[str, ImageProgress] = {}
    expected = len(camera.detectors)
    try:
        _say(f"Starting {DEMO_COMPONENT} and bringing it to ENABLED ...")
        csc = ArchiverCsc(DEMO_COMPONENT, config_dir=config_dir, initial_state=salkit.State.ENABLED)
        await csc.start_task
        if csc.summary_state != salkit.State.ENABLED:
            error = csc.evt_errorCode.data  # type: ignore[attr-defined]
            _say(f"The Archiver did not reach ENABLED: {error.errorCode} {error.errorReport}")
            return 1
        archiver = salkit.Remote(
            domain,
            DEMO_COMPONENT,
            readonly=True,
            include=["imageRetrievalForArchiving", "imageInOODS", "imageArchived", "focalPlaneCapture"],
            evt_max_history=0,
        )
        camera_remote = salkit.Remote(
            domain, camera.csc_name, readonly=True, include=["endOfImageTelemetry"], evt_max_history=0
        )
        await asyncio.gather(archiver.start_task, camera_remote.start_task)
        archived = asyncio.Event()
        maps_written: set[str] = set()

        async def write_map(image: ImageProgress) -> None:
            # Once the image is settled at the DBB and the OODS: its focal-plane map.
            if image.obsid in maps_written or image.archived_status is None:
                return
            if image.in_oods + image.oods_failed < image.written or csc is None or csc.runtime is None:
                return
            maps_written.add(image.obsid)
            runner = csc.runtime.runner
            path = root / "maps" / f"{image.obsid}.png"
            try:
                await runner.run(write_image_map, runner.ledger, camera, image.obsid, path)
            except Exception as e:
                _say(
                    f"  [{time.monotonic() - started:6.1f} s] {image.obsid}: focal-plane map not written: {e}"
                )
                return
            _say(f"  [{time.monotonic() - started:6.1f} s] {image.obsid}: focal-plane map {path}")

        def progress(obsid: str) -> ImageProgress:
            if obsid not in images:
                images[obsid] = ImageProgress(obsid, expected)
            return images[obsid]

        def show(image: ImageProgress) -> None:
            _say(f"  [{time.monotonic() - started:6.1f} s] {image.line()}")

        async def on_end_of_image(data: Any) -> None:
            progress(data.imageName).end_of_image = data.private_sndStamp
            _say(f"  [{time.monotonic() - started:6.1f} s] {data.imageName}: end of image telemetry")

        async def on_retrieval(data: Any) -> None:
            image = progress(data.obsid)
            if data.statusCode == 0:
                image.written += 1
            else:
                image.capture_failed += 1
                image.notes.append(f"{data.raft}_{data.sensor}: {data.description}")
            if image.written + image.capture_failed in (1, image.expected):
                show(image)

        async def on_in_oods(data: Any) -> None:
            image = progress(data.obsid)
            if data.statusCode == 0:
                image.in_oods += 1
                image.last_in_oods = data.private_sndStamp
            else:
                image.oods_failed += 1
            if image.in_oods + image.oods_failed in (1, image.expected):
                show(image)
            await write_map(image)
            check_done()

        def check_done() -> None:
            # imageArchived is about the DBB; the OODS may finish a little later.
            finished = [
                i
                for i in images.values()
                if i.archived_status is not None and i.in_oods + i.oods_failed >= i.written
            ]
            if len(finished) >= n_images:
                archived.set()

        async def on_archived(data: Any) -> None:
            image = progress(data.obsid)
            image.archived_status = data.statusCode
            image.archived_description = data.description
            image.missing = data.missingSensors
            show(image)
            await write_map(image)
            check_done()

        async def on_capture(data: Any) -> None:
            progress(data.obsid).bytes_written = int(sum(data.bytesWritten))

        camera_remote.evt_endOfImageTelemetry.callback = on_end_of_image  # type: ignore[attr-defined]
        archiver.evt_imageRetrievalForArchiving.callback = on_retrieval  # type: ignore[attr-defined]
        archiver.evt_imageInOODS.callback = on_in_oods  # type: ignore[attr-defined]
        archiver.evt_imageArchived.callback = on_archived  # type: ignore[attr-defined]
        archiver.tel_focalPlaneCapture.callback = on_capture  # type: ignore[attr-defined]

        _say(f"Taking {n_images} image(s) of {exp_time:g} s with the camera simulator ...")
        names = await system.take_images(n_images, exp_time=exp_time, key_values={"imageType": "FLAT"})
        try:
            await asyncio.wait_for(archived.wait(), timeout=120.0 + 60.0 * n_images)
        except TimeoutError:
            _say("Timed out waiting for every image to be archived; see the table for what is missing.")
        # focalPlaneCapture follows imageArchived; give it a moment.
        await asyncio.sleep(0.5)

        _say()
        _say(format_table([progress(name) for name in names]))
        _say()

        first = names[0]
        detector = camera.detectors[len(camera.detectors) // 2]
        exposure = ImageName.parse(first).exposure_id
        for label, repo in (("OODS", root / "repo-oods"), ("DBB", root / "repo-dbb")):
            butler = Butler.from_config(str(repo), collections=[f"{camera.name}/raw/all"])
            try:
                hdul = await asyncio.to_thread(
                    butler.get, "raw", instrument=camera.name, exposure=exposure, detector=detector.id
                )
                uri = butler.getURI("raw", instrument=camera.name, exposure=exposure, detector=detector.id)
                _say(
                    f"butler.get('raw', exposure={exposure}, detector={detector.id}) from the {label} repo: "
                    f"{len(hdul)} HDUs, OBSID={hdul[0].header.get('OBSID')}, "
                    f"HDRSRC={hdul[0].header.get('HDRSRC')}, file {uri.ospath}"
                )
            finally:
                butler.close()
        _say()
        _say("Where everything is:")
        _say(f"  DAQ emulator store     {system.daq_root}/{camera.partition}")
        _say(f"  Header Service files   {system.header_root}")
        _say(f"  staging (raw + JSON)   {root / 'staging'}")
        _say(f"  OODS files / repo      {root / 'oods'}  /  {root / 'repo-oods'}")
        _say(f"  DBB buffer / repo      {root / 'dbb-buffer'}  /  {root / 'repo-dbb'}")
        _say(f"  ledger                 {root / 'ledger.sqlite3'}")
        _say(f"  focal-plane maps       {root / 'maps'}  ({len(maps_written)} PNG, one per image)")
        _say(f"  configuration          {config_dir}")
        ok = all(progress(name).archived_status == 0 for name in names)
        _say(
            f"Done in {time.monotonic() - started:.0f} s: {'all images archived' if ok else 'SOME IMAGES FAILED'}."
        )
        return 0 if ok else 1
    finally:
        if csc is not None:
            await csc.close()
        await domain.close()
        await system.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point of ``bin/archiver_demo``."""
    parser = argparse.ArgumentParser(description="End-to-end demonstration of the ComCam Archiver.")
    parser.add_argument(
        "--root", default="demo", help="Demo directory (deleted and re-made). Default: ./demo"
    )
    parser.add_argument("--images", type=int, default=3, help="Number of images to take (default 3).")
    parser.add_argument("--exptime", type=float, default=1.0, help="Exposure time (s, default 1).")
    parser.add_argument("--compress", action="store_true", help="RICE-compress the raw files.")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.images < 1:
        parser.error("--images must be at least 1")
    return asyncio.run(run_demo(Path(args.root).resolve(), args.images, args.exptime, args.compress))
