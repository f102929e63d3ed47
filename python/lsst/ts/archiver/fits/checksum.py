"""FITS CHECKSUM/DATASUM: 32-bit ones' complement sums, computed with numpy.

The FITS checksum convention (FITS 4.0 Appendix J): ``DATASUM`` is the
32-bit ones' complement sum of the big-endian 32-bit words of the data unit,
written as an unsigned decimal string; ``CHECKSUM`` is a 16-character ASCII
encoding of the complement of the sum of the whole HDU computed while the
``CHECKSUM`` value reads ``'0000000000000000'``, chosen so that the HDU sums
to negative zero (``0xFFFFFFFF``).

The data words of a big-endian int32 image have the same values as the
native int32 array read as unsigned, so the sum is taken on the native
array: no byte swap is needed to checksum.
"""

from __future__ import annotations

__all__ = [
    "CHECKSUM_PLACEHOLDER",
    "FILE_DIGESTS",
    "FileDigest",
    "add_ones_complement",
    "bytes_sum",
    "encode_checksum",
    "words_sum",
]

import hashlib
import zlib

import numpy as np
import numpy.typing as npt

CHECKSUM_PLACEHOLDER = "0" * 16
"""The CHECKSUM value while the HDU sum is computed."""

FILE_DIGESTS = ("crc32", "md5", "sha256")
"""Digests of a whole file `FileDigest` computes."""

_MASK32 = 0xFFFFFFFF
# Punctuation between the digits and letters that the encoding avoids.
_EXCLUDED = frozenset(range(0x3A, 0x41)) | frozenset(range(0x5B, 0x61))
_OFFSET = 0x30
_BLOCK = 8192
_SMALL_WORD = 1 << 19  # 8192 words below this sum to less than 2**32


def _fold(total: int) -> int:
    """Fold carries above bit 31 back in (end-around carry)."""
    while total > _MASK32:
        total = (total & _MASK32) + (total >> 32)
    return total


def add_ones_complement(*sums: int) -> int:
    """Add 32-bit ones' complement sums.

    Parameters
    ----------
    *sums : `int`
        Partial sums, each in ``0 .. 2**32 - 1``.

    Returns
    -------
    total : `int`
        Their ones' complement sum.
    """
    return _fold(sum(sums))


def words_sum(words: npt.NDArray[np.integer], *, sample_bits: int | None = None) -> int:
    """Ones' complement sum of an array of 32-bit words.

    Parameters
    ----------
    words : `numpy.ndarray`
        A 32-bit integer array (``int32``/``uint32`` in either byte order).
        Its element *values* are summed as unsigned 32-bit words, which is
        the sum of the data unit it serializes to in big-endian order.
    sample_bits : `int`, optional
        The caller guarantees every value is in ``0 .. 2**sample_bits - 1``
        (the DAQ decoder yields 18-bit samples). At 19 or less this skips
        the range check of the fast path; a wrong promise gives a wrong sum.

    Returns
    -------
    total : `int`
        The 32-bit ones' complement sum.
    """
    array = np.asarray(words)
    if array.dtype.itemsize != 4 or array.dtype.kind not in "iu":
        raise TypeError(f"words_sum needs 32-bit integers, got dtype {array.dtype}")
    unsigned = array.view(array.dtype.byteorder.replace("|", "=") + "u4").reshape(-1)
    if unsigned.dtype.isnative and unsigned.size >= _BLOCK:
        # Fast path for camera data (18-bit samples): with every word below
        # 2**19, blocks of 8192 words sum exactly in native uint32, which is
        # ~4x faster than numpy's uint32 -> uint64 casting reduction.
        small = sample_bits is not None and 0 < sample_bits <= 19
        if small or int(unsigned.max()) < _SMALL_WORD:
            whole = unsigned.size - unsigned.size % _BLOCK
            blocks = unsigned[:whole].reshape(-1, _BLOCK).sum(axis=1, dtype=np.uint32)
            total = int(blocks.sum(dtype=np.uint64)) + int(unsigned[whole:].sum(dtype=np.uint64))
            return _fold(total)
    return _fold(int(unsigned.sum(dtype=np.uint64)))


def bytes_sum(data: bytes | bytearray | memoryview) -> int:
    """Ones' complement sum of a byte string read as big-endian 32-bit words.

    Parameters
    ----------
    data : `bytes`
        Bytes whose length is a multiple of 4 (a header or a padded data
        unit).

    Returns
    -------
    total : `int`
        The 32-bit ones' complement sum.
    """
    if len(data) % 4:
        raise ValueError(f"checksummed bytes must be a multiple of 4 long, got {len(data)}")
    return _fold(int(np.frombuffer(data, dtype=">u4").sum(dtype=np.uint64)))


def encode_checksum(hdu_sum: int) -> str:
    """Encode the CHECKSUM value for an HDU.

    Parameters
    ----------
    hdu_sum : `int`
        Ones' complement sum of the whole HDU (header with the CHECKSUM value
        set to `CHECKSUM_PLACEHOLDER`, plus the data sum).

    Returns
    -------
    checksum : `str`
        16 characters from ``0-9A-Za-z`` which, written over the placeholder,
        make the HDU sum to negative zero.
    """
    value = ~hdu_sum & _MASK32
    chars = [0] * 16
    for byte_index in range(4):
        byte = (value >> (24 - 8 * byte_index)) & 0xFF
        quotient, remainder = divmod(byte, 4)
        group = [quotient + _OFFSET] * 4
        group[0] += remainder
        # Move weight between pairs of characters until none is punctuation;
        # each pair keeps its sum so the encoded value does not change.
        changed = True
        while changed:
            changed = False
            for first in (0, 2):
                while group[first] in _EXCLUDED or group[first + 1] in _EXCLUDED:
                    group[first] += 1
                    group[first + 1] -= 1
                    changed = True
        for position in range(4):
            chars[4 * position + byte_index] = group[position]
    # The encoding is defined on words starting one byte late: rotate right.
    rotated = chars[-1:] + chars[:-1]
    return bytes(rotated).decode("ascii")


class FileDigest:
    """A digest of a file's bytes, fed in file order as they are written.

    The writer hashes each buffer as it goes out, so the file is never read
    back to know its digest (``md5`` of a ComCam CCD is ~75 MB of hashing
    either way, but without the second pass over the disk or page cache).

    Parameters
    ----------
    algorithm : `str`
        One of `FILE_DIGESTS`.
    """

    def __init__(self, algorithm: str) -> None:
        if algorithm not in FILE_DIGESTS:
            raise ValueError(f"digest {algorithm!r} is not one of {FILE_DIGESTS}")
        self.algorithm = algorithm
        self._crc = 0
        self._hash = None if algorithm == "crc32" else hashlib.new(algorithm, usedforsecurity=False)
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Add the next bytes of the file."""
        view = memoryview(data).cast("B")
        if self._hash is None:
            self._crc = zlib.crc32(view, self._crc)
        else:
            self._hash.update(view)
        self.size += view.nbytes

    def value(self) -> str:
        """``"<algorithm>:<hex>"`` of the bytes so far (the sidecar's form)."""
        if self._hash is None:
            return f"crc32:{self._crc:08x}"
        return f"{self.algorithm}:{self._hash.hexdigest()}"
