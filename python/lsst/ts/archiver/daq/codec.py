"""Encode and decode DAQ sources: per-detector, per-amplifier int32 pixels <-> packed words.

The kernels are pure numpy (`lsst.ts.archiver.daq._codec_numpy`): the
packed words are transposed chunk by chunk so that every value is extracted
with a few whole-vector shifts and masks. On one core this decodes a
science REB at several GB/s of int32 output, faster than a numba loop over
samples measured on the same machine, so no compiled dependency is needed
(see benchmarks/bench_daq_decode.py).

Both functions are CPU-bound; call them from a worker thread or process,
not from an event loop. numpy releases the GIL inside each vector
operation, so threads overlap well.
"""

from __future__ import annotations

__all__ = [
    "decode_source",
    "encode_source",
    "packed_size",
]

import functools
from collections.abc import Sequence

import numpy as np

from ..camera import RebKind
from ._codec_numpy import decode_numpy, encode_numpy
from .errors import SourceDataError, TruncatedSourceError
from .stream_format import VALUE_MASK, StreamLayout, stream_layout


@functools.cache
def _targets(kind: RebKind) -> np.ndarray:
    return np.array(stream_layout(kind).flat_targets(), dtype=np.int64)


def packed_size(kind: RebKind, naxis1: int, naxis2: int) -> int:
    """Bytes of packed data of one source with amplifiers of ``naxis1 x naxis2`` pixels."""
    return stream_layout(kind).packed_size(naxis1 * naxis2)


def _as_words(data: bytes | bytearray | memoryview | np.ndarray, what: str, expected: int) -> np.ndarray:
    if isinstance(data, np.ndarray):
        nbytes = data.nbytes
        flat = data.reshape(-1)
        words = flat.view(np.uint32) if flat.dtype != np.uint32 else flat
    else:
        view = memoryview(data)
        nbytes = view.nbytes
        words = np.frombuffer(view, dtype=np.uint8) if nbytes % 4 else np.frombuffer(view, dtype="<u4")
    if nbytes != expected:
        raise TruncatedSourceError(what, expected, nbytes)
    if words.dtype.byteorder == ">":
        words = words.astype("<u4")
    return np.ascontiguousarray(words)


def decode_source(
    data: bytes | bytearray | memoryview | np.ndarray,
    kind: RebKind,
    naxis1: int,
    naxis2: int,
    *,
    out: np.ndarray | None = None,
    what: str = "DAQ source",
) -> np.ndarray:
    """Decode one source's packed data into int32 pixels in FITS order.

    Parameters
    ----------
    data : buffer or `numpy.ndarray`
        The packed little-endian 32-bit words of the source.
    kind : `RebKind`
        The REB kind (fixes XOR constant, CCD and channel order).
    naxis1, naxis2 : `int`
        Columns and rows of each amplifier (from the source's register list).
    out : `numpy.ndarray`, optional
        Preallocated C-contiguous int32 array of the result shape.
    what : `str`
        Description used in error messages (e.g. image name and location).

    Returns
    -------
    pixels : `numpy.ndarray`
        int32, shape ``(n_detectors, n_amplifiers, naxis2, naxis1)``:
        detectors in `Reb.detectors` order, amplifiers in FITS HDU order
        (``Segment10..17, 07..00``; ``Segment10..17`` for wavefront halves).

    Raises
    ------
    TruncatedSourceError
        If the data size does not match the geometry.
    """
    layout = stream_layout(kind)
    n_samples = naxis1 * naxis2
    words = _as_words(data, what, layout.packed_size(n_samples))
    shape = (layout.n_detectors, layout.amps_per_detector, naxis2, naxis1)
    if out is None:
        out = np.empty(shape, dtype=np.int32)
    elif out.shape != shape or out.dtype != np.int32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous int32 array of shape {shape}")
    decode_numpy(words, layout.n_groups, _targets(kind), layout.xor, out.reshape(-1, n_samples))
    return out


def _stack(pixels: np.ndarray | Sequence[np.ndarray], layout: StreamLayout) -> np.ndarray:
    if isinstance(pixels, np.ndarray):
        stacked = pixels
    else:
        if len(pixels) != layout.n_detectors:
            raise ValueError(
                f"{layout.kind.value} source needs {layout.n_detectors} detectors' pixels, got {len(pixels)}"
            )
        stacked = np.stack([np.asarray(p) for p in pixels])
    if stacked.ndim != 4 or stacked.shape[:2] != (layout.n_detectors, layout.amps_per_detector):
        raise ValueError(
            f"{layout.kind.value} source pixels must have shape "
            f"({layout.n_detectors}, {layout.amps_per_detector}, naxis2, naxis1), got {stacked.shape}"
        )
    return np.ascontiguousarray(stacked, dtype=np.int32)


def encode_source(pixels: np.ndarray | Sequence[np.ndarray], kind: RebKind) -> np.ndarray:
    """Pack per-detector, per-amplifier pixels into a source's words (inverse of `decode_source`).

    Parameters
    ----------
    pixels : `numpy.ndarray` or sequence of `numpy.ndarray`
        int32 values 0 .. 2**18 - 1, shape
        ``(n_detectors, n_amplifiers, naxis2, naxis1)``, or one
        ``(n_amplifiers, naxis2, naxis1)`` array per detector in
        `Reb.detectors` order, amplifiers in FITS HDU order.
    kind : `RebKind`
        The REB kind.

    Returns
    -------
    words : `numpy.ndarray`
        uint32 (little-endian on this machine) packed data; ``words.tobytes()``
        is the source content.

    Raises
    ------
    SourceDataError
        If a value does not fit in 18 bits.
    ValueError
        If the shapes do not match the REB kind.
    """
    layout = stream_layout(kind)
    stacked = _stack(pixels, layout)
    n_samples = stacked.shape[2] * stacked.shape[3]
    words = np.empty(layout.packed_size(n_samples) // 4, dtype=np.uint32)
    ok = encode_numpy(stacked.reshape(-1, n_samples), layout.n_groups, _targets(kind), layout.xor, words)
    if not ok:
        low, high = int(stacked.min()), int(stacked.max())
        raise SourceDataError(
            f"pixel values must be 0..{VALUE_MASK} (18 bits) to pack a {kind.value} source; "
            f"found {low}..{high}"
        )
    return words
