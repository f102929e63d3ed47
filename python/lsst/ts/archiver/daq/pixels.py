"""Deterministic, vectorized pixel content for emulated images.

The content of every amplifier is a bias level (different per amplifier),
read noise, an optional illumination level with shot noise in the imaging
area, cosmic-ray tracks and saturated spots, clipped to 18 bits. The same
image name and detector always give the same pixels, in any process.

Noise is drawn from a per-process pool of pre-generated Gaussian values
(fixed seed) at a random offset chosen per amplifier from the image's seed:
about 20x faster than drawing fresh normals, and enough for statistics
(mean, median, standard deviation per amplifier).
"""

from __future__ import annotations

__all__ = ["PixelGenerator", "image_seed"]

import functools
import hashlib
from dataclasses import dataclass

import numpy as np

from ..camera import AmplifierLayout, Detector, Reb
from .stream_format import VALUE_MASK

_POOL_SIZE = 1 << 21


@functools.lru_cache(maxsize=32)
def _noise_pool(sigma_tenths: int) -> np.ndarray:
    """Rounded Gaussian noise of standard deviation ``sigma_tenths / 10`` (int32)."""
    rng = np.random.default_rng(0x5EED + sigma_tenths)
    pool = np.rint(rng.standard_normal(_POOL_SIZE) * (sigma_tenths / 10.0)).astype(np.int32)
    pool.setflags(write=False)
    return pool


def image_seed(image_name: str, detector_name: str) -> int:
    """The 64-bit random seed of one detector of one image."""
    digest = hashlib.blake2b(f"{image_name}/{detector_name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _noise(rng: np.random.Generator, sigma: float, n: int) -> np.ndarray:
    tenths = max(1, round(sigma * 10))
    pool = _noise_pool(tenths)
    if n > pool.size:
        raise ValueError(f"amplifier of {n} pixels is larger than the noise pool ({pool.size})")
    offset = int(rng.integers(0, pool.size - n + 1))
    return pool[offset : offset + n]


@dataclass(frozen=True)
class PixelGenerator:
    """Generates raw amplifier pixels for emulated images.

    Parameters
    ----------
    signal : `float`
        Illumination in the imaging area, ADU per pixel (0 for bias/dark;
        e.g. 20000 for a flat). Shot noise uses `gain`.
    bias_level : `float`
        Mean bias level, ADU.
    bias_spread : `float`
        Half-width of the uniform spread of bias levels between amplifiers.
    read_noise : `float`
        Mean read noise, ADU; each amplifier gets a value within +-1 ADU
        (in steps of 0.5 ADU).
    gain : `float`
        Electrons per ADU, for the shot noise of `signal`.
    cosmic_rays : `float`
        Mean number of cosmic-ray tracks per detector (Poisson).
    saturated_spots : `int`
        Number of saturated spots (with a short bleed trail) per detector.
    saturation : `int`
        Value of saturated pixels (at most ``2**18 - 1``).
    """

    signal: float = 0.0
    bias_level: float = 20000.0
    bias_spread: float = 3000.0
    read_noise: float = 6.0
    gain: float = 1.5
    cosmic_rays: float = 20.0
    saturated_spots: int = 1
    saturation: int = VALUE_MASK

    def __post_init__(self) -> None:
        if not 0 < self.saturation <= VALUE_MASK:
            raise ValueError(f"saturation {self.saturation} must be in 1..{VALUE_MASK}")
        if self.signal < 0 or self.read_noise < 0 or self.gain <= 0 or self.cosmic_rays < 0:
            raise ValueError(
                f"signal {self.signal}, read_noise {self.read_noise} and cosmic_rays {self.cosmic_rays} "
                f"must be >= 0 and gain {self.gain} > 0"
            )

    def detector_pixels(
        self, image_name: str, detector: Detector, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Pixels of one detector.

        Parameters
        ----------
        image_name : `str`
            Image name; seeds the content.
        detector : `Detector`
            The detector (its amplifier layout sets the size).
        out : `numpy.ndarray`, optional
            int32 array of shape ``(n_amplifiers, naxis2, naxis1)`` to fill.

        Returns
        -------
        pixels : `numpy.ndarray`
            int32 ``(n_amplifiers, naxis2, naxis1)`` in FITS HDU order,
            values in ``0 .. 2**18 - 1``.
        """
        layout = detector.layout
        shape = (detector.n_amplifiers, layout.naxis2, layout.naxis1)
        if out is None:
            out = np.empty(shape, dtype=np.int32)
        elif out.shape != shape or out.dtype != np.int32:
            raise ValueError(f"out must be an int32 array of shape {shape}, got {out.dtype} {out.shape}")
        rng = np.random.default_rng(image_seed(image_name, detector.name))
        n = layout.n_samples
        biases = self.bias_level + rng.uniform(-self.bias_spread, self.bias_spread, size=shape[0])
        noises = self.read_noise + 0.5 * rng.integers(-2, 3, size=shape[0])
        flat = out.reshape(shape[0], n)
        for amp in range(shape[0]):
            np.add(_noise(rng, max(noises[amp], 0.1), n), np.int32(round(biases[amp])), out=flat[amp])
        if self.signal > 0:
            self._illuminate(rng, out, layout)
        self._add_cosmic_rays(rng, out, layout)
        self._add_saturated_spots(rng, out, layout)
        np.clip(out, 0, VALUE_MASK, out=out)
        return out

    def source_pixels(self, image_name: str, reb: Reb, out: np.ndarray | None = None) -> np.ndarray:
        """Pixels of every detector of a REB, shape ``(n_detectors, n_amplifiers, naxis2, naxis1)``.

        The result can be passed straight to `encode_source` or
        `EmulatedDaqStore.write_pixels`.
        """
        first = reb.detectors[0]
        shape = (len(reb.detectors), first.n_amplifiers, first.layout.naxis2, first.layout.naxis1)
        if out is None:
            out = np.empty(shape, dtype=np.int32)
        for i, det in enumerate(reb.detectors):
            self.detector_pixels(image_name, det, out=out[i])
        return out

    def _illuminate(self, rng: np.random.Generator, out: np.ndarray, layout: AmplifierLayout) -> None:
        rows, cols = layout.datasec.slices()
        n_rows, n_cols = rows.stop - rows.start, cols.stop - cols.start
        shot = float(np.sqrt(self.signal / self.gain))
        level = np.int32(round(self.signal))
        for amp in range(out.shape[0]):
            noise = _noise(rng, max(shot, 0.1), n_rows * n_cols).reshape(n_rows, n_cols)
            region = out[amp, rows, cols]
            region += noise
            region += level

    def _add_cosmic_rays(self, rng: np.random.Generator, out: np.ndarray, layout: AmplifierLayout) -> None:
        count = int(rng.poisson(self.cosmic_rays)) if self.cosmic_rays > 0 else 0
        if count == 0:
            return
        rows, cols = layout.datasec.slices()
        lengths = rng.integers(1, 16, size=count)
        amps = rng.integers(0, out.shape[0], size=count)
        y0 = rng.integers(rows.start, rows.stop, size=count)
        x0 = rng.integers(cols.start, cols.stop, size=count)
        directions = rng.integers(-1, 2, size=(count, 2))
        directions[(directions == 0).all(axis=1)] = (1, 0)
        amplitude = rng.uniform(200.0, 30000.0, size=count)
        step = np.concatenate([np.arange(n) for n in lengths])
        owner = np.repeat(np.arange(count), lengths)
        ys = np.clip(y0[owner] + directions[owner, 0] * step, rows.start, rows.stop - 1)
        xs = np.clip(x0[owner] + directions[owner, 1] * step, cols.start, cols.stop - 1)
        deposit = (amplitude[owner] / lengths[owner]).astype(np.int32)
        np.add.at(out, (amps[owner], ys, xs), deposit)

    def _add_saturated_spots(
        self, rng: np.random.Generator, out: np.ndarray, layout: AmplifierLayout
    ) -> None:
        rows, cols = layout.datasec.slices()
        for _ in range(self.saturated_spots):
            amp = int(rng.integers(0, out.shape[0]))
            radius = int(rng.integers(1, 4))
            bleed = int(rng.integers(0, 40))
            y = int(rng.integers(rows.start + radius, rows.stop - radius - bleed))
            x = int(rng.integers(cols.start + radius, cols.stop - radius))
            out[amp, y - radius - bleed : y + radius + bleed + 1, x] = self.saturation
            out[amp, y - radius : y + radius + 1, x - radius : x + radius + 1] = self.saturation
