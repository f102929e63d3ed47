"""Capture of DAQ sources into raw FITS files: pixels, header merge, statistics, errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from lsst.ts.archiver.camera import LATISS, LSST_COMCAM
from lsst.ts.archiver.capture import (
    CaptureOptions,
    CaptureStatus,
    CaptureTask,
    LocalCapturePool,
    capture_source,
    detector_stats,
    detector_threads,
)
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.error_codes import ErrorCode
from lsst.ts.archiver.fits import Card, ExposureMetadata, HeaderServiceFile, render_header_file
from lsst.ts.archiver.staging import StagingArea

LATISS_NAME = "AT_O_20261123_000007"
COMCAM_NAME = "CC_O_20261123_000008"


@pytest.fixture
def latiss_store(tmp_path: Path) -> EmulatedDaqStore:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    store.add_image(LATISS_NAME, generator=PixelGenerator(signal=1000.0, cosmic_rays=0, saturated_spots=0))
    return store


def options(tmp_path: Path, partition: str = "lat", **kwargs: bool) -> CaptureOptions:
    return CaptureOptions(
        daq_root=str(tmp_path / "daq"),
        partition=partition,
        folder="raw",
        staging=str(tmp_path / "staging"),
        **kwargs,
    )


def latiss_task(tmp_path: Path, **kwargs: object) -> CaptureTask:
    detector = LATISS.detectors[0]
    location = str(LATISS.reb_for(detector).location)
    return CaptureTask(
        options=options(tmp_path),
        obsid=LATISS_NAME,
        location=location,
        detectors=(detector.name,),
        metadata=ExposureMetadata(obsid=LATISS_NAME, imgtype="FLAT", exptime=2.0),
        **kwargs,  # type: ignore[arg-type]
    )


def test_capture_writes_the_decoded_pixels_with_archiver_metadata(
    tmp_path: Path, latiss_store: EmulatedDaqStore
) -> None:
    outcome = capture_source(latiss_task(tmp_path, header_problem="late"))
    [result] = outcome.detectors
    assert result.status is CaptureStatus.OK, result.description
    assert result.number == LATISS.detectors[0].id
    path = Path(result.path or "")
    assert path.parent == StagingArea(tmp_path / "staging").image_dir(LATISS_NAME)
    assert result.size == path.stat().st_size
    assert path.with_suffix(".json").exists()
    decoded = latiss_store.decode_source(LATISS_NAME, outcome.location)
    with fits.open(path, checksum=True) as hdul:
        assert hdul[0].header["HDRSRC"] == "Archiver"
        assert hdul[0].header["IMGTYPE"] == "FLAT"
        assert hdul[0].header["IMAGETAG"] == latiss_store.find_image(LATISS_NAME).tag_hex
        for index in range(16):
            np.testing.assert_array_equal(hdul[index + 1].data, decoded.pixels[0, index])
    assert not result.header_merged
    assert result.retrieval_time > 0 and result.write_time > 0


def test_capture_merges_the_header_service_file(tmp_path: Path, latiss_store: EmulatedDaqStore) -> None:
    header = HeaderServiceFile(
        primary=(Card("OBSID", LATISS_NAME), Card("IMGTYPE", "OBJECT"), Card("OBJECT", "HD 12345")),
    )
    outcome = capture_source(latiss_task(tmp_path, header_text=render_header_file(header)))
    [result] = outcome.detectors
    assert result.status is CaptureStatus.OK and result.header_merged
    with fits.open(result.path) as hdul:
        assert hdul[0].header["HDRSRC"] == "HeaderService"
        assert hdul[0].header["OBJECT"] == "HD 12345"
        assert hdul[0].header["IMGTYPE"] == "OBJECT"


def test_corrupt_header_text_falls_back_to_archiver_metadata(
    tmp_path: Path, latiss_store: EmulatedDaqStore
) -> None:
    [result] = capture_source(latiss_task(tmp_path, header_text="PRIMARY: [")).detectors
    assert result.status is CaptureStatus.OK
    with fits.open(result.path) as hdul:
        assert hdul[0].header["HDRSRC"] == "Archiver"
        assert "unusable" in hdul[0].header["HDRNOTE"]


def test_statistics_follow_the_generated_signal_and_read_noise() -> None:
    detector = LATISS.detectors[0]
    generator = PixelGenerator(
        signal=5000.0, bias_level=20000.0, bias_spread=0.0, read_noise=6.0, cosmic_rays=0
    )
    pixels = generator.detector_pixels(LATISS_NAME, detector)
    stats = detector_stats(detector, pixels)
    assert stats.median_signal == pytest.approx(25000.0, abs=50.0)
    assert stats.noise == pytest.approx(6.0, abs=1.5)


def test_compressed_capture_is_lossless(tmp_path: Path, latiss_store: EmulatedDaqStore) -> None:
    task = latiss_task(tmp_path)
    task = CaptureTask(**{**task.__dict__, "options": options(tmp_path, compress=True)})
    [result] = capture_source(task).detectors
    assert result.status is CaptureStatus.OK
    decoded = latiss_store.decode_source(LATISS_NAME, task.location)
    with fits.open(result.path) as hdul:
        assert isinstance(hdul[1], fits.CompImageHDU)
        np.testing.assert_array_equal(hdul[1].data, decoded.pixels[0, 0])


def test_missing_image_is_reported_per_detector(tmp_path: Path, latiss_store: EmulatedDaqStore) -> None:
    task = latiss_task(tmp_path)
    task = CaptureTask(**{**task.__dict__, "obsid": "AT_O_20261123_000099"})
    [result] = capture_source(task).detectors
    assert result.status is CaptureStatus.IMAGE_NOT_FOUND
    assert "AT_O_20261123_000099" in result.description
    assert not result.status.transient


def test_missing_source_is_reported(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "comcam")
    store.create_image(COMCAM_NAME, locations=["R22/Reb0"])
    task = CaptureTask(
        options=options(tmp_path, "comcam"),
        obsid=COMCAM_NAME,
        location="R22/Reb1",
        detectors=tuple(d.name for d in LSST_COMCAM.reb("R22/Reb1").detectors),
        metadata=ExposureMetadata(obsid=COMCAM_NAME),
    )
    outcome = capture_source(task)
    assert [r.status for r in outcome.detectors] == [CaptureStatus.SOURCE_MISSING] * 3


def test_incomplete_source_is_transient(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    store.create_image(LATISS_NAME)
    [result] = capture_source(latiss_task(tmp_path)).detectors
    assert result.status is CaptureStatus.SOURCE_INCOMPLETE
    assert result.status.transient


def test_missing_store_is_fault_worthy(tmp_path: Path) -> None:
    [result] = capture_source(latiss_task(tmp_path)).detectors
    assert result.status is CaptureStatus.DAQ_UNAVAILABLE
    assert result.status.fault_worthy


def test_unwritable_staging_is_fault_worthy(tmp_path: Path, latiss_store: EmulatedDaqStore) -> None:
    (tmp_path / "staging").write_text("a file where the staging directory should be")
    [result] = capture_source(latiss_task(tmp_path)).detectors
    assert result.status is CaptureStatus.STAGING_NOT_WRITABLE, result.description
    assert result.status.fault_code is ErrorCode.STAGING_NOT_WRITABLE
    assert "staging" in result.description and str(tmp_path / "staging") in result.description


def test_fault_worthy_statuses_name_the_csc_error_code() -> None:
    assert {s: s.fault_code for s in CaptureStatus if s.fault_worthy} == {
        CaptureStatus.DAQ_UNAVAILABLE: ErrorCode.DAQ_STORE_UNAVAILABLE,
        CaptureStatus.STAGING_FULL: ErrorCode.STAGING_FULL,
        CaptureStatus.STAGING_NOT_WRITABLE: ErrorCode.STAGING_NOT_WRITABLE,
    }
    assert CaptureStatus.IMAGE_NOT_FOUND.fault_code is None
    for status in CaptureStatus:
        if status.fault_code is not None:
            assert CaptureStatus.for_fault(status.fault_code) is status
    assert CaptureStatus.for_fault(ErrorCode.LEDGER_UNAVAILABLE) is CaptureStatus.UNEXPECTED


def test_the_detectors_of_a_source_are_written_in_threads_and_reported_in_order(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", LSST_COMCAM.partition)
    location = "R22/Reb1"
    generator = PixelGenerator(signal=1000.0, cosmic_rays=0, saturated_spots=0)
    store.add_image(COMCAM_NAME, generator=generator, locations=[location])
    detectors = tuple(
        d.name for d in LSST_COMCAM.detectors if str(LSST_COMCAM.reb_for(d).location) == location
    )[::-1]  # not the source's order: the outcomes follow the task
    task = CaptureTask(
        options=options(tmp_path, partition=LSST_COMCAM.partition),
        obsid=COMCAM_NAME,
        location=location,
        detectors=detectors,
        metadata=ExposureMetadata(obsid=COMCAM_NAME, imgtype="FLAT", exptime=1.0),
    )
    assert len(detectors) == 3 and detector_threads(3) == min(3, len(os.sched_getaffinity(0)))
    outcome = capture_source(task)
    assert [r.name for r in outcome.detectors] == list(detectors)
    for result in outcome.detectors:
        assert result.status is CaptureStatus.OK, result.description
        # Checksums verified: no thread wrote another's bytes (each has its writer).
        with fits.open(result.path, checksum=True) as hdul:
            assert hdul[0].header["CCDSLOT"] == result.name.split("_")[1]
            assert all(hdu.verify_checksum() == 1 for hdu in hdul)


async def test_local_pool_runs_tasks_in_worker_processes(
    tmp_path: Path, latiss_store: EmulatedDaqStore
) -> None:
    pool = LocalCapturePool(workers=1)
    await pool.start()
    try:
        assert pool.workers_alive == 1
        outcome = await pool.run(latiss_task(tmp_path))
    finally:
        await pool.close()
    assert [r.status for r in outcome.detectors] == [CaptureStatus.OK]
    assert pool.workers_alive == 0
