"""Serialization of HDUs to bytes: pre-rendered headers, checksums, big-endian data.

A `HeaderTemplate` is a header rendered once (cards without CHECKSUM,
DATASUM and END) together with its ones' complement sum. Sealing it for one
HDU only renders the per-file extra cards, the two checksum cards and END:
because 80-byte cards are whole 32-bit words, the sum of the header is the
sum of its parts, so the template is never re-read.
"""

from __future__ import annotations

__all__ = [
    "HeaderTemplate",
    "SealedHdu",
    "empty_table_cards",
    "image_extension_cards",
    "primary_cards",
    "seal_header",
    "seal_image",
    "seal_empty",
]

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .card import END_CARD, Card, format_card, pad_to_block, render_cards
from .checksum import CHECKSUM_PLACEHOLDER, add_ones_complement, bytes_sum, encode_checksum, words_sum

CHECKSUM_COMMENT = "HDU checksum"
DATASUM_COMMENT = "data unit checksum"


@dataclass(frozen=True)
class HeaderTemplate:
    """Header cards rendered once, reused for every HDU with the same cards.

    Parameters
    ----------
    cards : `tuple` [`Card`, ...]
        The cards, structural keywords first, without CHECKSUM/DATASUM/END.
    body : `bytes`
        The rendered cards (80 bytes each).
    body_sum : `int`
        Ones' complement sum of ``body``.
    """

    cards: tuple[Card, ...]
    body: bytes
    body_sum: int

    @classmethod
    def from_cards(cls, cards: Sequence[Card]) -> HeaderTemplate:
        """Render cards into a template.

        Raises
        ------
        ValueError
            If a card cannot be rendered (see `format_card`).
        """
        body = render_cards(tuple(cards))
        return cls(tuple(cards), body, bytes_sum(body))


@dataclass(frozen=True)
class SealedHdu:
    """One HDU ready to write.

    Parameters
    ----------
    header : `bytes`
        The complete header (multiple of 2880 bytes).
    data : `object`
        A buffer with the big-endian data unit (without fill), or None.
    fill : `bytes`
        Zero bytes completing the last data block.
    datasum : `int`
        The ``DATASUM`` value.
    checksum : `str`
        The ``CHECKSUM`` value.
    """

    header: bytes
    data: memoryview | None
    fill: bytes
    datasum: int
    checksum: str

    @property
    def size(self) -> int:
        """Bytes this HDU takes in the file."""
        data_size = 0 if self.data is None else self.data.nbytes
        return len(self.header) + data_size + len(self.fill)

    def buffers(self) -> list[bytes | memoryview]:
        """The byte buffers to write, in order (for ``os.writev``)."""
        chunks: list[bytes | memoryview] = [self.header]
        if self.data is not None:
            chunks.append(self.data)
        if self.fill:
            chunks.append(self.fill)
        return chunks


def primary_cards() -> list[Card]:
    """Structural cards of an empty primary HDU (BITPIX=8, NAXIS=0, EXTEND=T)."""
    return [
        Card("SIMPLE", True, "file does conform to FITS standard"),
        Card("BITPIX", 8, "number of bits per data pixel"),
        Card("NAXIS", 0, "number of data axes"),
        Card("EXTEND", True, "FITS dataset may contain extensions"),
    ]


def image_extension_cards(naxis1: int, naxis2: int) -> list[Card]:
    """Structural cards of a 32-bit integer IMAGE extension."""
    return [
        Card("XTENSION", "IMAGE", "IMAGE extension"),
        Card("BITPIX", 32, "number of bits per data pixel"),
        Card("NAXIS", 2, "number of data axes"),
        Card("NAXIS1", naxis1, "length of data axis 1"),
        Card("NAXIS2", naxis2, "length of data axis 2"),
        Card("PCOUNT", 0, "required keyword; must = 0"),
        Card("GCOUNT", 1, "required keyword; must = 1"),
        Card("BSCALE", 1, "data are not scaled"),
        Card("BZERO", 0, "data are not offset"),
        Card("INHERIT", True, "inherit the primary header"),
    ]


def empty_table_cards(extname: str) -> list[Card]:
    """Structural cards of an empty BINTABLE used as a keyword container (REB_COND)."""
    return [
        Card("XTENSION", "BINTABLE", "binary table extension"),
        Card("BITPIX", 8, "8-bit bytes"),
        Card("NAXIS", 2, "2-dimensional binary table"),
        Card("NAXIS1", 0, "width of table in bytes"),
        Card("NAXIS2", 0, "number of rows in table"),
        Card("PCOUNT", 0, "size of special data area"),
        Card("GCOUNT", 1, "one data group (required keyword)"),
        Card("TFIELDS", 0, "number of fields in each row"),
        Card("EXTNAME", extname, "name of this binary table extension"),
    ]


def seal_header(template: HeaderTemplate, extra_cards: Sequence[Card], datasum: int) -> tuple[bytes, str]:
    """Complete a header: extra cards, CHECKSUM, DATASUM, END and fill.

    Parameters
    ----------
    template : `HeaderTemplate`
        The pre-rendered cards.
    extra_cards : `~collections.abc.Sequence` [`Card`]
        Cards specific to this HDU, appended after the template.
    datasum : `int`
        Ones' complement sum of the data unit.

    Returns
    -------
    header : `bytes`
        The header, a multiple of 2880 bytes.
    checksum : `str`
        The CHECKSUM value written.
    """
    extra = render_cards(tuple(extra_cards)) if extra_cards else b""
    datasum_card = format_card(Card("DATASUM", str(datasum), DATASUM_COMMENT))
    placeholder = format_card(Card("CHECKSUM", CHECKSUM_PLACEHOLDER, CHECKSUM_COMMENT))
    # template + extra + CHECKSUM + DATASUM + END, then blank fill.
    used = len(template.body) + len(extra) + len(placeholder) + len(datasum_card) + len(END_CARD)
    tail = END_CARD + b" " * pad_to_block(used)
    total = add_ones_complement(
        template.body_sum,
        bytes_sum(extra) if extra else 0,
        bytes_sum(placeholder + datasum_card + tail),
        datasum,
    )
    checksum = encode_checksum(total)
    checksum_card = format_card(Card("CHECKSUM", checksum, CHECKSUM_COMMENT))
    return template.body + extra + checksum_card + datasum_card + tail, checksum


def seal_image(
    template: HeaderTemplate,
    data: npt.NDArray[np.int32],
    big_endian_out: npt.NDArray[np.int32],
    extra_cards: Sequence[Card] = (),
    *,
    sample_bits: int | None = None,
) -> SealedHdu:
    """Seal one int32 image HDU.

    Parameters
    ----------
    template : `HeaderTemplate`
        Pre-rendered header of the extension (structural cards first).
    data : `numpy.ndarray`
        The image, native or big-endian int32, C-contiguous.
    big_endian_out : `numpy.ndarray`
        A ``>i4`` array of the same shape that receives the bytes to write
        (re-used between calls to avoid page faults); returned inside the
        `SealedHdu`, so it must stay untouched until the HDU is written.
    extra_cards : `~collections.abc.Sequence` [`Card`], optional
        Per-file cards appended after the template.
    sample_bits : `int`, optional
        Promise that pixel values fit in this many bits (see `words_sum`).

    Returns
    -------
    hdu : `SealedHdu`
        Header, data buffer and fill.
    """
    datasum = words_sum(data, sample_bits=sample_bits)
    np.copyto(big_endian_out, data, casting="equiv")
    header, checksum = seal_header(template, extra_cards, datasum)
    nbytes = big_endian_out.nbytes
    return SealedHdu(
        header,
        memoryview(big_endian_out.reshape(-1).view(np.uint8)),
        bytes(pad_to_block(nbytes)),
        datasum,
        checksum,
    )


def seal_empty(template: HeaderTemplate, extra_cards: Sequence[Card] = ()) -> SealedHdu:
    """Seal an HDU without data (primary HDU, empty BINTABLE)."""
    header, checksum = seal_header(template, extra_cards, 0)
    return SealedHdu(header, None, b"", 0, checksum)
