"""FITS pixel sections (``DATASEC``, ``DETSEC`` ...) as small immutable values."""

from __future__ import annotations

__all__ = ["Section"]

import re
from dataclasses import dataclass

from .errors import InvalidSectionError

_SECTION_RE = re.compile(r"^\[\s*(-?\d+)\s*:\s*(-?\d+)\s*,\s*(-?\d+)\s*:\s*(-?\d+)\s*\]$")


@dataclass(frozen=True)
class Section:
    """A rectangular FITS section with 1-based, inclusive bounds.

    The bounds may run backwards (``x1 > x2``), as they do in ``DETSEC``
    for amplifiers whose readout direction is flipped on the CCD.

    Parameters
    ----------
    x1, x2 : `int`
        First and last column (1-based, inclusive).
    y1, y2 : `int`
        First and last row (1-based, inclusive).
    """

    x1: int
    x2: int
    y1: int
    y2: int

    @classmethod
    def parse(cls, text: str) -> Section:
        """Parse a FITS section string such as ``"[4:512,1:2000]"``.

        Raises
        ------
        InvalidSectionError
            If ``text`` is not of the form ``[x1:x2,y1:y2]``.
        """
        match = _SECTION_RE.match(text.strip())
        if match is None:
            raise InvalidSectionError(f"FITS section {text!r} is not of the form '[x1:x2,y1:y2]'")
        x1, x2, y1, y2 = (int(g) for g in match.groups())
        return cls(x1, x2, y1, y2)

    def __str__(self) -> str:
        return f"[{self.x1}:{self.x2},{self.y1}:{self.y2}]"

    @property
    def nx(self) -> int:
        """Number of columns."""
        return abs(self.x2 - self.x1) + 1

    @property
    def ny(self) -> int:
        """Number of rows."""
        return abs(self.y2 - self.y1) + 1

    @property
    def x_reversed(self) -> bool:
        """True if the columns run backwards (``x1 > x2``)."""
        return self.x1 > self.x2

    @property
    def y_reversed(self) -> bool:
        """True if the rows run backwards (``y1 > y2``)."""
        return self.y1 > self.y2

    def slices(self) -> tuple[slice, slice]:
        """Return 0-based ``(row_slice, column_slice)`` covering the section.

        The slices always run forwards; use `x_reversed` / `y_reversed` to
        flip the data if needed. Suitable for indexing a numpy array of
        shape ``(NAXIS2, NAXIS1)``.
        """
        xlo, xhi = sorted((self.x1, self.x2))
        ylo, yhi = sorted((self.y1, self.y2))
        return slice(ylo - 1, yhi), slice(xlo - 1, xhi)
