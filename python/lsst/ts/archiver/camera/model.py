"""The `Camera` class: one instrument's focal plane, REBs and identity."""

from __future__ import annotations

__all__ = ["Camera"]

from collections.abc import Iterable
from dataclasses import dataclass, field

from .detector import Detector, DetectorPurpose
from .errors import InvalidImageNameError, UnknownDetectorError, UnknownRebError
from .image_name import ImageName
from .location import DaqLocation
from .reb import Reb


@dataclass(frozen=True)
class Camera:
    """An instrument: its names, its DAQ partition, its detectors and REBs.

    Build instances with `get_camera`; the three known cameras are the
    module constants ``LATISS``, ``LSST_COMCAM`` and ``LSSTCAM``.

    Parameters
    ----------
    name : `str`
        Butler instrument name: ``"LATISS"``, ``"LSSTComCam"``, ``"LSSTCam"``.
    instrume : `str`
        Header ``INSTRUME``: ``"LATISS"``, ``"ComCam"``, ``"lsstCam"``.
    camera_code : `str`
        Image-name prefix and header ``CAMCODE``: ``"AT"``, ``"CC"``, ``"MC"``.
    csc_name : `str`
        The camera CSC: ``"ATCamera"``, ``"CCCamera"``, ``"MTCamera"``.
    archiver_name : `str`
        The Archiver CSC: ``"ATArchiver"``, ``"CCArchiver"``, ``"MTArchiver"``.
    header_service_name : `str`
        The Header Service CSC: ``"ATHeaderService"`` ...
    partition : `str`
        DAQ partition (header ``DAQPART``): ``"lat"``, ``"comcam"``, ``"camera"``.
    platform : `str`
        DAQ platform string (header ``PLATFORM``).
    telescope : `str`
        Header ``TELESCOP``.
    telemetry_slots : `int`
        Array length of per-detector SAL telemetry and
        ``imageReadoutParameters`` (1, 9, 205/201).
    rebs : `tuple` [`Reb`, ...]
        Every REB in DAQ location order.
    """

    name: str
    instrume: str
    camera_code: str
    csc_name: str
    archiver_name: str
    header_service_name: str
    partition: str
    platform: str
    telescope: str
    telemetry_slots: int
    rebs: tuple[Reb, ...]
    _by_id: dict[int, Detector] = field(init=False, repr=False, compare=False)
    _by_name: dict[str, Detector] = field(init=False, repr=False, compare=False)
    _rebs_by_location: dict[DaqLocation, Reb] = field(init=False, repr=False, compare=False)
    _reb_of: dict[int, Reb] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[int, Detector] = {}
        reb_of: dict[int, Reb] = {}
        for reb in self.rebs:
            for det in reb.detectors:
                by_id[det.id] = det
                reb_of[det.id] = reb
        object.__setattr__(self, "_by_id", dict(sorted(by_id.items())))
        object.__setattr__(self, "_by_name", {d.name: d for d in by_id.values()})
        object.__setattr__(self, "_rebs_by_location", {r.location: r for r in self.rebs})
        object.__setattr__(self, "_reb_of", reb_of)

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def oods_name(self) -> str:
        """SAL name of the camera's OODS (``ATOODS``, ``CCOODS``, ``MTOODS``)."""
        return self.archiver_name.removesuffix("Archiver") + "OODS"

    def __repr__(self) -> str:
        return f"Camera({self.name}, {len(self._by_id)} detectors, {len(self.rebs)} REBs)"

    def parse_image_name(self, text: str) -> ImageName:
        """Parse ``text`` as the name of one of this camera's images.

        Raises
        ------
        InvalidImageNameError
            If ``text`` is not a canonical image name, or names an image of
            another camera (the message says which, with the value).
        """
        name = ImageName.parse(text)
        if name.camera_code != self.camera_code:
            raise InvalidImageNameError(
                f"{text!r} is not a {self.name} image (camera code {self.camera_code})"
            )
        return name

    @property
    def detectors(self) -> tuple[Detector, ...]:
        """Every detector, sorted by detector number."""
        return tuple(self._by_id.values())

    @property
    def detector_ids(self) -> tuple[int, ...]:
        """Every detector number, sorted."""
        return tuple(self._by_id)

    @property
    def detector_names(self) -> tuple[str, ...]:
        """Every detector full name (``R22_S11``), in detector-number order."""
        return tuple(d.name for d in self._by_id.values())

    def detectors_for(self, purpose: DetectorPurpose) -> tuple[Detector, ...]:
        """Detectors with the given purpose, sorted by number."""
        return tuple(d for d in self._by_id.values() if d.purpose is purpose)

    def detector(self, key: int | str) -> Detector:
        """Look up a detector by number (``94``) or full name (``"R22_S11"``).

        Raises
        ------
        UnknownDetectorError
            If the camera has no such detector.
        """
        if isinstance(key, int):
            found = self._by_id.get(key)
        else:
            found = self._by_name.get(key.strip())
        if found is None:
            ids = self.detector_ids
            raise UnknownDetectorError(
                f"{self.name} has no detector {key!r}; numbers are {ids[0]}-{ids[-1]}, "
                f"names look like {self.detectors[0].name!r}"
            )
        return found

    def detector_by_raft_sensor(self, raft: str, sensor: str) -> Detector:
        """Look up a detector from ``RAFTBAY`` and ``CCDSLOT`` header values."""
        return self.detector(f"{raft.strip()}_{sensor.strip()}")

    def reb(self, location: str | DaqLocation) -> Reb:
        """Look up a REB by location (``"R22/Reb0"``, ``"22/0"`` or a `DaqLocation`).

        Raises
        ------
        UnknownRebError
            If the camera has no REB there.
        InvalidLocationError
            If ``location`` is a malformed string.
        """
        loc = DaqLocation.parse(location) if isinstance(location, str) else location
        found = self._rebs_by_location.get(loc)
        if found is None:
            raise UnknownRebError(
                f"{self.name} has no REB at DAQ location {loc} ({loc.daq_name}); "
                f"it has {len(self.rebs)} REBs, e.g. {self.rebs[0].name}"
            )
        return found

    def reb_for(self, detector: int | str | Detector) -> Reb:
        """The REB that reads a detector."""
        det = detector if isinstance(detector, Detector) else self.detector(detector)
        return self._reb_of[det.id]

    def rebs_for(self, detectors: Iterable[int | str | Detector]) -> tuple[Reb, ...]:
        """The distinct REBs reading the given detectors, in location order."""
        found = {self.reb_for(d).location for d in detectors}
        return tuple(r for r in self.rebs if r.location in found)

    @property
    def locations(self) -> tuple[DaqLocation, ...]:
        """The DAQ locations of every REB, in order."""
        return tuple(r.location for r in self.rebs)
