"""Where the map draws each detector: obs_lsst's raft/slot grid, corner rafts in an L."""

from __future__ import annotations

import itertools
import math

import pytest

from lsst.ts.archiver.camera import LATISS, LSST_COMCAM, LSSTCAM, DetectorPurpose
from lsst.ts.archiver.maps import SLOT_PITCH, Footprint, focal_plane_layout


def overlap(a: Footprint, b: Footprint) -> bool:
    return (
        abs(a.x - b.x) < (a.width + b.width) / 2 - 1e-6 and abs(a.y - b.y) < (a.height + b.height) / 2 - 1e-6
    )


def test_every_lsstcam_detector_has_its_own_place() -> None:
    layout = focal_plane_layout(LSSTCAM)
    assert len(layout) == 205
    purposes = [f.purpose for f in layout.values()]
    assert purposes.count(DetectorPurpose.SCIENCE) == 189
    assert purposes.count(DetectorPurpose.GUIDER) == 8
    assert purposes.count(DetectorPurpose.WAVEFRONT) == 8
    overlapping = [(a.name, b.name) for a, b in itertools.combinations(layout.values(), 2) if overlap(a, b)]
    assert overlapping == []


def test_science_detectors_follow_the_raft_and_slot_grid() -> None:
    layout = focal_plane_layout(LSSTCAM)
    assert (layout["R22_S11"].x, layout["R22_S11"].y) == (0.0, 0.0)
    # obs_lsst: R01_S00 at (-169.25, -296.25) mm, R43_S22 at (169.25, 296.25) mm.
    assert (layout["R01_S00"].x, layout["R01_S00"].y) == pytest.approx((-169.25, -296.25))
    assert (layout["R43_S22"].x, layout["R43_S22"].y) == pytest.approx((169.25, 296.25))
    assert (layout["R10_S02"].x, layout["R10_S02"].y) == pytest.approx((-211.75, -169.25))


@pytest.mark.parametrize("raft", ["R00", "R04", "R40", "R44"])
def test_corner_raft_wavefront_halves_are_at_its_inner_corner(raft: str) -> None:
    layout = focal_plane_layout(LSSTCAM)
    radius = {name: math.hypot(f.x, f.y) for name, f in layout.items() if name.startswith(raft)}
    assert set(radius) == {f"{raft}_{s}" for s in ("SG0", "SG1", "SW0", "SW1")}
    wavefront = max(radius[f"{raft}_SW0"], radius[f"{raft}_SW1"])
    assert wavefront < min(radius[f"{raft}_SG0"], radius[f"{raft}_SG1"])
    sw0, sw1 = layout[f"{raft}_SW0"], layout[f"{raft}_SW1"]
    # The two halves of one CCD slot (obs_lsst: centres 21.125 mm apart, 20 mm high).
    assert (sw0.width * sw0.height, min(sw0.width, sw0.height)) == pytest.approx((40.72 * 20.0, 20.0))
    assert math.hypot(sw0.x - sw1.x, sw0.y - sw1.y) == pytest.approx(SLOT_PITCH / 2)


def test_comcam_is_one_raft_at_the_centre_and_latiss_one_ccd() -> None:
    comcam = focal_plane_layout(LSST_COMCAM)
    assert list(comcam) == list(LSST_COMCAM.detector_names)
    assert (comcam["R22_S11"].x, comcam["R22_S11"].y) == (0.0, 0.0)
    assert (comcam["R22_S20"].x, comcam["R22_S20"].y) == pytest.approx((-42.25, 42.25))
    [latiss] = focal_plane_layout(LATISS).values()
    assert (latiss.name, latiss.x, latiss.y) == ("R00_S00", 0.0, 0.0)
