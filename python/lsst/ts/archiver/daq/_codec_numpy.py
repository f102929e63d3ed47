"""numpy kernels for the 18-bit packed stream.

The packed words are processed in chunks of samples that stay in the CPU
cache: each chunk is transposed so that every word position is a
contiguous vector, and each of the 16 values of a 9-word group is then
extracted with one or two whole-vector shifts, an OR and a mask, written
straight into the output rows.
"""

from __future__ import annotations

__all__ = ["decode_numpy", "encode_numpy"]

import numpy as np

from .stream_format import BITS_PER_VALUE, CHANNELS_PER_CCD, VALUE_MASK, WORDS_PER_CCD_SAMPLE

_CHUNK = 16384
# (word index, bit offset) of each of the 16 values in a 9-word group.
_POSITIONS = tuple(divmod(BITS_PER_VALUE * k, 32) for k in range(CHANNELS_PER_CCD))


def _pattern(xor: int) -> np.ndarray:
    """The 9 words that scramble all 16 values of a group with ``xor``."""
    words = [0] * WORDS_PER_CCD_SAMPLE
    for word, offset in _POSITIONS:
        value = xor << offset
        words[word] |= value & 0xFFFFFFFF
        if offset + BITS_PER_VALUE > 32:
            words[word + 1] |= value >> 32
    return np.array(words, dtype=np.uint32)


def decode_numpy(words: np.ndarray, n_groups: int, targets: np.ndarray, xor: int, out: np.ndarray) -> None:
    """Decode packed words into ``out`` (int32, shape ``(n_targets, n_samples)``).

    ``words`` is a 1-D uint32 array of ``n_samples * n_groups * 9`` words;
    value ``16 g + k`` of each sample goes to row ``targets[16 g + k]``.
    """
    n_samples = out.shape[1]
    grouped = words.reshape(n_samples, n_groups, WORDS_PER_CCD_SAMPLE)
    pattern = _pattern(xor)
    out_u = out.view(np.uint32)
    buf = np.empty((n_groups, WORDS_PER_CCD_SAMPLE, _CHUNK), dtype=np.uint32)
    tmp = np.empty(_CHUNK, dtype=np.uint32)
    for start in range(0, n_samples, _CHUNK):
        stop = min(start + _CHUNK, n_samples)
        n = stop - start
        block = buf[:, :, :n]
        np.bitwise_xor(grouped[start:stop].transpose(1, 2, 0), pattern[None, :, None], out=block)
        t = tmp[:n]
        for g in range(n_groups):
            gw = block[g]
            for k, (word, offset) in enumerate(_POSITIONS):
                dst = out_u[targets[g * CHANNELS_PER_CCD + k], start:stop]
                if offset + BITS_PER_VALUE <= 32:
                    np.right_shift(gw[word], offset, out=dst)
                    if offset + BITS_PER_VALUE < 32:
                        np.bitwise_and(dst, VALUE_MASK, out=dst)
                else:
                    np.right_shift(gw[word], offset, out=t)
                    np.left_shift(gw[word + 1], 32 - offset, out=dst)
                    np.bitwise_or(dst, t, out=dst)
                    np.bitwise_and(dst, VALUE_MASK, out=dst)


def encode_numpy(src: np.ndarray, n_groups: int, targets: np.ndarray, xor: int, words: np.ndarray) -> bool:
    """Pack ``src`` (int32, ``(n_targets, n_samples)``) into ``words``.

    Returns False (leaving ``words`` partly written) if a value is outside
    0 .. 2**18 - 1.
    """
    n_samples = src.shape[1]
    grouped = words.reshape(n_samples, n_groups, WORDS_PER_CCD_SAMPLE)
    src_u = src.view(np.uint32)
    buf = np.empty((n_groups, WORDS_PER_CCD_SAMPLE, _CHUNK), dtype=np.uint32)
    value = np.empty(_CHUNK, dtype=np.uint32)
    tmp = np.empty(_CHUNK, dtype=np.uint32)
    for start in range(0, n_samples, _CHUNK):
        stop = min(start + _CHUNK, n_samples)
        n = stop - start
        block = buf[:, :, :n]
        v = value[:n]
        t = tmp[:n]
        for g in range(n_groups):
            gw = block[g]
            for k, (word, offset) in enumerate(_POSITIONS):
                row = src_u[targets[g * CHANNELS_PER_CCD + k], start:stop]
                if int(np.max(row)) > VALUE_MASK:
                    return False
                np.bitwise_xor(row, xor, out=v)
                if offset == 0:
                    np.copyto(gw[word], v)
                else:
                    np.left_shift(v, offset, out=t)
                    np.bitwise_or(gw[word], t, out=gw[word])
                if offset + BITS_PER_VALUE > 32:
                    # The high bits start the next word: its first write, so no zero fill is needed.
                    np.right_shift(v, 32 - offset, out=gw[word + 1])
        grouped[start:stop] = block.transpose(2, 0, 1)
    return True
