"""Amplifier (segment) geometry of the raw CCD images, per vendor.

Every raw amplifier image is 576 columns by 2048 rows; how those split into
serial prescan, imaging area and overscans depends on the vendor. The
header values (``DATASEC``, ``DETSEC``, ``DTV``, ``DTM``) follow the CCS
raw-FITS writer exactly, including its quirks (see doc/daq.rst).
"""

from __future__ import annotations

__all__ = [
    "E2V_LAYOUT",
    "FITS_SEGMENT_ORDER",
    "ITL_LAYOUT",
    "WAVEFRONT_SEGMENT_ORDER",
    "Amplifier",
    "AmplifierLayout",
    "make_amplifiers",
]

from dataclasses import dataclass

from .section import Section

FITS_SEGMENT_ORDER: tuple[str, ...] = tuple(f"1{i}" for i in range(8)) + tuple(
    f"0{i}" for i in reversed(range(8))
)
"""Segment names (``"10"`` ... ``"17"``, ``"07"`` ... ``"00"``) in FITS HDU order."""

WAVEFRONT_SEGMENT_ORDER: tuple[str, ...] = FITS_SEGMENT_ORDER[:8]
"""Segment names of one wavefront half (``"10"`` ... ``"17"``)."""


@dataclass(frozen=True)
class AmplifierLayout:
    """Readout geometry shared by every amplifier of one CCD vendor.

    The names of the DAQ sequencer registers that carry these sizes are
    given in `registers`.

    Parameters
    ----------
    vendor : `str`
        ``"ITL"`` or ``"E2V"`` (the ``CCD_MANU`` header value).
    prescan_cols : `int`
        Serial prescan columns written to the file (register ``UnderCols``).
    data_cols : `int`
        Imaging columns (``ReadCols``).
    overscan_cols : `int`
        Serial overscan columns (``OverCols``).
    data_rows : `int`
        Imaging rows (``ReadRows``).
    overscan_rows : `int`
        Parallel overscan rows (``OverRows``).
    reverse_bottom_x : `bool`
        Whether the amplifiers ``Segment0y`` read the columns backwards in
        ``DETSEC`` (True for ITL, False for e2v).
    op_flags : `int`
        The CCS ``OpFlags`` register value identifying the vendor.
    """

    vendor: str
    prescan_cols: int
    data_cols: int
    overscan_cols: int
    data_rows: int
    overscan_rows: int
    reverse_bottom_x: bool
    op_flags: int

    @property
    def naxis1(self) -> int:
        """Columns of one raw amplifier image (576)."""
        return self.prescan_cols + self.data_cols + self.overscan_cols

    @property
    def naxis2(self) -> int:
        """Rows of one raw amplifier image (2048)."""
        return self.data_rows + self.overscan_rows

    @property
    def n_samples(self) -> int:
        """Pixels (DAQ samples) per amplifier: ``naxis1 * naxis2``."""
        return self.naxis1 * self.naxis2

    @property
    def datasec(self) -> Section:
        """Imaging area of one amplifier (``DATASEC``)."""
        x1 = self.prescan_cols + 1
        return Section(x1, x1 + self.data_cols - 1, 1, self.data_rows)

    @property
    def serial_overscan(self) -> Section:
        """Serial overscan (``BIASSEC``; not written by CCS)."""
        x1 = self.prescan_cols + self.data_cols + 1
        return Section(x1, self.naxis1, 1, self.data_rows)

    @property
    def parallel_overscan(self) -> Section:
        """Parallel overscan rows above the imaging columns."""
        x1 = self.prescan_cols + 1
        return Section(x1, x1 + self.data_cols - 1, self.data_rows + 1, self.naxis2)

    @property
    def serial_prescan(self) -> Section:
        """Serial prescan columns."""
        return Section(1, self.prescan_cols, 1, self.naxis2)

    @property
    def detsize(self) -> Section:
        """Size of a full 16-amplifier CCD (``DETSIZE``)."""
        return Section(1, 8 * self.data_cols, 1, 2 * self.data_rows)

    def registers(self) -> dict[str, int]:
        """DAQ sequencer register values describing this readout.

        Returns
        -------
        registers : `dict` [`str`, `int`]
            ``PreRows``, ``ReadRows``, ``PostRows``, ``OverRows``,
            ``PreCols``, ``UnderCols``, ``ReadCols``, ``ReadCols2``,
            ``PostCols``, ``OverCols`` and ``OpFlags``. The columns read per
            row are ``UnderCols + ReadCols + ReadCols2 + OverCols``; the
            rows read are ``ReadRows + OverRows``.
        """
        return {
            "PreRows": 0,
            "ReadRows": self.data_rows,
            "PostRows": 0,
            "OverRows": self.overscan_rows,
            "PreCols": 0,
            "UnderCols": self.prescan_cols,
            "ReadCols": self.data_cols,
            "ReadCols2": 0,
            "PostCols": 0,
            "OverCols": self.overscan_cols,
            "OpFlags": self.op_flags,
        }


ITL_LAYOUT = AmplifierLayout(
    vendor="ITL",
    prescan_cols=3,
    data_cols=509,
    overscan_cols=64,
    data_rows=2000,
    overscan_rows=48,
    reverse_bottom_x=True,
    op_flags=1,
)
"""ITL 3800C (science, guider) and 4400B (wavefront halves) amplifiers."""

E2V_LAYOUT = AmplifierLayout(
    vendor="E2V",
    prescan_cols=10,
    data_cols=512,
    overscan_cols=54,
    data_rows=2002,
    overscan_rows=46,
    reverse_bottom_x=False,
    op_flags=2,
)
"""e2v CCD250 amplifiers."""


@dataclass(frozen=True)
class Amplifier:
    """One amplifier (segment) of a CCD with its raw-FITS header values.

    Parameters
    ----------
    segment : `str`
        Two-digit segment name, e.g. ``"10"``; the first digit is the half
        (1 = ``C1x`` bottom in DETSEC, 0 = top), the second the column.
    hdu : `int`
        1-based HDU index in the raw FITS file; equal to ``CHANNEL``.
    layout : `AmplifierLayout`
        The vendor geometry.
    detsec : `Section`
        Position in the CCD (``DETSEC``), possibly reversed.
    dtv1, dtv2 : `int`
        Detector transformation vector (``DTV1``, ``DTV2``).
    dtm1_1, dtm2_2 : `int`
        Detector transformation matrix diagonal (``DTM1_1``, ``DTM2_2``);
        ``DTM1_2`` and ``DTM2_1`` are always 0.
    detsize : `Section`
        Size of the whole device (``DETSIZE``) as CCS writes it.
    """

    segment: str
    hdu: int
    layout: AmplifierLayout
    detsec: Section
    dtv1: int
    dtv2: int
    dtm1_1: int
    dtm2_2: int
    detsize: Section

    def __repr__(self) -> str:
        return f"Amplifier({self.extname}, {self.layout.vendor}, DETSEC={self.detsec})"

    @property
    def name(self) -> str:
        """Camera-geometry amplifier name, e.g. ``"C10"``."""
        return f"C{self.segment}"

    @property
    def extname(self) -> str:
        """FITS ``EXTNAME``, e.g. ``"Segment10"``."""
        return f"Segment{self.segment}"

    @property
    def channel(self) -> int:
        """FITS ``CHANNEL`` (1-based, same as the HDU index)."""
        return self.hdu

    @property
    def dtm1_2(self) -> int:
        """``DTM1_2`` (always 0)."""
        return 0

    @property
    def dtm2_1(self) -> int:
        """``DTM2_1`` (always 0)."""
        return 0

    @property
    def datasec(self) -> Section:
        """``DATASEC`` of this amplifier."""
        return self.layout.datasec

    @property
    def serial_overscan(self) -> Section:
        """Serial overscan (``BIASSEC``)."""
        return self.layout.serial_overscan

    @property
    def parallel_overscan(self) -> Section:
        """Parallel overscan section."""
        return self.layout.parallel_overscan

    @property
    def naxis1(self) -> int:
        """Raw image columns (576)."""
        return self.layout.naxis1

    @property
    def naxis2(self) -> int:
        """Raw image rows (2048)."""
        return self.layout.naxis2

    @property
    def shape(self) -> tuple[int, int]:
        """Numpy shape ``(naxis2, naxis1)`` of the raw amplifier image."""
        return self.layout.naxis2, self.layout.naxis1

    def header_cards(self) -> dict[str, str | int]:
        """The CCS per-extension geometry keywords, in the order CCS writes them.

        Returns
        -------
        cards : `dict` [`str`, `str` | `int`]
            ``EXTNAME``, ``CHANNEL``, ``CCDSUM``, ``DATASEC``, ``DETSEC``,
            ``DETSIZE``, ``DTV1``, ``DTV2``, ``DTM1_1``, ``DTM2_2``,
            ``DTM1_2``, ``DTM2_1``.
        """
        return {
            "EXTNAME": self.extname,
            "CHANNEL": self.channel,
            "CCDSUM": "1 1",
            "DATASEC": str(self.datasec),
            "DETSEC": str(self.detsec),
            "DETSIZE": str(self.detsize),
            "DTV1": self.dtv1,
            "DTV2": self.dtv2,
            "DTM1_1": self.dtm1_1,
            "DTM2_2": self.dtm2_2,
            "DTM1_2": self.dtm1_2,
            "DTM2_1": self.dtm2_1,
        }


def _make_amplifier(segment: str, hdu: int, layout: AmplifierLayout, detsize: Section) -> Amplifier:
    half = int(segment[0])
    column = int(segment[1])
    dimh = layout.data_cols
    dimv = layout.data_rows
    pre = layout.prescan_cols
    if half == 1:
        # Bottom half in DETSEC: x reversed, y forwards.
        detsec = Section(dimh * (column + 1), dimh * column + 1, 1, dimv)
        return Amplifier(segment, hdu, layout, detsec, dimh * (column + 1) + pre + 1, 0, -1, 1, detsize)
    if layout.reverse_bottom_x:
        # ITL top half: x and y reversed.
        detsec = Section(dimh * (column + 1), dimh * column + 1, 2 * dimv, dimv + 1)
        dtv1 = dimh * (column + 1) + pre + 1
        return Amplifier(segment, hdu, layout, detsec, dtv1, 2 * dimv + 1, -1, -1, detsize)
    # e2v top half: x forwards, y reversed.
    detsec = Section(dimh * column + 1, dimh * (column + 1), 2 * dimv, dimv + 1)
    return Amplifier(segment, hdu, layout, detsec, dimh * column - pre, 2 * dimv + 1, 1, -1, detsize)


def make_amplifiers(layout: AmplifierLayout, *, wavefront_half: bool = False) -> tuple[Amplifier, ...]:
    """Build the amplifiers of one device in FITS HDU order.

    Parameters
    ----------
    layout : `AmplifierLayout`
        Vendor geometry.
    wavefront_half : `bool`
        If True, build the 8 amplifiers ``Segment10..17`` of one half of a
        split wavefront sensor instead of the 16 of a full CCD.

    Returns
    -------
    amplifiers : `tuple` [`Amplifier`, ...]
        16 (or 8) amplifiers; ``amplifiers[i].hdu == i + 1``.
    """
    order = WAVEFRONT_SEGMENT_ORDER if wavefront_half else FITS_SEGMENT_ORDER
    detsize = layout.detsize
    return tuple(_make_amplifier(seg, i + 1, layout, detsize) for i, seg in enumerate(order))
