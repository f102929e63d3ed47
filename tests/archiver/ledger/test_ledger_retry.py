"""Operator retry in the ledger: failed captures and deliveries back to work, the image reopened,
and the failure figures behind ``archiverHealth.failedItems`` and ``catchUp``."""

from __future__ import annotations

import pytest
from ledger_test_support import EXPECTED, IMAGE, register

from lsst.ts.archiver.ledger import (
    MANIFEST_ITEM,
    CaptureState,
    DeliveryStage,
    DeliveryStatus,
    Ledger,
    UnknownImageError,
)

OTHER = "MC_O_20261123_000043"


def fail_delivery(
    ledger: Ledger, destination: str, item: str, *, image: str = IMAGE, transferred: bool = False
) -> None:
    """Make one queued item finally fail at a destination (at ingest if ``transferred``)."""
    claimed = ledger.claim(destination, DeliveryStage.TRANSFER, "w", limit=100, now=2.0)
    [record] = [r for r in claimed if (r.image, r.item) == (image, item)]
    for other in claimed:
        if other.id != record.id:
            ledger.mark_retry(other.id, "w", "not this one", delay=0.0, now=2.0)
    if transferred:
        ledger.mark_transferred(record.id, "w", remote_uri="x", size=1, checksum=None, ingest=True, now=2.0)
        (record,) = ledger.claim(destination, DeliveryStage.INGEST, "w", now=2.0)
        ledger.mark_failed(record.id, "w", DeliveryStatus.INGEST_FAILURE, "registry locked", now=3.0)
    else:
        ledger.mark_failed(record.id, "w", DeliveryStatus.TRANSFER_FAILURE, "disk full", now=3.0)


def written_and_one_failed(ledger: Ledger) -> None:
    """IMAGE: R22_S11 and R22_S12 written and queued for oods and dbb, R00_SG0's capture failed."""
    register(ledger)
    for name in ("R22_S11", "R22_S12"):
        ledger.record_capture(
            IMAGE, name, path=f"/staging/{name}.fits", destinations=["oods", "dbb"], now=1.0
        )
    ledger.record_capture_failure(IMAGE, "R00_SG0", "IMAGE_NOT_FOUND (1): not in the DAQ", status=1, now=1.0)
    ledger.set_manifest(IMAGE, "/staging/manifest.json", destinations=["dbb"], now=1.0)


def test_retry_image_puts_failed_captures_back_to_pending_and_reopens_the_image(ledger: Ledger) -> None:
    written_and_one_failed(ledger)
    assert ledger.image(IMAGE).captured_at == 1.0
    assert ledger.mark_archived(IMAGE, 1, "2 of 3 files archived", now=4.0)
    retried = ledger.retry_image(IMAGE, archive_destinations=["dbb"], now=5.0)
    assert (retried.captures, retried.deliveries, retried.reopened) == (("R00_SG0",), {}, True)
    [detector] = [d for d in ledger.detectors(IMAGE) if d.name == "R00_SG0"]
    assert (detector.state, detector.error, detector.status, detector.attempts) == (
        CaptureState.PENDING,
        None,
        None,
        1,
    )
    image = ledger.image(IMAGE)
    assert (image.captured_at, image.archived_at, image.archive_status, image.archive_description) == (
        None,
        None,
        None,
        None,
    )
    assert [i.name for i in ledger.unfinished_images()] == [IMAGE]
    assert ledger.progress(IMAGE, ["dbb"]).not_captured == ("R00_SG0",)
    # Captured this time: the image is captured again, and its archiving is recorded once more.
    ledger.record_capture(IMAGE, "R00_SG0", path="/staging/R00_SG0.fits", destinations=["dbb"], now=6.0)
    assert ledger.image(IMAGE).captured_at == 6.0
    assert ledger.mark_archived(IMAGE, 0, "All 3 files archived", now=7.0)
    assert not ledger.mark_archived(IMAGE, 0, "All 3 files archived", now=8.0)


def test_retry_image_requeues_failed_deliveries_at_the_stage_that_failed(ledger: Ledger) -> None:
    written_and_one_failed(ledger)
    fail_delivery(ledger, "dbb", "R22_S11")
    fail_delivery(ledger, "dbb", "R22_S12", transferred=True)
    retried = ledger.retry_image(IMAGE, captures=False, destinations=["dbb"], now=5.0)
    assert retried.captures == () and retried.deliveries == {"dbb": ("R22_S11", "R22_S12")}
    assert retried.delivery_count == 2 and not retried.empty
    stages = {(d.item, d.destination): (d.stage, d.attempts, d.status_code) for d in ledger.deliveries()}
    assert stages[("R22_S11", "dbb")] == (DeliveryStage.TRANSFER, 0, None)
    assert stages[("R22_S12", "dbb")] == (DeliveryStage.INGEST, 0, None)
    # The failed capture was not asked for: it stays failed.
    assert [d.state for d in ledger.detectors(IMAGE) if d.name == "R00_SG0"] == [CaptureState.FAILED]
    due = ledger.claim("dbb", DeliveryStage.TRANSFER, "w2", limit=10, now=5.0)
    assert sorted(d.item for d in due) == ["R22_S11", MANIFEST_ITEM]  # the manifest never failed
    assert [d.item for d in ledger.claim("dbb", DeliveryStage.INGEST, "w2", limit=10, now=5.0)] == ["R22_S12"]


def test_retry_image_at_one_destination_leaves_the_others_failed(ledger: Ledger) -> None:
    written_and_one_failed(ledger)
    fail_delivery(ledger, "dbb", "R22_S11")
    fail_delivery(ledger, "oods", "R22_S11")
    retried = ledger.retry_image(IMAGE, captures=False, destinations=["oods"], archive_destinations=["dbb"])
    assert retried.deliveries == {"oods": ("R22_S11",)}
    assert ledger.failed_counts() == {"dbb": 1}


def test_retry_at_a_destination_that_does_not_decide_image_archived_keeps_the_image_archived(
    ledger: Ledger,
) -> None:
    written_and_one_failed(ledger)
    fail_delivery(ledger, "oods", "R22_S12")
    assert ledger.mark_archived(IMAGE, 1, "2 of 3 files archived", now=4.0)
    retried = ledger.retry_image(IMAGE, captures=False, destinations=None, archive_destinations=["dbb"])
    assert retried.deliveries == {"oods": ("R22_S12",)} and not retried.reopened
    assert ledger.image(IMAGE).archived_at == 4.0


def test_retry_image_with_nothing_failed_changes_nothing(ledger: Ledger) -> None:
    register(ledger)
    for name in EXPECTED:
        ledger.record_capture(IMAGE, name, path=f"/staging/{name}.fits", destinations=["dbb"], now=1.0)
    assert ledger.mark_archived(IMAGE, 0, "All 3 files archived", now=4.0)
    retried = ledger.retry_image(IMAGE, archive_destinations=["dbb"], now=5.0)
    assert retried.empty and not retried.reopened
    assert str(retried) == f"{IMAGE}: nothing to retry"
    assert ledger.image(IMAGE).archive_status == 0
    # An empty destination list retries no delivery at all.
    written = "MC_O_20261123_000044"
    register(ledger, written)
    assert ledger.retry_image(written, captures=False, destinations=[]).empty


def test_retry_image_of_an_image_the_ledger_does_not_know_raises(ledger: Ledger) -> None:
    with pytest.raises(UnknownImageError, match=f"Image {IMAGE} is not in the ledger"):
        ledger.retry_image(IMAGE)


def test_retried_parts_describe_themselves(ledger: Ledger) -> None:
    written_and_one_failed(ledger)
    fail_delivery(ledger, "dbb", "R22_S11")
    retried = ledger.retry_image(IMAGE)
    assert str(retried) == f"{IMAGE}: capture of 1 detector(s) (R00_SG0); 1 item(s) at dbb (R22_S11)"


def test_retry_failed_of_an_image_with_nothing_failed_keeps_it_archived(ledger: Ledger) -> None:
    register(ledger)
    assert ledger.mark_archived(IMAGE, 0, "All 3 files archived", now=4.0)
    assert ledger.retry_failed(image=IMAGE) == 0
    assert ledger.image(IMAGE).archived_at == 4.0


def test_failed_counts_count_items_per_destination_until_retried(ledger: Ledger) -> None:
    assert ledger.failed_counts() == {}
    written_and_one_failed(ledger)
    fail_delivery(ledger, "dbb", "R22_S11")
    fail_delivery(ledger, "dbb", MANIFEST_ITEM)
    fail_delivery(ledger, "oods", "R22_S12", transferred=True)
    assert ledger.failed_counts() == {"dbb": 2, "oods": 1}
    ledger.retry_image(IMAGE, captures=False, destinations=["dbb"])
    assert ledger.failed_counts() == {"oods": 1}


def test_images_with_failures_finds_failed_captures_and_deliveries(ledger: Ledger) -> None:
    written_and_one_failed(ledger)  # IMAGE: a failed capture
    register(ledger, OTHER)
    ledger.record_capture(OTHER, "R22_S11", path="/staging/o.fits", destinations=["oods"], now=1.0)
    fail_delivery(ledger, "oods", "R22_S11", image=OTHER)
    names = [IMAGE, OTHER, "MC_O_20261123_000099"]
    assert ledger.images_with_failures(names) == {IMAGE, OTHER}
    assert ledger.images_with_failures(names, destinations=["dbb"]) == {IMAGE}
    assert ledger.images_with_failures([]) == set()
    ledger.retry_image(IMAGE)
    assert ledger.images_with_failures(names) == {OTHER}
