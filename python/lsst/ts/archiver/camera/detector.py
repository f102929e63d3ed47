"""Detectors (CCDs and wavefront halves) with their obs_lsst identity."""

from __future__ import annotations

__all__ = ["Detector", "DetectorPurpose"]

import enum
from dataclasses import dataclass

from .amplifier import Amplifier, AmplifierLayout
from .location import DaqLocation
from .section import Section


class DetectorPurpose(enum.Enum):
    """What a detector is used for, spelled as obs_lsst / afw spell it."""

    SCIENCE = "SCIENCE"
    WAVEFRONT = "WAVEFRONT"
    GUIDER = "GUIDER"


@dataclass(frozen=True)
class Detector:
    """One detector of a camera.

    Parameters
    ----------
    id : `int`
        obs_lsst detector number (``R22_S11`` = 94 in LSSTCam).
    raft : `str`
        Raft bay, e.g. ``"R22"`` (header ``RAFTBAY``).
    sensor : `str`
        Slot, e.g. ``"S11"``, ``"SG0"``, ``"SW1"`` (header ``CCDSLOT``).
    physical_type : `str`
        Vendor, ``"ITL"`` or ``"E2V"`` (header ``CCD_MANU``).
    ccd_type : `str`
        Vendor model: ``"3800C"``, ``"CCD250"`` or ``"4400"`` (``CCD_TYPE``).
    purpose : `DetectorPurpose`
        Science, guider or wavefront.
    layout : `AmplifierLayout`
        Vendor amplifier geometry.
    amplifiers : `tuple` [`Amplifier`, ...]
        Amplifiers in FITS HDU order (16, or 8 for a wavefront half).
    location : `DaqLocation`
        The REB that reads this detector.
    lsst_num : `str` or `None`
        LSST serial of the CCD (``LSST_NUM``), as obs_lsst's camera
        description gives it; every detector of the three cameras has one
        (`~lsst.ts.archiver.camera.serials`). None only for a detector built
        outside those cameras.
    """

    id: int
    raft: str
    sensor: str
    physical_type: str
    ccd_type: str
    purpose: DetectorPurpose
    layout: AmplifierLayout
    amplifiers: tuple[Amplifier, ...]
    location: DaqLocation
    lsst_num: str | None = None

    def __repr__(self) -> str:
        return f"Detector({self.id}, {self.name!r}, {self.physical_type}, {self.purpose.value})"

    @property
    def name(self) -> str:
        """Full name ``RAFT_SENSOR``, e.g. ``"R22_S11"``."""
        return f"{self.raft}_{self.sensor}"

    @property
    def full_name(self) -> str:
        """Same as `name` (obs_lsst's "full name")."""
        return self.name

    @property
    def n_amplifiers(self) -> int:
        """16 for a CCD, 8 for a wavefront half."""
        return len(self.amplifiers)

    @property
    def detsize(self) -> Section:
        """``DETSIZE`` as CCS writes it (the full CCD size, even for WF halves)."""
        return self.layout.detsize

    @property
    def is_wavefront_half(self) -> bool:
        """True for ``SW0``/``SW1``."""
        return self.purpose is DetectorPurpose.WAVEFRONT

    def amplifier(self, key: str | int) -> Amplifier:
        """Return an amplifier by segment (``"10"``), name (``"C10"``),
        extname (``"Segment10"``) or HDU index/channel (1-based).

        Raises
        ------
        KeyError
            If no amplifier matches.
        """
        for amp in self.amplifiers:
            if key in (amp.hdu, amp.segment, amp.name, amp.extname):
                return amp
        raise KeyError(f"detector {self.name} has no amplifier {key!r}")

    def file_name(self, obsid: str) -> str:
        """Raw file name ``{obsid}_{raft}_{sensor}.fits`` (header ``FILENAME``)."""
        return f"{obsid}_{self.raft}_{self.sensor}.fits"
