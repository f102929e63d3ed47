"""``daq_store``: look into an emulated DAQ image store from the command line.

Examples::

    daq_store --root /data/daq --partition comcam list
    daq_store --root /data/daq --partition comcam show CC_O_20241123_000123
    daq_store --root /data/daq --partition comcam read CC_O_20241123_000123 R22/Reb1
    daq_store --root /data/daq --partition comcam capacity

The root and partition default to ``$DAQ_STORE_ROOT`` and
``$DAQ_PARTITION`` (``camera`` if unset).
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import datetime
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

from ..camera import CameraModelError, ImageName, day_obs_bounds
from .emulator import EmulatedDaqStore
from .errors import DaqError
from .metadata import ImageMetadata

_GB = 1e9


def _tai_iso(tai_unix: float) -> str:
    stamp = datetime.datetime.fromtimestamp(tai_unix, tz=datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + " TAI"


def _time_arg(text: str) -> float:
    """A TAI time given as YYYYMMDD (start of that day_obs), ISO date-time or unix seconds."""
    text = text.strip()
    if len(text) == 8 and text.isdigit():
        return day_obs_bounds(int(text))[0]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"time {text!r} is not YYYYMMDD (day_obs), an ISO date-time (TAI) or unix seconds"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daq_store",
        description="Inspect an emulated camera DAQ image store (images, sources, capacity).",
    )
    parser.add_argument(
        "--root",
        default=os.environ.get("DAQ_STORE_ROOT"),
        help="store root directory (default $DAQ_STORE_ROOT)",
    )
    parser.add_argument(
        "--partition",
        default=os.environ.get("DAQ_PARTITION", "camera"),
        help="DAQ partition: camera, comcam or lat (default $DAQ_PARTITION or camera)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list images, oldest first")
    listing.add_argument("--folder", default="raw", help="folder to list (default raw)")
    listing.add_argument("--all-folders", action="store_true", help="list every folder")
    listing.add_argument(
        "--since", type=_time_arg, help="only images triggered at or after (YYYYMMDD day_obs, ISO)"
    )
    listing.add_argument(
        "--until", type=_time_arg, help="only images triggered before (YYYYMMDD day_obs, ISO)"
    )

    show = commands.add_parser("show", help="show one image's metadata and sources")
    show.add_argument("name", help="image name, e.g. MC_O_20241123_000123")
    show.add_argument("--folder", default="raw")

    read = commands.add_parser("read", help="read and decode one source; print per-amplifier statistics")
    read.add_argument("name", help="image name")
    read.add_argument("source", help="source location, e.g. R22/Reb1 or 22/1")
    read.add_argument("--folder", default="raw")
    read.add_argument("--output", help="also save the decoded int32 pixels to this .npy file")
    read.add_argument("--no-verify", action="store_true", help="skip the checksum check")

    commands.add_parser("capacity", help="show capacity, used and remaining space")
    return parser


def _list(store: EmulatedDaqStore, args: argparse.Namespace) -> None:
    folder = None if args.all_folders else args.folder
    images = store.list_images(folder, since=args.since, until=args.until)
    if not images:
        where = "any folder" if folder is None else f"folder {folder!r}"
        print(f"no images in {where} of partition {store.partition!r}")
        return
    print(f"{'NAME':<28} {'FOLDER':<8} {'TRIGGERED':<28} {'SOURCES':>7} {'GB':>7}  {'STATE':<10} TAG")
    for image in images:
        state = (
            "complete" if image.complete else f"{sum(s.complete for s in image.sources)}/{len(image.sources)}"
        )
        print(
            f"{image.name:<28} {image.folder:<8} {_tai_iso(image.timestamp):<28} "
            f"{len(image.sources):>7} {image.size / _GB:>7.2f}  {state:<10} {image.tag_hex}"
        )
    print(f"{len(images)} images")


def _show(store: EmulatedDaqStore, args: argparse.Namespace) -> None:
    image: ImageMetadata = store.find_image(args.name, args.folder)
    print(f"name        {image.name}")
    if ImageName.is_valid(image.name):
        parsed = ImageName.parse(image.name)
        print(f"obsid       day_obs {parsed.day_obs}, seq {parsed.seq_num}, controller {parsed.controller}")
    print(f"partition   {image.partition}")
    print(f"folder      {image.folder}")
    print(f"annotation  {image.annotation!r}")
    print(f"opcode      {image.opcode}")
    print(f"triggered   {_tai_iso(image.timestamp)} ({image.timestamp:.3f})")
    print(f"tag         {image.tag_hex}")
    print(f"release     {image.release}")
    print(f"complete    {'yes' if image.complete else 'no'}")
    print(f"size        {image.size:,} bytes in {len(image.sources)} sources")
    print()
    print(f"{'SOURCE':<10} {'TYPE':<10} {'DETECTORS':<28} {'NAXIS':<10} {'BYTES':>13} {'DONE':<5} CRC32")
    for source in image.sources:
        detectors = " ".join(d.name for d in store.camera.reb(source.location).detectors)
        crc = f"{source.checksum:08x}" if source.checksum is not None else "-"
        print(
            f"{str(source.location):<10} {source.sensor_type:<10} {detectors:<28} "
            f"{source.naxis1}x{source.naxis2:<6} {source.size:>13,} {'yes' if source.complete else 'no':<5} {crc}"
        )


def _read(store: EmulatedDaqStore, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    decoded = store.decode_source(args.name, args.source, args.folder, verify=not args.no_verify)
    elapsed = time.perf_counter() - start
    source = decoded.source
    print(
        f"{args.name} {source.location}: {source.size:,} packed bytes -> {decoded.pixels.nbytes:,} bytes int32 "
        f"read and decoded in {elapsed:.3f} s ({decoded.pixels.nbytes / elapsed / 1e6:.0f} MB/s of int32)"
    )
    print(f"{'DETECTOR':<9} {'SEGMENT':<10} {'MEDIAN':>9} {'STDDEV':>9} {'MIN':>7} {'MAX':>7}")
    for detector, amplifiers in decoded:
        for amp, pixels in zip(detector.amplifiers, amplifiers, strict=True):
            print(
                f"{detector.name:<9} {amp.extname:<10} {float(np.median(pixels)):>9.1f} "
                f"{float(pixels.std()):>9.2f} {int(pixels.min()):>7} {int(pixels.max()):>7}"
            )
    if args.output:
        np.save(args.output, decoded.pixels)
        print(f"saved {decoded.pixels.shape} int32 to {args.output}")


def _capacity(store: EmulatedDaqStore, args: argparse.Namespace) -> None:
    capacity = store.capacity()
    images = store.list_images(None)
    share = 100.0 * capacity.used / capacity.capacity if capacity.capacity else 0.0
    print(f"partition   {store.partition}")
    print(f"capacity    {capacity.capacity / _GB:,.2f} GB")
    print(f"used        {capacity.used / _GB:,.2f} GB ({share:.1f}%) by {len(images)} images")
    print(f"remaining   {capacity.remaining / _GB:,.2f} GB")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``daq_store``; returns the process exit code (0 ok, 1 error, 2 usage)."""
    args = _parser().parse_args(argv)
    if not args.root:
        print("daq_store: error: give --root DIR (or set DAQ_STORE_ROOT)", file=sys.stderr)
        return 2
    try:
        with EmulatedDaqStore(args.root, args.partition, create=False) as store:
            {"list": _list, "show": _show, "read": _read, "capacity": _capacity}[args.command](store, args)
    except (DaqError, CameraModelError, KeyError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"daq_store: error: {message}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return 0
