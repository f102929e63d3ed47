"""Delivery fixtures: raw exposures on a staging disk, S3 and PostgreSQL servers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from servers.postgres import postgres_database, postgres_server  # noqa: F401
from servers.seaweedfs import s3_bucket, seaweedfs  # noqa: F401

from lsst.ts.archiver.butler.testing import write_raw_file
from lsst.ts.archiver.camera import get_camera
from lsst.ts.archiver.fits import make_expected_sensors, write_expected_sensors
from lsst.ts.archiver.metadata.testing import make_primary_header

DAY_OBS = 20261123


@dataclass
class Exposure:
    """Files of one exposure on the staging disk."""

    obsid: str
    instrument: str
    day_obs: int
    files: dict[str, Path]
    manifest: Path
    expected: dict[str, int]


def write_exposure(
    directory: Path, *, instrument: str = "LSSTComCam", seq_num: int = 1, detectors: list[str] | None = None
) -> Exposure:
    """Write the raw files, sidecars and manifest of one exposure."""
    camera = get_camera(instrument)
    chosen = [camera.detector(d) for d in detectors] if detectors else list(camera.detectors)
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    obsid = ""
    for index, detector in enumerate(chosen):
        header = make_primary_header(instrument, day_obs=DAY_OBS, seq_num=seq_num, detector=detector.name)
        obsid = str(header["OBSID"])
        files[detector.name] = write_raw_file(directory, header, seed=seq_num * 1000 + index)
    manifest = make_expected_sensors(camera, obsid, chosen)
    manifest_path = write_expected_sensors(directory, manifest)
    return Exposure(obsid, camera.name, DAY_OBS, files, manifest_path, dict(manifest.detectors))


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    """The capture staging directory."""
    path = tmp_path / "staging"
    path.mkdir()
    return path


@pytest.fixture
def exposure_factory(staging: Path) -> Callable[..., Exposure]:
    """Write exposures to the staging directory."""

    def make(**kwargs: object) -> Exposure:
        return write_exposure(staging, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def results() -> Iterator[dict[str, list[object]]]:
    """Collected callback results by kind."""
    yield {"oods": [], "archived": [], "files": [], "ledger": []}
