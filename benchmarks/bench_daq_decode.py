#!/usr/bin/env python
"""DAQ source decode/encode throughput, side by side with a floor and a reference.

For one science REB (3 CCDs x 16 amplifiers x 576 x 2048, 127.4 MB packed,
226.5 MB of int32 output) this measures, on the same data in one run:

* floor: ``numpy.ndarray.tofile`` of the int32 output bytes (to a temporary
  file, i.e. into the page cache) -- what merely writing the bytes costs;
* ours: `lsst.ts.archiver.daq.decode_source` (into a reused output array,
  and into a freshly allocated one);
* reference: a straightforward whole-array numpy decode (uint64 words,
  one shift/mask per value, then a fancy-indexed transpose), the approach
  that costs about 1 s per REB in the research notes;
* encode: `encode_source`, ours and the straightforward numpy packer.

Throughput is MB/s (10**6 bytes) of int32 output per core (single-threaded;
CPU time is printed next to wall time). The full LSSTCam image (63 science,
4 guider, 4 wavefront REBs) is ESTIMATED from the per-REB-kind timings of a
subset: one science REB of each vendor, one guider and one wavefront REB.

Run: ``.venv/bin/python benchmarks/bench_daq_decode.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np

from lsst.ts.archiver.camera import LSSTCAM, RebKind
from lsst.ts.archiver.daq import PixelGenerator, decode_source, encode_source, stream_layout


def _measure(func: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``func`` over ``repeat`` runs (after one warm-up)."""
    func()
    walls, cpus = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        func()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def reference_decode(words: np.ndarray, kind: RebKind, naxis1: int, naxis2: int) -> np.ndarray:
    """Straightforward numpy decode: whole-array uint64 shifts, then reorder."""
    layout = stream_layout(kind)
    n_samples = naxis1 * naxis2
    groups = words.reshape(-1, 9).astype(np.uint64)
    values = np.empty((groups.shape[0], 16), dtype=np.uint32)
    for k in range(16):
        word, offset = divmod(18 * k, 32)
        v = groups[:, word] >> np.uint64(offset)
        if offset + 18 > 32:
            v = v | (groups[:, word + 1] << np.uint64(32 - offset))
        values[:, k] = (v & np.uint64(0x3FFFF)) ^ np.uint64(layout.xor)
    per_sample = values.reshape(n_samples, layout.n_channels)
    out = np.empty((layout.n_detectors * layout.amps_per_detector, n_samples), dtype=np.int32)
    out[list(layout.flat_targets())] = per_sample.T
    return out.reshape(layout.n_detectors, layout.amps_per_detector, naxis2, naxis1)


def reference_encode(pixels: np.ndarray, kind: RebKind) -> np.ndarray:
    """Straightforward numpy packer: gather channels, then uint64 shifts into words."""
    layout = stream_layout(kind)
    n_samples = pixels.shape[2] * pixels.shape[3]
    flat = pixels.reshape(-1, n_samples)
    stream = (flat[list(layout.flat_targets())].T.astype(np.uint64) ^ np.uint64(layout.xor)).reshape(-1, 16)
    words = np.zeros((stream.shape[0], 9), dtype=np.uint64)
    for k in range(16):
        word, offset = divmod(18 * k, 32)
        words[:, word] |= (stream[:, k] << np.uint64(offset)) & np.uint64(0xFFFFFFFF)
        if offset + 18 > 32:
            words[:, word + 1] |= stream[:, k] >> np.uint64(32 - offset)
    return words.astype(np.uint32).reshape(-1)


def _mbps(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (median)")
    args = parser.parse_args()
    repeat = args.repeat

    generator = PixelGenerator(signal=5000.0)
    science_reb = LSSTCAM.reb("R22/Reb1")
    pixels = generator.source_pixels("MC_O_20241123_000001", science_reb)
    words = encode_source(pixels, RebKind.SCIENCE)
    out = np.empty_like(pixels)
    nbytes = pixels.nbytes
    print(
        f"science REB {science_reb.name}: {words.nbytes / 1e6:.1f} MB packed -> {nbytes / 1e6:.1f} MB int32"
    )
    print(f"timings: median of {repeat} runs after a warm-up; single thread\n")

    assert np.array_equal(decode_source(words, RebKind.SCIENCE, 576, 2048), pixels)
    assert np.array_equal(reference_decode(words, RebKind.SCIENCE, 576, 2048), pixels)
    assert np.array_equal(reference_encode(pixels, RebKind.SCIENCE), words)

    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "floor.bin")
        floor = _measure(lambda: pixels.tofile(path), repeat)
    rows = [
        ("floor: numpy tofile of the int32 bytes", floor),
        ("ours: decode_source into reused array", _measure(
            lambda: decode_source(words, RebKind.SCIENCE, 576, 2048, out=out), repeat)),
        ("ours: decode_source, new array", _measure(
            lambda: decode_source(words, RebKind.SCIENCE, 576, 2048), repeat)),
        ("reference: straightforward numpy decode", _measure(
            lambda: reference_decode(words, RebKind.SCIENCE, 576, 2048), max(1, repeat - 1))),
        ("ours: encode_source", _measure(lambda: encode_source(pixels, RebKind.SCIENCE), repeat)),
        ("reference: straightforward numpy encode", _measure(
            lambda: reference_encode(pixels, RebKind.SCIENCE), max(1, repeat - 1))),
    ]  # fmt: skip
    print(f"{'per science REB':<44} {'wall s':>8} {'cpu s':>8} {'MB/s':>8} {'x floor':>8}")
    for label, (wall, cpu) in rows:
        print(f"{label:<44} {wall:>8.3f} {cpu:>8.3f} {_mbps(nbytes, wall):>8.0f} {wall / floor[0]:>8.2f}")
    ours_decode = rows[1][1][0]
    ours_encode = rows[4][1][0]
    print(
        f"\ndecode speed-up over the reference: {rows[3][1][0] / ours_decode:.1f}x "
        f"(new array: {rows[3][1][0] / rows[2][1][0]:.1f}x)"
    )
    print(f"encode speed-up over the reference: {rows[5][1][0] / ours_encode:.1f}x")
    print(f"decode vs floor: {ours_decode / floor[0]:.2f}x the time of writing the same bytes with tofile")

    # Full LSSTCam image, estimated from one REB of each kind (and each vendor).
    per_kind: dict[str, tuple[float, float, int]] = {}
    for label, location in (("science ITL", "R01/Reb0"), ("science E2V", "R22/Reb1"),
                            ("guider", "R00/RebG"), ("wavefront", "R00/RebW")):  # fmt: skip
        reb = LSSTCAM.reb(location)
        reb_pixels = generator.source_pixels("MC_O_20241123_000002", reb)
        reb_words = encode_source(reb_pixels, reb.kind)
        reb_out = np.empty_like(reb_pixels)
        dec, _ = _measure(
            functools.partial(decode_source, reb_words, reb.kind, 576, 2048, out=reb_out), repeat
        )
        enc, _ = _measure(functools.partial(encode_source, reb_pixels, reb.kind), repeat)
        per_kind[label] = (dec, enc, reb_pixels.nbytes)
    counts = {"science ITL": 24, "science E2V": 39, "guider": 4, "wavefront": 4}
    total_bytes = sum(per_kind[k][2] * n for k, n in counts.items())
    total_dec = sum(per_kind[k][0] * n for k, n in counts.items())
    total_enc = sum(per_kind[k][1] * n for k, n in counts.items())
    floor_image = floor[0] * total_bytes / nbytes
    print(
        "\nfull LSSTCam image (ESTIMATED from one REB of each kind: 24 ITL + 39 e2v science, 4 guider, 4 wavefront)"
    )
    for label, (dec, enc, size) in per_kind.items():
        print(
            f"  {label:<12} decode {dec:.3f} s ({_mbps(size, dec):.0f} MB/s)  encode {enc:.3f} s ({_mbps(size, enc):.0f} MB/s)"
        )
    print(
        f"  {total_bytes / 1e9:.2f} GB int32: decode {total_dec:.1f} s per core ({_mbps(total_bytes, total_dec):.0f} MB/s), "
        f"encode {total_enc:.1f} s per core; floor (tofile, scaled) {floor_image:.1f} s; "
        f"decode/floor {total_dec / floor_image:.2f}x"
    )
    print(
        f"  cadence check: one image every 17 s needs {total_dec / 17:.2f} cores to decode, "
        f"{total_enc / 17:.2f} cores to encode"
    )


if __name__ == "__main__":
    main()
