"""Pixel WCS keyword sets (LCA-13501) of the amplifier extensions."""

from __future__ import annotations

import numpy as np
import pytest

from lsst.ts.archiver.camera import LATISS, LSST_COMCAM, LSSTCAM, Detector
from lsst.ts.archiver.fits import RAFT_PITCH, pixel_wcs_cards


def wcs(detector: Detector, segment: str) -> dict[str, float]:
    cards = pixel_wcs_cards(detector.physical_type, segment, detector.raft, detector.sensor)
    return {c.keyword: c.value for c in cards}  # type: ignore[misc]


def map_corners(
    values: dict[str, float], letter: str, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Apply a system to segment pixel coordinates (CRPIX = 0, CDELT = 1)."""
    u = values[f"PC1_1{letter}"] * x + values[f"PC1_2{letter}"] * y + values[f"CRVAL1{letter}"]
    v = values[f"PC2_1{letter}"] * x + values[f"PC2_2{letter}"] * y + values[f"CRVAL2{letter}"]
    return u, v


@pytest.mark.parametrize("name", ["R22_S11", "R01_S01", "R10_S02"])
@pytest.mark.parametrize("letter", ["C", "B"])
def test_ccd_systems_tile_the_imaging_area_exactly_once(name: str, letter: str) -> None:
    detector = LSSTCAM.detector(name)
    layout = detector.layout
    x, y = np.meshgrid(
        np.arange(layout.prescan_cols + 1, layout.prescan_cols + layout.data_cols + 1),
        np.arange(1, layout.data_rows + 1),
    )
    coverage = np.zeros((8 * layout.data_cols + 1, 2 * layout.data_rows + 1), dtype=np.int32)
    for amp in detector.amplifiers:
        u, v = map_corners(wcs(detector, amp.segment), letter, x, y)
        if letter == "C":  # camera x along the parallel direction
            coverage[v.astype(int), u.astype(int)] += 1
        else:  # serial/parallel: s along the serial direction
            coverage[u.astype(int), v.astype(int)] += 1
    assert coverage[1:, 1:].min() == 1 and coverage[1:, 1:].max() == 1
    assert coverage[0, :].sum() == 0 and coverage[:, 0].sum() == 0


def test_itl_segment10_values_follow_the_formulas() -> None:
    values = wcs(LSSTCAM.detector("R01_S00"), "10")
    # A: rotated, x reversed for the C1x half; prescan shifts CRVAL2.
    assert (values["PC1_1A"], values["PC1_2A"], values["PC2_1A"], values["PC2_2A"]) == (0, -1, -1, 0)
    assert values["CRVAL1A"] == 2001 and values["CRVAL2A"] == 509 + 1 + 3  # as in the LCA-13501 example
    assert values["WCSNAMEA"] == "AMPLIFIER" and values["CTYPE1F"] == "FP_X"


def test_e2v_bottom_segment_uses_the_e2v_orientation() -> None:
    values = wcs(LSSTCAM.detector("R22_S11"), "00")
    assert (values["PC1_1A"], values["PC1_2A"], values["PC2_1A"], values["PC2_2A"]) == (0, 1, 1, 0)
    assert values["CRVAL1A"] == 0 and values["CRVAL2A"] == -10


@pytest.mark.parametrize("name", ["R22_S11", "R01_S01"])
def test_raft_and_focal_plane_systems_are_shifts_of_the_ccd_system(name: str) -> None:
    detector = LSSTCAM.detector(name)
    values = wcs(detector, "13")
    bay_x, bay_y = int(detector.raft[1]), int(detector.raft[2])
    for axis, bay in ((1, bay_x), (2, bay_y)):
        assert values[f"CRVAL{axis}F"] - values[f"CRVAL{axis}R"] == bay * RAFT_PITCH
        assert values[f"CRVAL{axis}R"] > values[f"CRVAL{axis}C"]
    for letter in "RF":
        for pc in ("PC1_1", "PC1_2", "PC2_1", "PC2_2"):
            assert values[f"{pc}{letter}"] == values[f"{pc}C"]


def test_neighbouring_slots_are_one_ccd_pitch_apart_in_the_raft_system() -> None:
    s00 = wcs(LSSTCAM.detector("R22_S00"), "10")
    s10 = wcs(LSSTCAM.detector("R22_S10"), "10")
    s01 = wcs(LSSTCAM.detector("R22_S01"), "10")
    # e2v: 2*dimv + gap_inx + ccdpx - ccdax and 8*dimh + gap_iny + ccdpy - ccday
    assert s10["CRVAL1R"] - s00["CRVAL1R"] == 2 * 2002 + 28 + 4197 - 4004
    assert s01["CRVAL2R"] - s00["CRVAL2R"] == 8 * 512 + 25 + 4200 - 4096


def test_single_raft_cameras_get_all_six_systems() -> None:
    for detector in (LATISS.detector(0), LSST_COMCAM.detector("R22_S11")):
        keywords = {
            c.keyword for c in pixel_wcs_cards(detector.physical_type, "07", detector.raft, detector.sensor)
        }
        assert {f"WCSNAME{letter}" for letter in "ACRFBQ"} <= keywords
        assert len(keywords) == 6 * 13


def test_corner_raft_detectors_get_no_wcs_sets() -> None:
    for name in ("R00_SG0", "R44_SW1"):
        detector = LSSTCAM.detector(name)
        assert pixel_wcs_cards(detector.physical_type, "10", detector.raft, detector.sensor) == []


def test_unknown_vendor_and_segment_raise() -> None:
    with pytest.raises(ValueError, match="vendor"):
        pixel_wcs_cards("STA", "10", "R22", "S11")
    with pytest.raises(ValueError, match="segment"):
        pixel_wcs_cards("ITL", "18", "R22", "S11")
