"""The per-exposure ``expectedSensors.json`` manifest.

One manifest per image lists every detector the Archiver expects a file
for, with its type, so that downstream consumers (and the Archiver itself
after a restart) know when an exposure is complete::

    {
      "obsid": "MC_O_20260315_000051",
      "instrument": "LSSTCam",
      "expectedSensors": {"R00_SG0": "GUIDER", "R00_SW0": "WAVEFRONT", "R01_S00": "SCIENCE", ...},
      "detectors": {"R00_SG0": 189, ...}
    }

``expectedSensors`` maps the detector name to ``SCIENCE``, ``GUIDER`` or
``WAVEFRONT``; ``detectors`` maps it to the obs_lsst detector number.
"""

from __future__ import annotations

__all__ = [
    "ExpectedSensors",
    "ManifestError",
    "make_expected_sensors",
    "manifest_path_for",
    "read_expected_sensors",
    "write_expected_sensors",
]

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..camera import Camera, Detector, ImageName
from .atomic import AtomicFile

_TYPES = frozenset({"SCIENCE", "GUIDER", "WAVEFRONT"})


class ManifestError(ValueError):
    """An expectedSensors manifest is malformed."""


@dataclass(frozen=True)
class ExpectedSensors:
    """The detectors expected for one image.

    Parameters
    ----------
    obsid : `str`
        Image name.
    instrument : `str`
        Butler instrument name (``LSSTCam`` ...).
    sensors : `~collections.abc.Mapping` [`str`, `str`]
        Detector name → type (``SCIENCE``, ``GUIDER``, ``WAVEFRONT``), in
        detector-number order.
    detectors : `~collections.abc.Mapping` [`str`, `int`]
        Detector name → obs_lsst detector number.
    """

    obsid: str
    instrument: str
    sensors: Mapping[str, str]
    detectors: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "obsid": self.obsid,
            "instrument": self.instrument,
            "expectedSensors": dict(self.sensors),
            "detectors": dict(self.detectors),
        }

    def to_json(self) -> str:
        """JSON text (indented, stable key order)."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "manifest") -> ExpectedSensors:
        """Build from the JSON form.

        Raises
        ------
        ManifestError
            If a field is missing or has the wrong type.
        """
        if not isinstance(data, Mapping):
            raise ManifestError(f"{source}: expected a JSON object, got {type(data).__name__}")
        for key in ("obsid", "instrument", "expectedSensors"):
            if key not in data:
                raise ManifestError(f"{source}: missing field {key!r}")
        sensors = data["expectedSensors"]
        if not isinstance(sensors, Mapping) or not all(
            isinstance(k, str) and v in _TYPES for k, v in sensors.items()
        ):
            raise ManifestError(f"{source}: 'expectedSensors' must map names to one of {sorted(_TYPES)}")
        detectors = data.get("detectors", {})
        if not isinstance(detectors, Mapping) or not all(isinstance(v, int) for v in detectors.values()):
            raise ManifestError(f"{source}: 'detectors' must map names to detector numbers")
        return cls(str(data["obsid"]), str(data["instrument"]), dict(sensors), dict(detectors))


def make_expected_sensors(
    camera: Camera, obsid: str, detectors: Iterable[Detector | int | str] | None = None
) -> ExpectedSensors:
    """Build the manifest of an image.

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The instrument.
    obsid : `str`
        Image name (validated).
    detectors : iterable of detectors, numbers or names, optional
        The detectors read out; default every detector of the camera.

    Returns
    -------
    manifest : `ExpectedSensors`
        Detectors sorted by number.
    """
    ImageName.parse(obsid)
    if detectors is None:
        chosen = list(camera.detectors)
    else:
        chosen = [d if isinstance(d, Detector) else camera.detector(d) for d in detectors]
    chosen = sorted({d.id: d for d in chosen}.values(), key=lambda d: d.id)
    return ExpectedSensors(
        obsid=obsid,
        instrument=camera.name,
        sensors={d.name: d.purpose.value for d in chosen},
        detectors={d.name: d.id for d in chosen},
    )


def manifest_path_for(directory: str | os.PathLike[str], obsid: str) -> Path:
    """``<directory>/<OBSID>_expectedSensors.json``."""
    return Path(directory) / f"{obsid}_expectedSensors.json"


def write_expected_sensors(
    directory: str | os.PathLike[str], manifest: ExpectedSensors, *, fsync: bool = False
) -> Path:
    """Write the manifest atomically next to the image's files.

    Returns
    -------
    path : `pathlib.Path`
        The written file (`manifest_path_for`).

    Raises
    ------
    DiskFullError, WritePermissionError, FitsWriteError
        If it cannot be written.
    """
    path = manifest_path_for(directory, manifest.obsid)
    with AtomicFile(path, fsync=fsync) as out:
        out.write([manifest.to_json().encode("ascii")])
    return path


def read_expected_sensors(path: str | os.PathLike[str]) -> ExpectedSensors:
    """Read a manifest.

    Raises
    ------
    ManifestError
        If the file is not valid JSON or lacks fields.
    OSError
        If it cannot be read.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ManifestError(f"{path}: not valid JSON: {e}") from None
    return ExpectedSensors.from_dict(data, source=os.fspath(path))
