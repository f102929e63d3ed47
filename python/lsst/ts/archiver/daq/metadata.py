"""Image and source metadata as the DAQ catalog reports them."""

from __future__ import annotations

__all__ = ["ImageMetadata", "SourceMetadata", "StoreCapacity"]

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..camera import DaqLocation, RebKind
from .errors import SourceNotFoundError
from .stream_format import stream_layout

_SENSOR_TYPE = {
    RebKind.SCIENCE: "SCIENCE",
    RebKind.GUIDER: "GUIDE",
    RebKind.WAVEFRONT: "WAVEFRONT",
    RebKind.WREB: "WAVEFRONT",
}


@dataclass(frozen=True)
class SourceMetadata:
    """One source (one REB's data) of an image.

    Parameters
    ----------
    location : `DaqLocation`
        Where the source comes from (``R22/Reb0``).
    kind : `RebKind`
        REB kind; fixes the stream layout.
    registers : `tuple` [`tuple` [`str`, `int`], ...]
        The sequencer register list (the readout geometry), as
        ``(name, value)`` pairs; see `AmplifierLayout.registers`.
    platform : `str`
        DAQ platform string (header ``PLATFORM``).
    firmware : `int`
        REB firmware word (header ``FIRMWARE``, hex).
    serial_number : `int`
        REB serial number (header ``CONTNUM``, hex).
    daq_version : `str`
        DAQ software release (header ``DAQVERS``).
    size : `int`
        Bytes of packed data the register list implies.
    complete : `bool`
        Whether every byte of the source has been written.
    checksum : `int` or `None`
        CRC-32 of the packed data, when complete (emulator; None if unknown).
    """

    location: DaqLocation
    kind: RebKind
    registers: tuple[tuple[str, int], ...]
    platform: str = ""
    firmware: int = 0
    serial_number: int = 0
    daq_version: str = ""
    size: int = 0
    complete: bool = False
    checksum: int | None = None

    @property
    def register_map(self) -> dict[str, int]:
        """The register list as a dict."""
        return dict(self.registers)

    @property
    def naxis1(self) -> int:
        """Columns per amplifier: ``UnderCols + ReadCols + ReadCols2 + OverCols``."""
        reg = self.register_map
        return reg.get("UnderCols", 0) + reg["ReadCols"] + reg.get("ReadCols2", 0) + reg.get("OverCols", 0)

    @property
    def naxis2(self) -> int:
        """Rows per amplifier: ``ReadRows + OverRows``."""
        reg = self.register_map
        return reg["ReadRows"] + reg.get("OverRows", 0)

    @property
    def n_samples(self) -> int:
        """Pixel clocks in the source (``naxis1 * naxis2``)."""
        return self.naxis1 * self.naxis2

    @property
    def expected_size(self) -> int:
        """Bytes of packed data implied by kind and register list."""
        return stream_layout(self.kind).packed_size(self.n_samples)

    @property
    def sensor_type(self) -> str:
        """DAQ source type: ``SCIENCE``, ``GUIDE`` or ``WAVEFRONT``."""
        return _SENSOR_TYPE[self.kind]

    def header_cards(self) -> dict[str, str]:
        """The raw-FITS primary-header keywords CCS takes from the source.

        Returns
        -------
        cards : `dict` [`str`, `str`]
            ``PLATFORM``, ``DAQVERS``, ``FIRMWARE`` and ``CONTNUM`` (the last
            two as hex strings).
        """
        return {
            "PLATFORM": self.platform,
            "DAQVERS": self.daq_version,
            "FIRMWARE": f"{self.firmware:x}",
            "CONTNUM": f"{self.serial_number:x}",
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict (inverse of `from_dict`)."""
        return {
            "location": str(self.location),
            "kind": self.kind.value,
            "registers": dict(self.registers),
            "platform": self.platform,
            "firmware": self.firmware,
            "serial_number": self.serial_number,
            "daq_version": self.daq_version,
            "size": self.size,
            "complete": self.complete,
            "checksum": self.checksum,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceMetadata:
        """Build from `to_dict` output."""
        return cls(
            location=DaqLocation.parse(data["location"]),
            kind=RebKind(data["kind"]),
            registers=tuple((str(k), int(v)) for k, v in data["registers"].items()),
            platform=data.get("platform", ""),
            firmware=int(data.get("firmware", 0)),
            serial_number=int(data.get("serial_number", 0)),
            daq_version=data.get("daq_version", ""),
            size=int(data.get("size", 0)),
            complete=bool(data.get("complete", False)),
            checksum=data.get("checksum"),
        )


@dataclass(frozen=True)
class ImageMetadata:
    """Catalog entry of one image.

    Parameters
    ----------
    name : `str`
        Image name, normally the obsid (``MC_O_20241123_000123``).
    folder : `str`
        Folder holding the image (header ``DAQFOLD``).
    partition : `str`
        DAQ partition (header ``DAQPART``).
    annotation : `str`
        Free text (header ``OBSANNOT``).
    opcode : `int`
        Sequencer opcode given when the image was triggered.
    timestamp : `float`
        DAQ trigger time, TAI unix seconds (header ``DATE-TRG``).
    tag : `int`
        64-bit image id (header ``IMAGETAG``, see `tag_hex`).
    release : `str`
        DAQ software release.
    sources : `tuple` [`SourceMetadata`, ...]
        One per REB, in location order.
    complete : `bool`
        True once every source has been written.
    """

    name: str
    folder: str
    partition: str
    annotation: str
    opcode: int
    timestamp: float
    tag: int
    release: str
    sources: tuple[SourceMetadata, ...] = field(default=())
    complete: bool = False

    @property
    def tag_hex(self) -> str:
        """The image id as 16 hex digits, as written to ``IMAGETAG``."""
        return f"{self.tag:016x}"

    @property
    def locations(self) -> tuple[DaqLocation, ...]:
        """Locations of the sources (the DAQ "elements")."""
        return tuple(s.location for s in self.sources)

    @property
    def size(self) -> int:
        """Bytes of packed data of all sources."""
        return sum(s.size for s in self.sources)

    def header_cards(self) -> dict[str, str | float]:
        """The raw-FITS primary-header keywords CCS takes from the DAQ image.

        Returns
        -------
        cards : `dict`
            ``IMAGETAG`` (hex), ``DAQPART``, ``DAQFOLD``, ``OBSANNOT``,
            ``DATE-TRG`` (ISO, TAI) and ``MJD-TRG``.
        """
        trigger = datetime.datetime.fromtimestamp(self.timestamp, tz=datetime.UTC)
        return {
            "IMAGETAG": self.tag_hex,
            "DAQPART": self.partition,
            "DAQFOLD": self.folder,
            "OBSANNOT": self.annotation,
            "DATE-TRG": trigger.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
            "MJD-TRG": self.timestamp / 86400.0 + 40587.0,
        }

    def source(self, location: str | DaqLocation) -> SourceMetadata:
        """The source at a location (``"R22/Reb0"``, ``"22/0"`` or a `DaqLocation`).

        Raises
        ------
        SourceNotFoundError
            If the image has no source there.
        """
        loc = DaqLocation.parse(location) if isinstance(location, str) else location
        for src in self.sources:
            if src.location == loc:
                return src
        raise SourceNotFoundError(self.name, str(loc), [str(s.location) for s in self.sources])


@dataclass(frozen=True)
class StoreCapacity:
    """Size of a partition's image store, in bytes."""

    capacity: int
    used: int

    @property
    def remaining(self) -> int:
        """Bytes still free."""
        return max(0, self.capacity - self.used)
