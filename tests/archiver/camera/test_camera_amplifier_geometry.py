"""Amplifier geometry and header values against the reference tables (§1.5, §3.3)."""

import pytest

from lsst.ts.archiver.camera import (
    E2V_LAYOUT,
    FITS_SEGMENT_ORDER,
    ITL_LAYOUT,
    LATISS,
    LSSTCAM,
    InvalidSectionError,
    Section,
)

ITL_CCD = LSSTCAM.detector("R01_S01")
E2V_CCD = LSSTCAM.detector("R22_S11")


def test_hdu_order_is_segment10_to_17_then_07_to_00() -> None:
    expected = [f"Segment1{i}" for i in range(8)] + [f"Segment0{i}" for i in range(7, -1, -1)]
    for det in (ITL_CCD, E2V_CCD, LATISS.detector(0), LSSTCAM.detector("R00_SG1")):
        assert [a.extname for a in det.amplifiers] == expected
        assert [a.channel for a in det.amplifiers] == list(range(1, 17))
        assert [a.hdu for a in det.amplifiers] == list(range(1, 17))
    assert len(FITS_SEGMENT_ORDER) == 16


def test_raw_amplifier_is_576_by_2048_for_both_vendors() -> None:
    for layout in (ITL_LAYOUT, E2V_LAYOUT):
        assert (layout.naxis1, layout.naxis2) == (576, 2048)
        assert layout.n_samples == 1_179_648


@pytest.mark.parametrize(
    "layout, datasec, biassec, paroverscan, detsize",
    [
        (ITL_LAYOUT, "[4:512,1:2000]", "[513:576,1:2000]", "[4:512,2001:2048]", "[1:4072,1:4000]"),
        (E2V_LAYOUT, "[11:522,1:2002]", "[523:576,1:2002]", "[11:522,2003:2048]", "[1:4096,1:4004]"),
    ],
)
def test_vendor_sections_match_reference(
    layout: object, datasec: str, biassec: str, paroverscan: str, detsize: str
) -> None:
    assert str(layout.datasec) == datasec  # type: ignore[attr-defined]
    assert str(layout.serial_overscan) == biassec  # type: ignore[attr-defined]
    assert str(layout.parallel_overscan) == paroverscan  # type: ignore[attr-defined]
    assert str(layout.detsize) == detsize  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "extname, detsec, dtv1, dtv2, dtm1_1, dtm2_2",
    [
        ("Segment10", "[509:1,1:2000]", 513, 0, -1, 1),
        ("Segment17", "[4072:3564,1:2000]", 513 + 509 * 7, 0, -1, 1),
        ("Segment07", "[4072:3564,4000:2001]", 513 + 509 * 7, 4001, -1, -1),
        ("Segment00", "[509:1,4000:2001]", 513, 4001, -1, -1),
    ],
)
def test_itl_detsec_dtv_dtm(
    extname: str, detsec: str, dtv1: int, dtv2: int, dtm1_1: int, dtm2_2: int
) -> None:
    amp = ITL_CCD.amplifier(extname)
    assert str(amp.detsec) == detsec
    assert (amp.dtv1, amp.dtv2, amp.dtm1_1, amp.dtm2_2, amp.dtm1_2, amp.dtm2_1) == (
        dtv1,
        dtv2,
        dtm1_1,
        dtm2_2,
        0,
        0,
    )
    assert str(amp.datasec) == "[4:512,1:2000]"


@pytest.mark.parametrize(
    "extname, detsec, dtv1, dtv2, dtm1_1, dtm2_2",
    [
        ("Segment10", "[512:1,1:2002]", 523, 0, -1, 1),
        ("Segment13", "[2048:1537,1:2002]", 523 + 512 * 3, 0, -1, 1),
        ("Segment07", "[3585:4096,4004:2003]", 3574, 4005, 1, -1),
        ("Segment00", "[1:512,4004:2003]", -10, 4005, 1, -1),
    ],
)
def test_e2v_detsec_dtv_dtm(
    extname: str, detsec: str, dtv1: int, dtv2: int, dtm1_1: int, dtm2_2: int
) -> None:
    amp = E2V_CCD.amplifier(extname)
    assert str(amp.detsec) == detsec
    assert (amp.dtv1, amp.dtv2, amp.dtm1_1, amp.dtm2_2) == (dtv1, dtv2, dtm1_1, dtm2_2)
    assert str(amp.datasec) == "[11:522,1:2002]"


@pytest.mark.parametrize("det", [ITL_CCD, E2V_CCD])
def test_dtv_dtm_map_datasec_corners_onto_detsec_corners(det: object) -> None:
    # det_x = DTV1 + DTM1_1 * amp_x must take DATASEC's first/last column to
    # DETSEC's x1/x2, and likewise for rows: checks formulas and values agree.
    for amp in det.amplifiers:  # type: ignore[attr-defined]
        ds, dt = amp.datasec, amp.detsec
        assert amp.dtv1 + amp.dtm1_1 * ds.x1 == dt.x1
        assert amp.dtv1 + amp.dtm1_1 * ds.x2 == dt.x2
        assert amp.dtv2 + amp.dtm2_2 * ds.y1 == dt.y1
        assert amp.dtv2 + amp.dtm2_2 * ds.y2 == dt.y2


@pytest.mark.parametrize("det", [ITL_CCD, E2V_CCD])
def test_detsecs_tile_the_ccd_exactly(det: object) -> None:
    covered: set[tuple[int, int]] = set()
    for amp in det.amplifiers:  # type: ignore[attr-defined]
        rows, cols = amp.detsec.slices()
        cells = {(r, c) for r in (rows.start, rows.stop - 1) for c in (cols.start, cols.stop - 1)}
        assert not cells & covered
        covered |= cells
        assert amp.detsec.nx == amp.datasec.nx and amp.detsec.ny == amp.datasec.ny
    size = det.detsize  # type: ignore[attr-defined]
    assert sum(a.detsec.nx * a.detsec.ny for a in det.amplifiers) == size.nx * size.ny  # type: ignore[attr-defined]


def test_wavefront_half_has_segments_10_to_17_in_itl_geometry() -> None:
    sw0 = LSSTCAM.detector("R00_SW0")
    assert [a.extname for a in sw0.amplifiers] == [f"Segment1{i}" for i in range(8)]
    assert [a.channel for a in sw0.amplifiers] == list(range(1, 9))
    assert all(str(a.datasec) == "[4:512,1:2000]" for a in sw0.amplifiers)
    assert str(sw0.amplifiers[0].detsec) == "[509:1,1:2000]"
    assert str(sw0.detsize) == "[1:4072,1:4000]"


def test_header_cards_carry_ccs_keywords() -> None:
    cards = E2V_CCD.amplifier("C00").header_cards()
    assert cards["EXTNAME"] == "Segment00"
    assert cards["CHANNEL"] == 16
    assert cards["DETSIZE"] == "[1:4096,1:4004]"
    assert cards["CCDSUM"] == "1 1"
    assert (cards["DTM1_2"], cards["DTM2_1"]) == (0, 0)


def test_registers_describe_raw_size() -> None:
    for layout in (ITL_LAYOUT, E2V_LAYOUT):
        reg = layout.registers()
        assert reg["UnderCols"] + reg["ReadCols"] + reg["ReadCols2"] + reg["OverCols"] == 576
        assert reg["ReadRows"] + reg["OverRows"] == 2048
    assert (ITL_LAYOUT.registers()["OpFlags"], E2V_LAYOUT.registers()["OpFlags"]) == (1, 2)


def test_section_parse_round_trips_and_rejects_garbage() -> None:
    assert str(Section.parse("[509:1, 1:2000]")) == "[509:1,1:2000]"
    section = Section.parse("[4:512,1:2000]")
    assert (section.nx, section.ny) == (509, 2000)
    assert section.slices() == (slice(0, 2000), slice(3, 512))
    with pytest.raises(InvalidSectionError, match="4:512"):
        Section.parse("4:512,1:2000")
