"""Images, expected detectors and each detector's capture (`ImageManager`)."""

from __future__ import annotations

import math

import pytest
from ledger_test_support import IMAGE, register

from lsst.ts.archiver.ledger import (
    CaptureMeasurements,
    CaptureState,
    DetectorRecord,
    Ledger,
    Trigger,
    UnknownImageError,
)


def test_register_image_is_idempotent_and_keeps_fields(ledger: Ledger) -> None:
    assert register(ledger)
    assert not register(ledger, now=2000.0)
    image = ledger.image(IMAGE)
    assert (image.camera, image.day_obs, image.trigger, image.registered_at) == (
        "LSSTCam",
        20261123,
        Trigger.LIVE,
        1000.0,
    )
    assert [d.name for d in ledger.detectors(IMAGE)] == ["R22_S11", "R22_S12", "R00_SG0"]
    assert all(d.state is CaptureState.PENDING for d in ledger.detectors(IMAGE))


def test_unknown_image_raises_with_its_name(ledger: Ledger) -> None:
    with pytest.raises(UnknownImageError, match=IMAGE):
        ledger.image(IMAGE)
    with pytest.raises(UnknownImageError, match=IMAGE):
        ledger.enqueue(IMAGE, "R22_S11", ["dbb"], "/x")
    with pytest.raises(UnknownImageError, match="R99_S99"):
        register(ledger)
        ledger.record_capture(IMAGE, "R99_S99", path="/x")


def test_captured_at_is_set_when_every_detector_is_written_or_failed(ledger: Ledger) -> None:
    register(ledger)
    ledger.record_capture(IMAGE, "R22_S11", path="/a", size=10, now=1001.0)
    ledger.record_capture_failure(IMAGE, "R00_SG0", "DAQ source missing", now=1002.0)
    assert ledger.image(IMAGE).captured_at is None
    ledger.record_capture(IMAGE, "R22_S12", path="/b", size=11, now=1003.0)
    assert ledger.image(IMAGE).captured_at == 1003.0
    states = {d.name: (d.state, d.error) for d in ledger.detectors(IMAGE)}
    assert states["R00_SG0"] == (CaptureState.FAILED, "DAQ source missing")
    assert states["R22_S11"][0] is CaptureState.WRITTEN


def test_archived_is_recorded_once(ledger: Ledger) -> None:
    register(ledger)
    assert [i.name for i in ledger.unfinished_images()] == [IMAGE]
    assert ledger.mark_archived(IMAGE, 0, "all 3 in DBB")
    assert not ledger.mark_archived(IMAGE, 1, "again")
    assert ledger.image(IMAGE).archive_description == "all 3 in DBB"
    assert ledger.unfinished_images() == []


def test_header_source_is_recorded_and_an_unknown_image_is_refused(ledger: Ledger) -> None:
    register(ledger)
    assert ledger.has_image(IMAGE)
    assert not ledger.has_image("MC_O_20261123_000999")
    ledger.set_header_source(IMAGE, "HeaderService")
    assert ledger.image(IMAGE).header_source == "HeaderService"
    with pytest.raises(UnknownImageError, match="MC_O_20261123_000999"):
        ledger.set_header_source("MC_O_20261123_000999", "Archiver")


def test_capture_measurements_and_status_0_are_recorded_with_the_written_file(ledger: Ledger) -> None:
    register(ledger)
    measured = CaptureMeasurements(retrieval_time=1.25, write_time=0.5, median_signal=1234.5, noise=4.75)
    ledger.record_capture(IMAGE, "R22_S11", path="/a", size=10, measurements=measured)
    ledger.record_capture(IMAGE, "R22_S12", path="/b", size=11)
    detectors = {d.name: d for d in ledger.detectors(IMAGE)}
    assert (detectors["R22_S11"].measurements, detectors["R22_S11"].status) == (measured, 0)
    assert (detectors["R22_S12"].measurements, detectors["R22_S12"].status) == (None, 0)
    assert (detectors["R00_SG0"].measurements, detectors["R00_SG0"].status) == (None, None)


def test_a_statistic_capture_could_not_compute_reads_back_as_nan_on_every_back_end(ledger: Ledger) -> None:
    register(ledger)
    measured = CaptureMeasurements(retrieval_time=1.0, write_time=0.5, median_signal=math.nan, noise=math.nan)
    ledger.record_capture(IMAGE, "R22_S11", path="/a", measurements=measured)
    (recorded,) = [d.measurements for d in ledger.detectors(IMAGE) if d.name == "R22_S11"]
    assert recorded is not None
    assert (recorded.retrieval_time, recorded.write_time) == (1.0, 0.5)
    assert math.isnan(recorded.median_signal) and math.isnan(recorded.noise)


def test_capture_failure_records_its_status_code_and_drops_earlier_measurements(ledger: Ledger) -> None:
    register(ledger)
    ledger.record_capture_failure(IMAGE, "R00_SG0", "image not in the DAQ store", status=1)
    ledger.record_capture_failure(IMAGE, "R22_S12", "worker lost")
    measured = CaptureMeasurements(retrieval_time=1.0, write_time=0.5, median_signal=10.0, noise=2.0)
    ledger.record_capture(IMAGE, "R22_S11", path="/a", measurements=measured)
    ledger.record_capture_failure(IMAGE, "R22_S11", "FITS file could not be written", status=7)
    detectors = {d.name: d for d in ledger.detectors(IMAGE)}
    assert (detectors["R00_SG0"].state, detectors["R00_SG0"].status) == (CaptureState.FAILED, 1)
    assert detectors["R00_SG0"].error == "image not in the DAQ store"
    assert detectors["R22_S12"].status is None
    assert (detectors["R22_S11"].status, detectors["R22_S11"].measurements) == (7, None)


def test_detector_record_built_without_the_new_fields_has_none_for_them() -> None:
    record = DetectorRecord(
        image=IMAGE,
        name="R22_S11",
        number=94,
        state=CaptureState.PENDING,
        attempts=0,
        path=None,
        size=None,
        checksum=None,
        error=None,
        written_at=None,
        updated_at=0.0,
    )
    assert (record.measurements, record.status, record.raft, record.sensor) == (None, None, "R22", "S11")
