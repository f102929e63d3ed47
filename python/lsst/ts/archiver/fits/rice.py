"""RICE_1 tile compression of amplifier extensions (FITS tiled-image convention).

The production convention is one tile per row: ``ZTILE1 = 576``,
``ZTILE2 = 1``, ``BLOCKSIZE = 32``, ``BYTEPIX = 4``; for integer data RICE_1
is lossless. `seal_rice_image` builds the whole compressed HDU in memory,
header cards as cfitsio writes them, checksums included, so the writer
sends it with the other HDUs in one pass (and hashes it as it goes). The
RICE coder is the C coder astropy ships (the same algorithm and output as
cfitsio's, byte for byte), called once per tile: about 10 ms per amplifier
where a cfitsio image write through fitsio takes about 30.

``fitsio_records`` converts cards for fitsio, which the benchmarks use as
the reference writer.
"""

from __future__ import annotations

__all__ = ["RICE_BLOCK_SIZE", "RICE_TILE_ROWS", "fitsio_records", "seal_rice_image"]

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

try:  # astropy >= 7 (the C coder of astropy's tiled compression; not public API)
    from astropy.io.fits.hdu.compressed._compression import compress_rice_1_c
except ImportError:  # astropy 6
    from astropy.io.fits._tiled_compression._compression import compress_rice_1_c

from .card import Card, pad_to_block
from .checksum import bytes_sum
from .hdu import HeaderTemplate, SealedHdu, seal_header
from .sanitize import is_structural_keyword

_PASSED_THROUGH = frozenset({"ZHECKSUM", "ZDATASUM"})

RICE_TILE_ROWS = 1
"""Rows per compression tile (one tile per row, the production convention)."""

RICE_BLOCK_SIZE = 32
"""Pixels per RICE block (``BLOCKSIZE``)."""

_BYTEPIX = 4


def fitsio_records(cards: Sequence[Card]) -> list[dict[str, object]]:
    """Convert cards (minus structural ones and EXTNAME) to fitsio header records.

    fitsio silently drops ``EXTNAME`` given in the header list; it must be
    passed as ``extname=``, so it is left out here.
    """
    return [
        {"name": card.keyword, "value": card.value, "comment": card.comment}
        for card in cards
        if not is_structural_keyword(card.keyword) or card.keyword in _PASSED_THROUGH
    ]


def _compressed_table_cards(
    naxis1: int, naxis2: int, heap_size: int, longest: int, extname: str
) -> list[Card]:
    """The structural and ``Z`` cards of a RICE_1 compressed image HDU, as cfitsio writes them."""
    return [
        Card("XTENSION", "BINTABLE", "binary table extension"),
        Card("BITPIX", 8, "8-bit bytes"),
        Card("NAXIS", 2, "2-dimensional binary table"),
        Card("NAXIS1", 8, "width of table in bytes"),
        Card("NAXIS2", naxis2 // RICE_TILE_ROWS, "number of rows in table"),
        Card("PCOUNT", heap_size, "size of special data area"),
        Card("GCOUNT", 1, "one data group (required keyword)"),
        Card("TFIELDS", 1, "number of fields in each row"),
        Card("TTYPE1", "COMPRESSED_DATA", "label for field   1"),
        Card("TFORM1", f"1PB({longest})", "data format of field: variable length array"),
        Card("ZIMAGE", True, "extension contains compressed image"),
        Card("ZBITPIX", 32, "data type of original image"),
        Card("ZNAXIS", 2, "dimension of original image"),
        Card("ZNAXIS1", naxis1, "length of original image axis"),
        Card("ZNAXIS2", naxis2, "length of original image axis"),
        Card("ZTILE1", naxis1, "size of tiles to be compressed"),
        Card("ZTILE2", RICE_TILE_ROWS, "size of tiles to be compressed"),
        Card("ZCMPTYPE", "RICE_1", "compression algorithm"),
        Card("ZNAME1", "BLOCKSIZE", "compression block size"),
        Card("ZVAL1", RICE_BLOCK_SIZE, "pixels per block"),
        Card("ZNAME2", "BYTEPIX", "bytes per pixel (1, 2, 4, or 8)"),
        Card("ZVAL2", _BYTEPIX, "bytes per pixel (1, 2, 4, or 8)"),
        Card("EXTNAME", extname, ""),
    ]


def seal_rice_image(image: npt.NDArray[np.int32], cards: Sequence[Card], extname: str) -> SealedHdu:
    """One RICE_1-compressed image extension, ready to write.

    Parameters
    ----------
    image : `numpy.ndarray`
        The int32 image ``(naxis2, naxis1)`` (native or big-endian).
    cards : `~collections.abc.Sequence` [`Card`]
        The image extension's cards; structural ones are left out (the
        compressed HDU has its own), ``ZHECKSUM``/``ZDATASUM`` (the
        uncompressed image's checksums) are kept.
    extname : `str`
        ``EXTNAME``.

    Returns
    -------
    hdu : `~lsst.ts.archiver.fits.hdu.SealedHdu`
        Header (with ``CHECKSUM``/``DATASUM``), the table of tile
        descriptors followed by the heap of compressed tiles, and the fill.
    """
    native = np.ascontiguousarray(image, dtype=np.int32)
    naxis2, naxis1 = native.shape
    tiles = [compress_rice_1_c(row.tobytes(), RICE_BLOCK_SIZE, _BYTEPIX) for row in native]
    sizes = [len(tile) for tile in tiles]
    lengths = np.array(sizes, dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    descriptors = np.empty((len(tiles), 2), dtype=">i4")
    descriptors[:, 0] = lengths
    descriptors[:, 1] = offsets
    data = descriptors.tobytes() + b"".join(tiles)
    fill = bytes(pad_to_block(len(data)))
    user = [
        c
        for c in cards
        if c.keyword != "EXTNAME" and (not is_structural_keyword(c.keyword) or c.keyword in _PASSED_THROUGH)
    ]
    template = HeaderTemplate.from_cards(
        _compressed_table_cards(naxis1, naxis2, sum(sizes), max(sizes, default=0), extname) + user
    )
    datasum = bytes_sum(data + bytes(-len(data) % 4))  # the zero fill adds nothing to the sum
    header, checksum = seal_header(template, (), datasum)
    return SealedHdu(header, memoryview(data), fill, datasum, checksum)
