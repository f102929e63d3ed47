"""Helpers shared by the raw FITS writer tests (pixels, metadata, validation)."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from lsst.ts.archiver.camera import Detector
from lsst.ts.archiver.daq import PixelGenerator
from lsst.ts.archiver.fits import ExposureMetadata

TAI_BEGIN = 1773615034.11  # 2026-03-15T22:50:34.110 TAI


def amplifier_pixels(detector: Detector, seed: int = 0, signal: float = 0.0) -> np.ndarray:
    """Emulated camera pixels from the DAQ emulator's generator, (n_amps, 2048, 576) int32.

    Bias level, read noise, cosmic rays and a saturated spot (plus a flat
    illumination of ``signal`` ADU), 18-bit values, seeded by ``seed``.
    """
    generator = PixelGenerator(signal=signal)
    return generator.detector_pixels(f"MC_O_20260315_{seed + 1:06d}", detector)


def exposure_metadata(obsid: str, **extra: object) -> ExposureMetadata:
    """Metadata the Archiver would have from the camera events."""
    return ExposureMetadata(
        obsid=obsid,
        imgtype="FLAT",
        exptime=15.0,
        darktime=15.2,
        shuttime=15.0,
        date_beg=TAI_BEGIN,
        date_end=TAI_BEGIN + 15.2,
        date_trg=TAI_BEGIN + 15.3,
        groupid="2026-03-15T22:50:34.110",
        curindex=1,
        maxindex=1,
        daq_folder="raw",
        image_tag="723333ec44d7acb0",
        extra={"FILTER": "r_57", "GRATING": "empty", **extra},  # type: ignore[dict-item]
    )


def run_fitsverify(path: Path) -> str:
    """Full fitsverify report; asserts it found no warning and no error."""
    result = subprocess.run(["fitsverify", str(path)], capture_output=True, text=True, check=False)
    report = result.stdout + result.stderr
    assert "Verification found 0 warning(s) and 0 error(s)" in report, report
    return report


def open_verified(path: Path) -> fits.HDUList:
    """Open with astropy verifying CHECKSUM/DATASUM; any warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hdus = fits.open(path, checksum=True)
        for hdu in hdus:
            hdu.header  # noqa: B018 - force parsing (and checksum verification) of every HDU
        return hdus
