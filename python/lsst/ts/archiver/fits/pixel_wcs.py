"""Alternate pixel "WCS" keyword sets of a raw amplifier extension.

LCA-13501 defines six pixel coordinate systems, one letter each, that map a
segment as read out onto the amplifier (``A``), the CCD (``C``), the raft
(``R``), the focal plane (``F``), and the serial/parallel views of the CCD
(``B``) and the raft (``Q``). Each is a rotation/flip (``PCi_jX`` of 0 or
±1, ``CDELT`` 1, ``CRPIX`` 0) plus an offset ``CRVALiX``; the closed forms
depend on the vendor (ITL or e2v), the segment (``Sx`` = half, ``Sy`` =
column), the slot in the raft (``Cx``, ``Cy``) and the raft bay (``Rx``,
``Ry``).

The closed forms are those of the specification with one correction: for
ITL segments, whose serial axis is always reversed, the printed formulas
subtract the prescan (``- preh``) from ``CRVAL2A``, ``CRVAL2C``,
``CRVAL2R``, ``CRVAL2F``, ``CRVAL1B`` and ``CRVAL1Q``; mapping the imaging
columns then misses the CCD by ``2 preh`` pixels. The values here add it
(``+ preh``), which tiles the CCD exactly and agrees with the
specification's own example ITL header (``CRVAL2A = 513``). e2v values are
as printed.

The closed forms implemented here are those of the science rafts (also used
for ComCam's raft and LATISS's single CCD at R00/S00). The corner rafts
(guiders and wavefront halves) are rotated per bay in the specification's
draft form; no WCS set is written for them (`pixel_wcs_cards` returns an
empty list), only the NOAO mosaic keywords.
"""

from __future__ import annotations

__all__ = ["VendorDimensions", "E2V_DIMENSIONS", "ITL_DIMENSIONS", "RAFT_PITCH", "pixel_wcs_cards"]

import re
from dataclasses import dataclass

from .card import Card

RAFT_PITCH = 12700
"""Raft pitch in the focal plane, pixels (127 mm at 10 µm)."""

_SCIENCE_SLOT = re.compile(r"^S([0-2])([0-2])$")
_RAFT_BAY = re.compile(r"^R([0-4])([0-4])$")


@dataclass(frozen=True)
class VendorDimensions:
    """Sizes (in 10 µm pixels) that enter the coordinate formulas.

    Parameters
    ----------
    dimh, dimv : `int`
        Imaging columns and rows of one segment.
    preh : `int`
        Serial prescan columns written to the file.
    ccdax, ccday : `int`
        Active area in camera x and y.
    ccdpx, ccdpy : `int`
        Physical CCD size in camera x and y.
    gap_inx, gap_iny : `float`
        Gaps between CCDs in a raft.
    gap_outx, gap_outy : `float`
        Gaps at the raft edges.
    """

    dimh: int
    dimv: int
    preh: int
    ccdax: int
    ccday: int
    ccdpx: int
    ccdpy: int
    gap_inx: float
    gap_iny: float
    gap_outx: float
    gap_outy: float

    @property
    def raft_offset_x(self) -> float:
        """Camera-x offset of slot column 0 in the raft system."""
        return self.gap_outx + (self.ccdpx - self.ccdax) / 2

    @property
    def raft_offset_y(self) -> float:
        """Camera-y offset of slot row 0 in the raft system."""
        return self.gap_outy + (self.ccdpy - self.ccday) / 2

    @property
    def slot_pitch_x(self) -> float:
        """Camera-x distance between CCD columns in a raft."""
        return 2 * self.dimv + self.gap_inx + self.ccdpx - self.ccdax

    @property
    def slot_pitch_y(self) -> float:
        """Camera-y distance between CCD rows in a raft."""
        return 8 * self.dimh + self.gap_iny + self.ccdpy - self.ccday


E2V_DIMENSIONS = VendorDimensions(
    dimh=512,
    dimv=2002,
    preh=10,
    ccdax=4004,
    ccday=4096,
    ccdpx=4197,
    ccdpy=4200,
    gap_inx=28,
    gap_iny=25,
    gap_outx=26.5,
    gap_outy=25,
)
"""e2v CCD250 dimensions (LCA-13501 table of dimensions)."""

ITL_DIMENSIONS = VendorDimensions(
    dimh=509,
    dimv=2000,
    preh=3,
    ccdax=4000,
    ccday=4072,
    ccdpx=4198,
    ccdpy=4198,
    gap_inx=27,
    gap_iny=27,
    gap_outx=26,
    gap_outy=26,
)
"""ITL 3800C dimensions (LCA-13501 table of dimensions)."""

_SYSTEM_NAMES = {
    "A": ("AMPLIFIER", "Seg_X", "Seg_Y", "camera"),
    "C": ("CCD", "CCD_X", "CCD_Y", "camera"),
    "R": ("RAFT", "RAFT_X", "RAFT_Y", "camera"),
    "F": ("FOCAL_PLANE", "FP_X", "FP_Y", "camera"),
    "B": ("CCD_SERPAR", "CCD_S", "CCD_P", "serial-parallel"),
    "Q": ("RAFT_SERPAR", "RAFT_S", "RAFT_P", "serial-parallel"),
}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _system(letter: str, pc: tuple[int, int, int, int], crval1: float, crval2: float) -> list[Card]:
    name, ctype1, ctype2, frame = _SYSTEM_NAMES[letter]
    return [
        Card(f"WCSNAME{letter}", name, "Name of coordinate system"),
        Card(f"CTYPE1{letter}", ctype1, f"In the {frame} coordinate system"),
        Card(f"CTYPE2{letter}", ctype2, f"In the {frame} coordinate system"),
        Card(f"PC1_1{letter}", pc[0], "Pixel to coordinate transformation"),
        Card(f"PC1_2{letter}", pc[1], "Pixel to coordinate transformation"),
        Card(f"PC2_1{letter}", pc[2], "Pixel to coordinate transformation"),
        Card(f"PC2_2{letter}", pc[3], "Pixel to coordinate transformation"),
        Card(f"CDELT1{letter}", 1, "Coordinate increment"),
        Card(f"CDELT2{letter}", 1, "Coordinate increment"),
        Card(f"CRPIX1{letter}", 0, "Reference pixel"),
        Card(f"CRPIX2{letter}", 0, "Reference pixel"),
        Card(f"CRVAL1{letter}", _number(crval1), "Coordinate at reference pixel"),
        Card(f"CRVAL2{letter}", _number(crval2), "Coordinate at reference pixel"),
    ]


def pixel_wcs_cards(vendor: str, segment: str, raft: str, sensor: str) -> list[Card]:
    """The ``A``, ``C``, ``R``, ``F``, ``B`` and ``Q`` keyword sets of one segment.

    Parameters
    ----------
    vendor : `str`
        ``"ITL"`` or ``"E2V"``.
    segment : `str`
        Two-digit segment name, e.g. ``"10"`` (half, then column).
    raft : `str`
        Raft bay, e.g. ``"R22"``.
    sensor : `str`
        Slot, e.g. ``"S11"``.

    Returns
    -------
    cards : `list` [`Card`]
        78 cards (13 per system) for a science slot ``Sij`` in a bay ``Rxy``;
        empty for corner-raft slots (``SG0``, ``SW1`` ...), whose systems are
        not implemented.

    Raises
    ------
    ValueError
        If the vendor or segment name is unknown.
    """
    slot = _SCIENCE_SLOT.match(sensor)
    bay = _RAFT_BAY.match(raft)
    if slot is None or bay is None:
        return []
    if vendor == "ITL":
        dims = ITL_DIMENSIONS
    elif vendor == "E2V":
        dims = E2V_DIMENSIONS
    else:
        raise ValueError(f"unknown CCD vendor {vendor!r}; expected 'ITL' or 'E2V'")
    if re.fullmatch(r"[01][0-7]", segment) is None:
        raise ValueError(f"segment {segment!r} is not a two-digit name 00-07 or 10-17")
    sx, sy = int(segment[0]), int(segment[1])
    cx, cy = int(slot.group(1)), int(slot.group(2))
    rx, ry = int(bay.group(1)), int(bay.group(2))
    # Serial/parallel indices (LCA-13501: segment = 10 Sp + Ss, slot = 10 Cp + Cs).
    sp, ss, cp, cs = sx, sy, cx, cy
    d = dims
    flip = 1 - 2 * sx

    crval1_c = sx * (2 * d.dimv + 1)
    crval1_r = crval1_c + d.raft_offset_x + cx * d.slot_pitch_x
    crval2_b = sp * (2 * d.dimv + 1)
    crval2_q = crval2_b + d.raft_offset_x + cp * d.slot_pitch_x
    if vendor == "ITL":
        camera_pc = (0, flip, -1, 0)
        serpar_pc = (-1, 0, 0, 1 - 2 * sp)
        # The serial axis is reversed in every ITL segment, so the prescan
        # shift enters with a plus sign (see the module notes).
        crval2_a = d.dimh + 1 + d.preh
        crval2_c = d.dimh + 1 + sy * d.dimh + d.preh
        crval1_b = (ss + 1) * d.dimh + 1 + d.preh
    else:
        camera_pc = (0, flip, flip, 0)
        serpar_pc = (1 - 2 * sp, 0, 0, 1 - 2 * sp)
        crval2_a = sx * (d.dimh + 1) + (2 * sx - 1) * d.preh
        crval2_c = sx * (d.dimh + 1) + sy * d.dimh + (2 * sx - 1) * d.preh
        crval1_b = sp * (d.dimh + 1) + ss * d.dimh + (2 * sp - 1) * d.preh
    crval2_r = crval2_c + d.raft_offset_y + cy * d.slot_pitch_y
    crval1_q = crval1_b + d.raft_offset_y + cs * d.slot_pitch_y

    cards: list[Card] = []
    cards += _system("A", camera_pc, sx * (d.dimv + 1), crval2_a)
    cards += _system("C", camera_pc, crval1_c, crval2_c)
    cards += _system("R", camera_pc, crval1_r, crval2_r)
    cards += _system("F", camera_pc, crval1_r + rx * RAFT_PITCH, crval2_r + ry * RAFT_PITCH)
    cards += _system("B", serpar_pc, crval1_b, crval2_b)
    cards += _system("Q", serpar_pc, crval1_q, crval2_q)
    return cards
