"""Raw files as the Archiver lays them out, small enough for tests.

`write_raw_file` writes one small but complete raw file (primary header plus
one image extension per amplifier, named as the camera names them) and its
JSON sidecar; `write_exposure` writes every file of one exposure and its
expected-sensors manifest, as the capture stage leaves them on the staging
disk.
"""

from __future__ import annotations

__all__ = ["RawExposure", "write_exposure", "write_raw_file"]

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from ..camera import get_camera
from ..fits import make_expected_sensors, write_expected_sensors
from ..metadata import make_sidecar, sidecar_path_for, write_sidecar
from .headers import make_primary_header


def write_raw_file(
    directory: str | os.PathLike[str],
    header: Mapping[str, Any],
    *,
    shape: tuple[int, int] = (8, 12),
    sidecar: bool = True,
    seed: int = 0,
) -> Path:
    """Write a small raw file (and its sidecar) the way the archiver lays it out.

    Parameters
    ----------
    directory : `str` or `os.PathLike`
        Where to write; the name is the header's ``FILENAME``.
    header : `~collections.abc.Mapping`
        Primary header (e.g. from
        `lsst.ts.archiver.testing.make_primary_header`).
    shape : `tuple` [`int`, `int`], optional
        Pixel array shape of each amplifier image (rows, columns).
    sidecar : `bool`, optional
        Also write the JSON sidecar next to the file.
    seed : `int`, optional
        Seed of the pixel values.

    Returns
    -------
    path : `pathlib.Path`
        Path of the FITS file.
    """
    camera = get_camera(str(header["INSTRUME"]))
    detector = camera.detector_by_raft_sensor(str(header["RAFTBAY"]), str(header["CCDSLOT"]))
    primary = fits.PrimaryHDU()
    for key, value in header.items():
        primary.header[key] = value
    rng = np.random.default_rng(seed)
    hdus: list[Any] = [primary]
    for amplifier in detector.amplifiers:
        data = rng.integers(15000, 25000, size=shape, dtype=np.int32)
        image = fits.ImageHDU(data=data)
        image.header["EXTNAME"] = amplifier.extname
        image.header["CHANNEL"] = amplifier.hdu
        hdus.append(image)
    path = Path(directory) / str(header["FILENAME"])
    fits.HDUList(hdus).writeto(path, overwrite=True, checksum=True)
    if sidecar:
        made = make_sidecar(header, filename=path.name, size=path.stat().st_size)
        write_sidecar(sidecar_path_for(path), made)
    return path


@dataclasses.dataclass
class RawExposure:
    """The files of one exposure on a staging disk.

    Attributes
    ----------
    obsid : `str`
        Image name.
    instrument : `str`
        Camera name (``LSSTComCam``...).
    day_obs : `int`
        Observing day ``YYYYMMDD``.
    files : `dict` [`str`, `pathlib.Path`]
        Raw file of each detector, by detector name (``R22_S11``).
    manifest : `pathlib.Path`
        The expected-sensors manifest.
    expected : `dict` [`str`, `int`]
        Detector id by name, as the manifest lists them.
    """

    obsid: str
    instrument: str
    day_obs: int
    files: dict[str, Path]
    manifest: Path
    expected: dict[str, int]


def write_exposure(
    directory: Path,
    *,
    instrument: str = "LSSTComCam",
    day_obs: int = 20261123,
    seq_num: int = 1,
    detectors: Sequence[str] | None = None,
) -> RawExposure:
    """Write the raw files, sidecars and manifest of one exposure.

    Parameters
    ----------
    directory : `pathlib.Path`
        Where to write (created if needed).
    instrument : `str`, optional
        Camera name.
    day_obs : `int`, optional
        Observing day ``YYYYMMDD`` of the image name.
    seq_num : `int`, optional
        Sequence number of the image name; also seeds the pixel values.
    detectors : sequence of `str`, optional
        Detector names; every detector of the camera if `None` or empty.

    Returns
    -------
    exposure : `RawExposure`
        What was written.
    """
    camera = get_camera(instrument)
    chosen = [camera.detector(d) for d in detectors] if detectors else list(camera.detectors)
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    obsid = ""
    for index, detector in enumerate(chosen):
        header = make_primary_header(instrument, day_obs=day_obs, seq_num=seq_num, detector=detector.name)
        obsid = str(header["OBSID"])
        files[detector.name] = write_raw_file(directory, header, seed=seq_num * 1000 + index)
    manifest = make_expected_sensors(camera, obsid, chosen)
    manifest_path = write_expected_sensors(directory, manifest)
    return RawExposure(obsid, camera.name, day_obs, files, manifest_path, dict(manifest.detectors))
