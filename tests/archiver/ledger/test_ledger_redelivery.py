"""Rewritten files in the ledger: new size and checksum, queued again at every destination
(claims dropped, previous outcome kept), the late-header state of an image, reopening."""

from __future__ import annotations

import pytest
from ledger_test_support import IMAGE, register

from lsst.ts.archiver.ledger import (
    CaptureState,
    DeliveryStage,
    DeliveryStatus,
    Ledger,
    UnknownImageError,
)

REASON = "late Header Service header applied"


def delivered(ledger: Ledger) -> None:
    """IMAGE: R22_S11 and R22_S12 written and done at oods and dbb; R00_SG0 still pending."""
    register(ledger)
    for name in ("R22_S11", "R22_S12"):
        ledger.record_capture(
            IMAGE, name, path=f"/staging/{name}.fits", size=10, destinations=["oods", "dbb"], now=1.0
        )
    for destination in ("oods", "dbb"):
        for item in ledger.claim(destination, DeliveryStage.TRANSFER, "w", limit=10, now=2.0):
            ledger.mark_transferred(
                item.id, "w", remote_uri=f"/{destination}/x", size=10, checksum=None, ingest=True, now=2.0
            )
        ids = [item.id for item in ledger.claim(destination, DeliveryStage.INGEST, "w", limit=10, now=3.0)]
        ledger.mark_ingested_many(ids, "w", now=4.0)
    assert all(d.stage is DeliveryStage.DONE for d in ledger.deliveries(image=IMAGE))


def test_requeued_items_go_back_to_transfer_at_every_destination_keeping_their_last_outcome(
    ledger: Ledger,
) -> None:
    delivered(ledger)
    requeued = ledger.requeue_items(IMAGE, ["R22_S11"], ["oods", "dbb"], REASON, now=10.0)
    assert requeued == {"oods": ("R22_S11",), "dbb": ("R22_S11",)}
    again = [d for d in ledger.deliveries(image=IMAGE) if d.item == "R22_S11"]
    assert len(again) == 2
    for record in again:
        assert (record.stage, record.attempts, record.redelivery) == (DeliveryStage.TRANSFER, 0, REASON)
        assert (record.next_attempt_at, record.enqueued_at, record.done_at, record.ingested_at) == (
            10.0,
            10.0,
            None,
            None,
        )
        assert record.status_code == int(DeliveryStatus.OK), "the previous outcome is kept until the new one"
    untouched = [d for d in ledger.deliveries(image=IMAGE) if d.item == "R22_S12"]
    assert all(d.stage is DeliveryStage.DONE and d.redelivery is None for d in untouched)
    assert ledger.queue_depths() == {"oods": 1, "dbb": 1}


def test_a_destination_that_never_had_the_file_gets_it(ledger: Ledger) -> None:
    delivered(ledger)
    ledger.requeue_items(IMAGE, ["R22_S12"], ["oods", "prompt"], REASON, now=10.0)
    [new] = ledger.deliveries(image=IMAGE, destination="prompt")
    assert (new.item, new.source, new.stage, new.status_code, new.redelivery) == (
        "R22_S12",
        "/staging/R22_S12.fits",
        DeliveryStage.TRANSFER,
        None,
        REASON,
    )


def test_a_worker_busy_with_the_old_file_loses_its_claim(ledger: Ledger) -> None:
    register(ledger)
    ledger.record_capture(IMAGE, "R22_S11", path="/staging/a.fits", destinations=["dbb"], now=1.0)
    [busy] = ledger.claim("dbb", DeliveryStage.TRANSFER, "old-worker", now=2.0)
    ledger.requeue_items(IMAGE, ["R22_S11"], ["dbb"], REASON, now=3.0)
    assert not ledger.mark_transferred(
        busy.id, "old-worker", remote_uri="x", size=1, checksum=None, ingest=True
    )
    [fresh] = ledger.claim("dbb", DeliveryStage.TRANSFER, "new-worker", now=3.0)
    assert (fresh.id, fresh.attempts, fresh.redelivery) == (busy.id, 1, REASON)


def test_requeue_refuses_an_unknown_image_or_a_file_not_written_and_changes_nothing(ledger: Ledger) -> None:
    delivered(ledger)
    with pytest.raises(UnknownImageError, match="MC_O_20261123_000999 is not in the ledger"):
        ledger.requeue_items("MC_O_20261123_000999", ["R22_S11"], ["dbb"], REASON)
    with pytest.raises(UnknownImageError, match="no written file of R00_SG0"):
        ledger.requeue_items(IMAGE, ["R22_S11", "R00_SG0"], ["dbb"], REASON)
    assert all(d.stage is DeliveryStage.DONE and d.redelivery is None for d in ledger.deliveries(image=IMAGE))


def test_a_rewrite_records_the_new_size_and_checksum_and_keeps_when_the_file_was_written(
    ledger: Ledger,
) -> None:
    delivered(ledger)
    ledger.record_rewrite(IMAGE, "R22_S11", path="/staging/R22_S11.fits", size=12, checksum="md5:ab", now=9.0)
    [rewritten] = [d for d in ledger.detectors(IMAGE) if d.name == "R22_S11"]
    assert (rewritten.state, rewritten.size, rewritten.checksum) == (CaptureState.WRITTEN, 12, "md5:ab")
    assert (rewritten.written_at, rewritten.updated_at, rewritten.attempts) == (1.0, 9.0, 1)
    with pytest.raises(UnknownImageError, match="R00_SG0 .* no written file"):
        ledger.record_rewrite(IMAGE, "R00_SG0", path="/staging/R00_SG0.fits")


def test_a_late_header_being_applied_is_listed_until_its_outcome_is_recorded(ledger: Ledger) -> None:
    delivered(ledger)
    ledger.set_header_source(IMAGE, "Archiver")
    ledger.set_header_pending(
        IMAGE, "file:///headers/h.yaml", note="late header arrived 40 s after; being applied"
    )
    [pending] = ledger.images_with_header_pending()
    assert (pending.name, pending.header_pending, pending.header_source) == (
        IMAGE,
        "file:///headers/h.yaml",
        "Archiver",
    )
    ledger.set_header_source(IMAGE, "HeaderService", note="late header applied")
    image = ledger.image(IMAGE)
    assert (image.header_source, image.header_pending, image.header_note) == (
        "HeaderService",
        None,
        "late header applied",
    )
    assert ledger.images_with_header_pending() == []
    ledger.set_header_source(IMAGE, "HeaderService")  # without a note: the note stays
    assert ledger.image(IMAGE).header_note == "late header applied"
    with pytest.raises(UnknownImageError):
        ledger.set_header_pending("MC_O_20261123_000999", "file:///h.yaml", note="")


def test_images_by_header_source_are_those_captured_since_the_given_time(ledger: Ledger) -> None:
    register(ledger, now=0.0)
    for name in ("R22_S11", "R22_S12", "R00_SG0"):
        ledger.record_capture(IMAGE, name, path=f"/staging/{name}.fits", now=5.0)
    ledger.set_header_source(IMAGE, "Archiver")
    assert [i.name for i in ledger.images_by_header_source("Archiver", captured_since=5.0)] == [IMAGE]
    assert ledger.images_by_header_source("Archiver", captured_since=6.0) == []
    assert ledger.images_by_header_source("HeaderService", captured_since=0.0) == []


def test_reopening_clears_the_archived_state_once(ledger: Ledger) -> None:
    delivered(ledger)
    assert not ledger.reopen_image(IMAGE), "not archived yet"
    assert ledger.mark_archived(IMAGE, 0, "All 3 files archived", now=5.0)
    assert ledger.reopen_image(IMAGE)
    image = ledger.image(IMAGE)
    assert (image.archived_at, image.archive_status, image.archive_description) == (None, None, None)
    assert ledger.mark_archived(IMAGE, 0, "All 3 files archived", now=6.0), "decided again"
    with pytest.raises(UnknownImageError):
        ledger.reopen_image("MC_O_20261123_000999")
