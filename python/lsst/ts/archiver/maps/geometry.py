"""Where each detector lies on the focal plane (millimetres, as obs_lsst places them).

Pure functions, no I/O. The positions follow obs_lsst's camera descriptions:

* a raft ``Rab`` is centred at ``x = 127 (b - 2)``, ``y = 127 (a - 2)`` mm;
* a science slot ``Sij`` of a raft is offset by ``x = 42.25 (j - 1)``,
  ``y = 42.25 (i - 1)`` mm from the raft centre;
* a corner raft (R00, R04, R40, R44) holds three CCD positions in an L: the
  wavefront sensor, split into its halves ``SW0`` (lower half of slot 00)
  and ``SW1`` (upper half), at the elbow, and the guiders ``SG0`` (slot 10)
  and ``SG1`` (slot 01). The raft is turned so that the elbow is its corner
  nearest the centre of the focal plane and the guiders lie along the
  neighbouring science rafts.

ComCam is the one raft R22 (at the centre); LATISS is one CCD.
"""

from __future__ import annotations

__all__ = ["RAFT_PITCH", "SLOT_PITCH", "Footprint", "focal_plane_layout"]

from dataclasses import dataclass

from ..camera import Camera, Detector, DetectorPurpose

RAFT_PITCH = 127.0
"""Distance between raft centres (mm)."""

SLOT_PITCH = 42.25
"""Distance between CCD centres in a raft (mm)."""

_CCD_SIZE = {"ITL": (40.72, 40.00), "E2V": (40.96, 40.04)}
"""Imaging area of a CCD (mm): 4072 x 4000 and 4096 x 4004 pixels of 10 um."""

_CORNER_TURNS = {"R00": 2, "R04": 3, "R40": 1, "R44": 0}
"""Quarter turns (counter-clockwise) of each corner raft: its slot 00 goes to its inner corner."""

_CORNER_SLOTS = {
    "SG0": (-SLOT_PITCH, 0.0),
    "SG1": (0.0, -SLOT_PITCH),
    "SW0": (-SLOT_PITCH, -SLOT_PITCH - SLOT_PITCH / 4),
    "SW1": (-SLOT_PITCH, -SLOT_PITCH + SLOT_PITCH / 4),
}
"""Offsets (mm) in an unturned corner raft: SW0/SW1 are the halves of slot 00."""


@dataclass(frozen=True)
class Footprint:
    """A detector's rectangle on the focal plane (mm).

    Attributes
    ----------
    name : `str`
        Detector name ``RNN_SNN``.
    x, y : `float`
        Centre.
    width, height : `float`
        Size along x and y.
    purpose : `~lsst.ts.archiver.camera.DetectorPurpose`
        Science, guider or wavefront.
    """

    name: str
    x: float
    y: float
    width: float
    height: float
    purpose: DetectorPurpose

    @property
    def corner(self) -> tuple[float, float]:
        """Lower-left corner ``(x, y)``."""
        return self.x - self.width / 2, self.y - self.height / 2


def _turn(x: float, y: float, quarters: int) -> tuple[float, float]:
    """Rotate ``(x, y)`` counter-clockwise by ``quarters`` quarter turns."""
    for _ in range(quarters % 4):
        x, y = -y, x
    return x, y


def _footprint(detector: Detector) -> Footprint:
    raft_row, raft_column = int(detector.raft[1]), int(detector.raft[2])
    raft_x, raft_y = RAFT_PITCH * (raft_column - 2), RAFT_PITCH * (raft_row - 2)
    width, height = _CCD_SIZE.get(detector.physical_type, _CCD_SIZE["ITL"])
    if detector.sensor in _CORNER_SLOTS:
        quarters = _CORNER_TURNS.get(detector.raft, 0)
        dx, dy = _turn(*_CORNER_SLOTS[detector.sensor], quarters)
        if detector.is_wavefront_half:
            height /= 2
        if quarters % 2:
            width, height = height, width
    else:
        row, column = int(detector.sensor[1]), int(detector.sensor[2])
        dx, dy = SLOT_PITCH * (column - 1), SLOT_PITCH * (row - 1)
    return Footprint(detector.name, raft_x + dx, raft_y + dy, width, height, detector.purpose)


def focal_plane_layout(camera: Camera) -> dict[str, Footprint]:
    """Every detector of a camera on its focal plane, by name (detector-number order).

    LATISS's one CCD (named ``R00_S00``) is drawn at the centre.
    """
    if len(camera.detectors) == 1:
        [detector] = camera.detectors
        width, height = _CCD_SIZE.get(detector.physical_type, _CCD_SIZE["ITL"])
        return {detector.name: Footprint(detector.name, 0.0, 0.0, width, height, detector.purpose)}
    return {d.name: _footprint(d) for d in camera.detectors}
