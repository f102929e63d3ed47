"""Pixel generator: deterministic per image, realistic statistics, 18-bit range."""

import numpy as np
import pytest

from lsst.ts.archiver.camera import LSST_COMCAM, LSSTCAM
from lsst.ts.archiver.daq import PixelGenerator, image_seed

ITL = LSST_COMCAM.detector("R22_S11")
E2V = LSSTCAM.detector("R22_S11")


def test_same_image_and_detector_give_identical_pixels() -> None:
    generator = PixelGenerator()
    first = generator.detector_pixels("CC_O_20241123_000001", ITL)
    again = PixelGenerator().detector_pixels("CC_O_20241123_000001", ITL)
    np.testing.assert_array_equal(first, again)


def test_other_image_or_detector_gives_other_pixels() -> None:
    generator = PixelGenerator()
    base = generator.detector_pixels("CC_O_20241123_000001", ITL)
    assert not np.array_equal(base, generator.detector_pixels("CC_O_20241123_000002", ITL))
    assert not np.array_equal(
        base, generator.detector_pixels("CC_O_20241123_000001", LSST_COMCAM.detector(0))
    )
    assert image_seed("a", "R22_S11") != image_seed("b", "R22_S11")


def test_shape_dtype_and_18_bit_range() -> None:
    pixels = PixelGenerator(signal=250_000.0).detector_pixels("MC_O_20241123_000001", E2V)
    assert pixels.shape == (16, 2048, 576) and pixels.dtype == np.int32
    assert pixels.min() >= 0 and pixels.max() <= 2**18 - 1
    wavefront = PixelGenerator().detector_pixels("MC_O_20241123_000001", LSSTCAM.detector("R00_SW0"))
    assert wavefront.shape == (8, 2048, 576)


def test_bias_differs_per_amplifier_and_noise_matches_read_noise() -> None:
    generator = PixelGenerator(read_noise=6.0, cosmic_rays=0, saturated_spots=0)
    pixels = generator.detector_pixels("CC_O_20241123_000003", ITL)
    overscan_rows, overscan_cols = ITL.layout.serial_overscan.slices()
    medians = [float(np.median(amp[overscan_rows, overscan_cols])) for amp in pixels]
    assert len(set(medians)) > 8
    assert all(17000 - 1 <= m <= 23000 + 1 for m in medians)
    noise = [float(amp[overscan_rows, overscan_cols].std()) for amp in pixels]
    assert all(4.5 <= n <= 7.5 for n in noise)


def test_signal_raises_only_the_imaging_area_with_shot_noise() -> None:
    bias = PixelGenerator(cosmic_rays=0, saturated_spots=0).detector_pixels("CC_O_20241123_000004", ITL)
    flat = PixelGenerator(signal=10_000.0, gain=1.0, cosmic_rays=0, saturated_spots=0).detector_pixels(
        "CC_O_20241123_000004", ITL
    )
    data_rows, data_cols = ITL.layout.datasec.slices()
    over_rows, over_cols = ITL.layout.serial_overscan.slices()
    lift = np.median(flat[0, data_rows, data_cols]) - np.median(bias[0, data_rows, data_cols])
    assert lift == pytest.approx(10_000.0, abs=5)
    np.testing.assert_array_equal(flat[:, over_rows, over_cols], bias[:, over_rows, over_cols])
    assert flat[0, data_rows, data_cols].std() == pytest.approx(100.0, rel=0.05)


def test_cosmic_rays_and_saturated_spots_appear() -> None:
    clean = PixelGenerator(cosmic_rays=0, saturated_spots=0).detector_pixels("CC_O_20241123_000005", ITL)
    busy = PixelGenerator(cosmic_rays=50, saturated_spots=2).detector_pixels("CC_O_20241123_000005", ITL)
    assert (clean == 2**18 - 1).sum() == 0
    assert (busy == 2**18 - 1).sum() >= 2 * 9
    hits = (busy.astype(np.int64) - clean) > 100
    assert hits.sum() > 20


def test_source_pixels_stack_the_reb_detectors() -> None:
    reb = LSSTCAM.reb("R00/RebG")
    generator = PixelGenerator()
    pixels = generator.source_pixels("MC_O_20241123_000006", reb)
    assert pixels.shape == (2, 16, 2048, 576)
    np.testing.assert_array_equal(
        pixels[1], generator.detector_pixels("MC_O_20241123_000006", reb.detectors[1])
    )


def test_invalid_parameters_are_rejected_with_values() -> None:
    with pytest.raises(ValueError, match="300000"):
        PixelGenerator(saturation=300_000)
    with pytest.raises(ValueError, match="gain 0"):
        PixelGenerator(gain=0)
