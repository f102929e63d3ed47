"""RICE_1 tile compression of amplifier extensions, with cfitsio (fitsio).

The production convention is one tile per row: ``ZTILE1 = 576``,
``ZTILE2 = 1``, ``BLOCKSIZE = 32``, ``BYTEPIX = 4``; for integer data RICE_1
is lossless. cfitsio's compressor is much faster than astropy's for row
tiles (reference §4.1), so it does the compression; the primary HDU and
``REB_COND`` are still written by this package's serializer.
"""

from __future__ import annotations

__all__ = ["RICE_TILE_ROWS", "append_rice_extensions", "fitsio_records"]

import os
from collections.abc import Sequence

import fitsio
import numpy as np
import numpy.typing as npt

from .card import Card
from .sanitize import is_structural_keyword

_PASSED_THROUGH = frozenset({"ZHECKSUM", "ZDATASUM"})

RICE_TILE_ROWS = 1
"""Rows per compression tile (one tile per row, the production convention)."""


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


def append_rice_extensions(
    path: str | os.PathLike[str],
    images: Sequence[npt.NDArray[np.int32]],
    headers: Sequence[Sequence[Card]],
    extnames: Sequence[str],
) -> None:
    """Append RICE_1-compressed image extensions to an existing FITS file.

    Parameters
    ----------
    path : `str` or `os.PathLike`
        A FITS file that already holds its primary HDU.
    images : `~collections.abc.Sequence` [`numpy.ndarray`]
        int32 images, each ``(naxis2, naxis1)``.
    headers : `~collections.abc.Sequence` [`~collections.abc.Sequence` [`Card`]]
        Cards of each extension (structural cards are skipped; cfitsio
        writes its own, including the Z keywords).
    extnames : `~collections.abc.Sequence` [`str`]
        ``EXTNAME`` of each extension.

    Notes
    -----
    Each extension gets ``CHECKSUM``/``DATASUM`` computed by cfitsio.
    """
    with fitsio.FITS(os.fspath(path), "rw") as fits:
        for image, cards, extname in zip(images, headers, extnames, strict=True):
            naxis1 = image.shape[1]
            fits.write(
                image,
                extname=extname,
                header=fitsio_records(cards),
                compress="RICE",
                tile_dims=[RICE_TILE_ROWS, naxis1],
            )
            fits[-1].write_checksum()
