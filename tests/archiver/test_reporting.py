"""`focal_plane_capture`: focalPlaneCapture's arrays from what the ledger records."""

from __future__ import annotations

import math

from lsst.ts.archiver.capture import CaptureStatus
from lsst.ts.archiver.ledger import (
    CaptureMeasurements,
    CaptureState,
    DeliveryRecord,
    DeliveryStage,
    DetectorRecord,
)
from lsst.ts.archiver.reporting import FOCAL_PLANE_FIELDS, focal_plane_capture

IMAGE = "CC_O_20261123_000001"


def detector(
    name: str,
    number: int,
    state: CaptureState,
    *,
    size: int | None = None,
    measurements: CaptureMeasurements | None = None,
    status: int | None = None,
) -> DetectorRecord:
    return DetectorRecord(
        image=IMAGE,
        name=name,
        number=number,
        state=state,
        attempts=1,
        path=None,
        size=size,
        checksum=None,
        error=None,
        written_at=None,
        updated_at=0.0,
        measurements=measurements,
        status=status,
    )


def delivery(
    item: str, destination: str, *, enqueued: float, transferred: float, ingested: float
) -> DeliveryRecord:
    return DeliveryRecord(
        id=1,
        image=IMAGE,
        item=item,
        destination=destination,
        source="/staging/x.fits",
        stage=DeliveryStage.DONE,
        attempts=1,
        status_code=0,
        last_error=None,
        next_attempt_at=0.0,
        claimed_by=None,
        lease_until=None,
        enqueued_at=enqueued,
        transfer_started_at=enqueued,
        transferred_at=transferred,
        ingested_at=ingested,
        done_at=ingested,
        failed_at=None,
        remote_uri=None,
        remote_size=None,
        remote_checksum=None,
    )


def test_arrays_come_from_the_ledger_records_slot_by_detector_number() -> None:
    detectors = [
        detector(
            "R22_S00",
            3,
            CaptureState.WRITTEN,
            size=1000,
            measurements=CaptureMeasurements(1.5, 0.5, 1200.0, math.nan),
        ),
        detector("R22_S01", 4, CaptureState.FAILED, status=int(CaptureStatus.IMAGE_NOT_FOUND)),
        detector("R22_S02", 5, CaptureState.PENDING),
    ]
    deliveries = [
        delivery("R22_S00", "oods", enqueued=10.0, transferred=12.0, ingested=15.0),
        delivery("R22_S00", "dbb", enqueued=10.0, transferred=30.0, ingested=40.0),
    ]
    arrays = focal_plane_capture(detectors, deliveries, {"oods"}, slots=9)
    assert set(arrays) == set(FOCAL_PLANE_FIELDS)
    assert all(len(values) == 9 for values in arrays.values())
    assert arrays["detector"][3:6] == [3, 4, 5]
    assert arrays["status"][3:6] == [0, int(CaptureStatus.IMAGE_NOT_FOUND), int(CaptureStatus.UNEXPECTED)]
    assert arrays["bytesWritten"][3] == 1000
    assert (arrays["retrievalTime"][3], arrays["writeTime"][3]) == (1.5, 0.5)
    assert (arrays["medianSignal"][3], arrays["noise"][3]) == (1200.0, 0.0)  # NaN is sent as 0
    # Times of the OODS destination only.
    assert (arrays["deliveryTime"][3], arrays["ingestTime"][3]) == (2.0, 3.0)
    assert arrays["detector"][0] == 0 and arrays["status"][0] == 0  # unused slot


def test_detectors_beyond_the_topics_slots_are_left_out() -> None:
    arrays = focal_plane_capture([detector("R22_S11", 94, CaptureState.WRITTEN, size=5)], [], set(), slots=9)
    assert arrays["bytesWritten"] == [0] * 9
