"""Per-detector pixel statistics reported in ``focalPlaneCapture``."""

from __future__ import annotations

__all__ = ["DetectorStats", "detector_stats"]

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..camera import Detector

_SIGMA_PER_IQR = 1.0 / 1.349
"""Standard deviation of a normal distribution per interquartile range."""

_SAMPLE_STRIDE = 16
"""Every n-th row of the imaging region is used for the median (speed: about 125 rows
of 509 pixels per amplifier, plenty for a median reported in telemetry)."""


@dataclass(frozen=True)
class DetectorStats:
    """Summary statistics of one detector's raw amplifiers (ADU).

    Parameters
    ----------
    median_signal : `float`
        Median over amplifiers of the median of the imaging region.
    noise : `float`
        Median over amplifiers of the robust standard deviation
        (interquartile range / 1.349) of the serial overscan.
    """

    median_signal: float
    noise: float


def detector_stats(detector: Detector, pixels: npt.NDArray[np.int32]) -> DetectorStats:
    """Compute `DetectorStats` from raw amplifier images.

    Parameters
    ----------
    detector : `~lsst.ts.archiver.camera.Detector`
        The detector (gives each amplifier's imaging region and overscan).
    pixels : `numpy.ndarray`
        int32 ``(n_amplifiers, naxis2, naxis1)`` in FITS HDU order.

    Returns
    -------
    stats : `DetectorStats`
        The statistics; NaN where a region is empty.

    Raises
    ------
    ValueError
        If ``pixels`` does not have one image per amplifier.
    """
    if pixels.ndim != 3 or pixels.shape[0] != detector.n_amplifiers:
        raise ValueError(
            f"{detector.name}: pixels of shape {pixels.shape}, expected ({detector.n_amplifiers}, ny, nx)"
        )
    medians: list[float] = []
    noises: list[float] = []
    for amplifier, image in zip(detector.amplifiers, pixels, strict=True):
        rows, cols = amplifier.datasec.slices()
        data = image[rows, cols][::_SAMPLE_STRIDE]
        if data.size:
            medians.append(float(np.median(data)))
        rows, cols = amplifier.serial_overscan.slices()
        overscan = image[rows, cols]
        if overscan.size:
            q25, q75 = np.percentile(overscan, [25.0, 75.0])
            noises.append(float(q75 - q25) * _SIGMA_PER_IQR)
    return DetectorStats(
        median_signal=float(np.median(medians)) if medians else float("nan"),
        noise=float(np.median(noises)) if noises else float("nan"),
    )
