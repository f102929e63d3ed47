"""A decoded source: int32 pixels per detector and amplifier, in FITS order."""

from __future__ import annotations

__all__ = ["DecodedSource"]

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..camera import Detector
from .metadata import SourceMetadata


@dataclass(frozen=True, eq=False)
class DecodedSource:
    """The pixels of one source, ready to be written as raw FITS.

    Parameters
    ----------
    image : `str`
        Image name.
    source : `SourceMetadata`
        The source's catalog entry (location, register list ...).
    detectors : `tuple` [`Detector`, ...]
        The detectors of the REB, in `Reb.detectors` order.
    pixels : `numpy.ndarray`
        int32, shape ``(n_detectors, n_amplifiers, naxis2, naxis1)``;
        ``pixels[i, j]`` is HDU ``j + 1`` of ``detectors[i]``
        (``detectors[i].amplifiers[j]``).
    """

    image: str
    source: SourceMetadata
    detectors: tuple[Detector, ...]
    pixels: np.ndarray

    def __iter__(self) -> Iterator[tuple[Detector, np.ndarray]]:
        """Iterate over ``(detector, amplifier_pixels)`` pairs."""
        return iter(zip(self.detectors, self.pixels, strict=True))

    def detector_pixels(self, detector: int | str | Detector) -> np.ndarray:
        """Pixels ``(n_amplifiers, naxis2, naxis1)`` of one detector of the source.

        Parameters
        ----------
        detector : `int`, `str` or `Detector`
            Detector number, full name (``R22_S11``) or the detector.

        Raises
        ------
        KeyError
            If the detector is not read by this source.
        """
        for i, det in enumerate(self.detectors):
            if detector is det or detector == det.id or detector == det.name:
                return self.pixels[i]
        names = ", ".join(d.name for d in self.detectors)
        raise KeyError(f"detector {detector!r} is not in source {self.source.location} ({names})")
