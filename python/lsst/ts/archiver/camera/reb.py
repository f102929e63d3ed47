"""REBs: the readout boards, each one DAQ source of an image."""

from __future__ import annotations

__all__ = ["Reb"]

from dataclasses import dataclass

from .detector import Detector
from .location import DaqLocation, RebKind


@dataclass(frozen=True)
class Reb:
    """One REB and the detectors it reads.

    Parameters
    ----------
    location : `DaqLocation`
        Its DAQ location; ``str(location)`` is the CCS name (``R22/Reb0``).
    kind : `RebKind`
        Science, guider, wavefront or the LATISS WREB.
    detectors : `tuple` [`Detector`, ...]
        In slot order: ``SN0, SN1, SN2`` for science REBs, ``SG0, SG1``
        for guider REBs, ``SW0, SW1`` for wavefront REBs, ``S00`` for
        the WREB. The DAQ stream interleaves them in another order; that
        is the DAQ format's business (`lsst.ts.archiver.daq`).
    """

    location: DaqLocation
    kind: RebKind
    detectors: tuple[Detector, ...]

    def __repr__(self) -> str:
        names = ", ".join(d.name for d in self.detectors)
        return f"Reb({self.name}, {self.kind.value}, [{names}])"

    @property
    def name(self) -> str:
        """CCS name, e.g. ``"R22/Reb0"``, ``"R00/RebG"``."""
        return str(self.location)

    @property
    def raft(self) -> str:
        """Raft bay, e.g. ``"R22"``."""
        return self.location.raft

    @property
    def n_channels(self) -> int:
        """Amplifier channels in the source (48, 32 or 16)."""
        return sum(d.n_amplifiers for d in self.detectors)
