"""DATASUM/CHECKSUM computation against astropy and a slow reference."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.io import fits

from lsst.ts.archiver.fits import (
    Card,
    HeaderTemplate,
    bytes_sum,
    encode_checksum,
    image_extension_cards,
    seal_image,
    words_sum,
)


def reference_sum(array: np.ndarray) -> int:
    """Ones' complement sum of the big-endian words, the slow obvious way."""
    words = np.frombuffer(array.astype(">i4").tobytes(), dtype=">u4").astype(np.uint64)
    total = int(words.sum())
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


@pytest.mark.parametrize(
    "low, high, size",
    [
        (0, 2**18, 2048 * 576),  # camera data: fast path
        (0, 2**18, 8192 * 3 + 17),  # fast path with a partial block
        (-(2**31), 2**31 - 1, 100_003),  # negative values: exact slow path
        (2**19, 2**31 - 1, 50_000),  # large positive values
    ],
)
def test_words_sum_matches_reference(low: int, high: int, size: int) -> None:
    data = np.random.default_rng(size).integers(low, high, size=size, dtype=np.int32)
    assert words_sum(data) == reference_sum(data)
    assert words_sum(data.astype(">i4")) == reference_sum(data)


def test_words_sum_with_promised_sample_bits_matches_reference() -> None:
    data = np.random.default_rng(3).integers(0, 2**18, size=(2048, 576), dtype=np.int32)
    assert words_sum(data, sample_bits=18) == reference_sum(data)


def test_words_sum_rejects_non_32_bit_arrays() -> None:
    with pytest.raises(TypeError, match="32-bit"):
        words_sum(np.zeros(4, dtype=np.int16))


def test_bytes_sum_rejects_lengths_not_multiple_of_four() -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        bytes_sum(b"abc")


def test_encoded_checksum_makes_the_hdu_sum_to_negative_zero() -> None:
    data = np.random.default_rng(1).integers(0, 2**18, size=(64, 32), dtype=np.int32)
    template = HeaderTemplate.from_cards(image_extension_cards(32, 64) + [Card("EXTNAME", "Segment10")])
    hdu = seal_image(template, data, np.empty(data.shape, ">i4"))
    whole = b"".join(bytes(b) for b in hdu.buffers())
    assert bytes_sum(whole) == 0xFFFFFFFF
    assert hdu.datasum == reference_sum(data)
    assert len(hdu.checksum) == 16 and hdu.checksum.isalnum()


def test_checksum_values_agree_with_astropy(tmp_path) -> None:
    data = np.random.default_rng(2).integers(-1000, 2**18, size=(2048, 576), dtype=np.int32)
    template = HeaderTemplate.from_cards(image_extension_cards(576, 2048) + [Card("EXTNAME", "Segment00")])
    hdu = seal_image(template, data, np.empty(data.shape, ">i4"))
    header = fits.Header.fromstring(hdu.header.decode("ascii"))
    reference = fits.ImageHDU(data, header=header)
    reference.add_checksum()
    assert header["DATASUM"] == reference.header["DATASUM"]
    assert header["CHECKSUM"] == hdu.checksum
    # A file made of an empty primary and this HDU verifies in astropy.
    primary = fits.PrimaryHDU()
    primary.add_checksum()
    path = tmp_path / "one.fits"
    path.write_bytes(primary.header.tostring().encode() + b"".join(bytes(b) for b in hdu.buffers()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(path, checksum=True) as hdus:
            assert np.array_equal(hdus[1].data, data)


def test_encode_checksum_uses_only_alphanumerics() -> None:
    for value in (0, 1, 0x3A3A3A3A, 0x5B5B5B5B, 0xFFFFFFFF, 0x12345678):
        assert encode_checksum(value).isalnum()
