"""What the Archiver has of an exposure before it writes the raw files: the
camera's pixels (from the DAQ emulator's generator) and the metadata of the
camera events, for tests and benchmarks of the FITS writer.
"""

from __future__ import annotations

__all__ = ["TAI_BEGIN", "amplifier_pixels", "exposure_metadata"]

import numpy as np

from ..camera import Detector
from ..daq import PixelGenerator
from ..fits import ExposureMetadata

#: Start of the exposure of `exposure_metadata` (TAI unix seconds):
#: 2026-03-15T22:50:34.110 TAI, a fixed date whatever today's is.
TAI_BEGIN = 1773615034.11


def amplifier_pixels(detector: Detector, seed: int = 0, signal: float = 0.0) -> np.ndarray:
    """Return emulated camera pixels of one detector.

    Parameters
    ----------
    detector : `lsst.ts.archiver.camera.Detector`
        The detector.
    seed : `int`, optional
        Seed of the generator (through the image name).
    signal : `float`, optional
        Flat illumination (ADU) on top of the bias level.

    Returns
    -------
    pixels : `numpy.ndarray`
        (n_amplifiers, 2048, 576) int32 array of 18-bit values with bias
        level, read noise, cosmic rays and a saturated spot.
    """
    generator = PixelGenerator(signal=signal)
    return generator.detector_pixels(f"MC_O_20260315_{seed + 1:06d}", detector)


def exposure_metadata(obsid: str, **extra: str | float | int) -> ExposureMetadata:
    """Return the metadata the Archiver would have from the camera events.

    Parameters
    ----------
    obsid : `str`
        Image name.
    **extra
        More primary keywords (added to ``FILTER`` and ``GRATING``).

    Returns
    -------
    metadata : `lsst.ts.archiver.fits.ExposureMetadata`
        A 15 s flat starting at `TAI_BEGIN`.
    """
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
        extra={"FILTER": "r_57", "GRATING": "empty", **extra},
    )
