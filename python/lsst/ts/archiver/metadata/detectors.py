"""Detector numbers for translated headers, from the camera model."""

from __future__ import annotations

__all__ = ["detector_number"]

from ..camera import get_camera


def detector_number(instrument: str, raft: str, sensor: str) -> int:
    """Return the obs_lsst detector number of a raft bay and sensor slot.

    Parameters
    ----------
    instrument : `str`
        Butler instrument name (``LSSTCam``, ``LSSTComCam``, ``LATISS``).
    raft : `str`
        Header ``RAFTBAY``, e.g. ``"R22"``.
    sensor : `str`
        Header ``CCDSLOT``, e.g. ``"S11"``.

    Returns
    -------
    detector : `int`
        The detector number (``R22_S11`` of LSSTCam is 94).

    Raises
    ------
    lsst.ts.archiver.camera.errors.UnknownDetectorError
        Raised if the camera has no such detector.
    """
    return get_camera(instrument).detector_by_raft_sensor(raft, sensor).id
