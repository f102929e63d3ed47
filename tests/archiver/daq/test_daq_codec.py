"""Packed 18-bit stream: exact inverse, bit layout, XOR, CCD/channel order (reference §2.4)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lsst.ts.archiver.camera import LSSTCAM, RebKind
from lsst.ts.archiver.daq.codec import decode_source, encode_source, packed_size
from lsst.ts.archiver.daq.errors import SourceDataError, TruncatedSourceError
from lsst.ts.archiver.daq.stream_format import stream_layout

MAX = 2**18 - 1
SHAPES = {RebKind.SCIENCE: (3, 16), RebKind.GUIDER: (2, 16), RebKind.WAVEFRONT: (2, 8), RebKind.WREB: (1, 16)}


def _reference_stream_order(kind: RebKind) -> list[tuple[int, str]]:
    """(detector index, segment name) of each channel of one sample, from the documented rules."""
    if kind is RebKind.SCIENCE:
        # CCDs slot 2, 1, 0; DAQ channels S00..S07 then S10..S17.
        return [(ccd, f"{half}{col}") for ccd in (2, 1, 0) for half in (0, 1) for col in range(8)]
    if kind is RebKind.GUIDER:
        # SG1 first; identity onto FITS order Segment10..17, 07..00.
        fits = [f"1{c}" for c in range(8)] + [f"0{c}" for c in range(7, -1, -1)]
        return [(ccd, seg) for ccd in (1, 0) for seg in fits]
    if kind is RebKind.WAVEFRONT:
        return [(half, f"1{c}") for half in (0, 1) for c in range(8)]
    # WREB: channels 0..7 -> Segment00..07, 8..15 -> Segment17..10.
    return [(0, f"0{c}") for c in range(8)] + [(0, f"1{c}") for c in range(7, -1, -1)]


def _fits_index(segment: str, n_amps: int) -> int:
    fits = [f"1{c}" for c in range(8)] + [f"0{c}" for c in range(7, -1, -1)]
    return fits[:n_amps].index(segment)


def _reference_encode(pixels: np.ndarray, kind: RebKind) -> bytes:
    """Bit-accumulator packer written independently of the library."""
    xor = 0x1FFFF if kind is RebKind.SCIENCE else 0x20000
    n_amps = pixels.shape[1]
    order = _reference_stream_order(kind)
    flat = pixels.reshape(pixels.shape[0], n_amps, -1)
    acc = 0
    nbits = 0
    for t in range(flat.shape[2]):
        for det, seg in order:
            acc |= (int(flat[det, _fits_index(seg, n_amps), t]) ^ xor) << nbits
            nbits += 18
    assert nbits % 32 == 0
    return acc.to_bytes(nbits // 8, "little")


@st.composite
def _pixels(draw: st.DrawFn, kind: RebKind) -> np.ndarray:
    n_det, n_amps = SHAPES[kind]
    ny = draw(st.integers(1, 3))
    nx = draw(st.integers(1, 4))
    elements = st.one_of(st.sampled_from([0, MAX, 1, 0x20000, 0x1FFFF]), st.integers(0, MAX))
    return draw(hnp.arrays(np.int32, (n_det, n_amps, ny, nx), elements=elements))


@pytest.mark.parametrize("kind", list(RebKind))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_decode_inverts_encode_for_any_18_bit_values(kind: RebKind, data: st.DataObject) -> None:
    pixels = data.draw(_pixels(kind))
    words = encode_source(pixels, kind)
    decoded = decode_source(words, kind, pixels.shape[3], pixels.shape[2])
    np.testing.assert_array_equal(decoded, pixels)
    assert decoded.dtype == np.int32


@pytest.mark.parametrize("kind", list(RebKind))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_encode_matches_independent_bit_accumulator(kind: RebKind, data: st.DataObject) -> None:
    pixels = data.draw(_pixels(kind))
    assert encode_source(pixels, kind).tobytes() == _reference_encode(pixels, kind)


@pytest.mark.parametrize("kind", list(RebKind))
def test_round_trip_full_size_with_extremes(kind: RebKind) -> None:
    n_det, n_amps = SHAPES[kind]
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, MAX + 1, size=(n_det, n_amps, 2048, 576), dtype=np.int32)
    pixels[..., 0, 0] = 0
    pixels[..., -1, -1] = MAX
    words = encode_source(pixels, kind)
    assert words.nbytes == packed_size(kind, 576, 2048) == 1_179_648 * 36 * (n_det * n_amps // 16)
    np.testing.assert_array_equal(decode_source(words, kind, 576, 2048), pixels)


def test_science_source_is_127401984_bytes() -> None:
    assert packed_size(RebKind.SCIENCE, 576, 2048) == 127_401_984
    assert stream_layout(RebKind.SCIENCE).bytes_per_sample == 108
    assert stream_layout(RebKind.GUIDER).bytes_per_sample == 72
    assert stream_layout(RebKind.WAVEFRONT).bytes_per_sample == 36


@pytest.mark.parametrize(
    "kind, xor", [(RebKind.SCIENCE, 0x1FFFF), (RebKind.GUIDER, 0x20000), (RebKind.WREB, 0x20000)]
)
def test_zero_pixels_store_the_xor_constant(kind: RebKind, xor: int) -> None:
    n_det, n_amps = SHAPES[kind]
    words = encode_source(np.zeros((n_det, n_amps, 1, 1), np.int32), kind)
    first = int.from_bytes(words.tobytes()[:5], "little")
    assert first & 0x3FFFF == xor
    assert (first >> 18) & 0x3FFFF == xor


def test_first_science_value_is_slot2_segment00() -> None:
    # The first 18 bits of a science sample are CCD slot 2 (SN2), DAQ channel S00 = Segment00.
    pixels = np.zeros((3, 16, 1, 1), np.int32)
    reb = LSSTCAM.reb("R22/Reb1")
    seg00 = reb.detectors[2].amplifier("Segment00").hdu - 1
    pixels[2, seg00] = 0x12345
    first = int(encode_source(pixels, RebKind.SCIENCE)[0])
    assert (first & 0x3FFFF) ^ 0x1FFFF == 0x12345


@pytest.mark.parametrize("bad", [-1, MAX + 1, 2**31 - 1])
def test_encode_rejects_values_outside_18_bits(bad: int) -> None:
    pixels = np.zeros((3, 16, 2, 2), np.int32)
    pixels[1, 5, 1, 0] = bad
    with pytest.raises(SourceDataError, match=str(bad)):
        encode_source(pixels, RebKind.SCIENCE)


def test_decode_rejects_truncated_data_with_sizes() -> None:
    words = encode_source(np.zeros((3, 16, 2, 2), np.int32), RebKind.SCIENCE)
    with pytest.raises(TruncatedSourceError, match="432") as info:
        decode_source(words.tobytes()[:-4], RebKind.SCIENCE, 2, 2, what="test source")
    assert (info.value.expected, info.value.actual) == (432, 428)


def test_encode_rejects_wrong_number_of_detectors() -> None:
    with pytest.raises(ValueError, match="3 detectors"):
        encode_source([np.zeros((16, 2, 2), np.int32)] * 2, RebKind.SCIENCE)
    with pytest.raises(ValueError, match="shape"):
        encode_source(np.zeros((2, 16, 2, 2), np.int32), RebKind.WAVEFRONT)


def test_decode_into_preallocated_output() -> None:
    pixels = np.arange(2 * 16 * 3 * 5, dtype=np.int32).reshape(2, 16, 3, 5)
    out = np.empty_like(pixels)
    result = decode_source(encode_source(pixels, RebKind.GUIDER), RebKind.GUIDER, 5, 3, out=out)
    assert result is out
    np.testing.assert_array_equal(out, pixels)
    with pytest.raises(ValueError, match="int32"):
        decode_source(encode_source(pixels, RebKind.GUIDER), RebKind.GUIDER, 5, 3, out=out.astype(np.int64))
