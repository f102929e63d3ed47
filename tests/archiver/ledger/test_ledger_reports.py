"""Read-only summaries (`ReportManager`): progress, settled check, backlog, stage latencies."""

from __future__ import annotations

from ledger_test_support import IMAGE, register

from lsst.ts.archiver.ledger import MANIFEST_ITEM, DeliveryStage, DeliveryStatus, Ledger


def test_progress_lists_what_is_missing_per_destination(ledger: Ledger) -> None:
    register(ledger)
    ledger.record_capture(IMAGE, "R22_S11", path="/a")
    ledger.record_capture(IMAGE, "R22_S12", path="/b")
    ledger.enqueue(IMAGE, "R22_S11", ["oods", "dbb"], "/a")
    ledger.enqueue(IMAGE, "R22_S12", ["oods", "dbb"], "/b")
    (s11_oods,) = [
        d for d in ledger.claim("oods", DeliveryStage.TRANSFER, "w", limit=1) if d.item == "R22_S11"
    ]
    ledger.mark_transferred(s11_oods.id, "w", remote_uri="file:///o/a", size=1, checksum=None, ingest=False)
    (first_dbb,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", limit=1)
    ledger.mark_failed(first_dbb.id, "w", DeliveryStatus.TRANSFER_FAILURE, "disk full")
    progress = ledger.progress(IMAGE)
    assert progress.not_captured == ("R00_SG0",)
    assert progress.pending == {"dbb": ("R22_S12",), "oods": ("R22_S12",)}
    assert progress.failed == {"dbb": {"R22_S11": "disk full"}, "oods": {}}
    assert not progress.complete
    ledger.record_capture_failure(IMAGE, "R00_SG0", "no pixels")
    assert ledger.progress(IMAGE).capture_failed == {"R00_SG0": "no pixels"}


def test_stage_latencies_from_recorded_timestamps(ledger: Ledger) -> None:
    register(ledger, now=100.0)
    ledger.record_capture(IMAGE, "R22_S11", path="/a", now=103.0)
    ledger.enqueue(IMAGE, "R22_S11", ["dbb"], "/a", now=103.0)
    ledger.enqueue(IMAGE, MANIFEST_ITEM, ["dbb"], "/m", now=103.0)
    claimed = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", limit=5, now=104.0)
    item = next(d for d in claimed if d.item == "R22_S11")
    ledger.mark_transferred(item.id, "w", remote_uri="x", size=1, checksum=None, ingest=True, now=106.0)
    (ingest,) = ledger.claim("dbb", DeliveryStage.INGEST, "w", now=106.5)
    ledger.mark_ingested(ingest.id, "w", now=107.0)
    latencies = ledger.stage_latencies()
    assert latencies["capture"].values == (3.0,)
    assert latencies["queue"].values == (1.0,)
    assert latencies["transfer"].values == (2.0,)
    assert latencies["ingest"].values == (1.0,)
    assert latencies["delivery"].values == (4.0,)
    assert latencies["end_to_end"].median == 7.0
    assert ledger.stage_latencies(since=200.0)["delivery"].count == 0


def test_pending_summary_counts_the_backlog(ledger: Ledger) -> None:
    register(ledger, now=100.0)
    ledger.register_image(
        "MC_O_20261123_000043", camera="LSSTCam", day_obs=20261123, expected={"R22_S11": 94}, now=150.0
    )
    ledger.record_capture(IMAGE, "R22_S11", path="/a", destinations=["dbb", "oods"])
    ledger.record_capture(IMAGE, "R22_S12", path="/b", destinations=["dbb"])
    (item,) = [
        d for d in ledger.claim("dbb", DeliveryStage.TRANSFER, "w", limit=5) if d.item == "R22_S12"
    ] or [None]
    summary = ledger.pending_summary(now=160.0)
    assert summary.images_pending == 2
    # IMAGE: R00_SG0 not captured, R22_S11 and R22_S12 not delivered; the other image: R22_S11.
    assert summary.detectors_pending == 4
    assert summary.oldest_pending_age == 60.0
    assert summary.queue_depths == {"dbb": 2, "oods": 1}
    assert item is not None
    ledger.mark_transferred(item.id, "w", remote_uri="x", size=1, checksum=None, ingest=False)
    assert ledger.pending_summary(now=160.0).queue_depths == {"dbb": 1, "oods": 1}


def test_is_settled_waits_for_capture_and_delivery_but_not_for_the_manifest(ledger: Ledger) -> None:
    register(ledger)
    ledger.record_capture(IMAGE, "R22_S11", path="/a", destinations=["dbb"])
    assert not ledger.is_settled(IMAGE, ["dbb"])  # two detectors still to capture
    ledger.record_capture(IMAGE, "R22_S12", path="/b", destinations=["dbb"])
    ledger.record_capture_failure(IMAGE, "R00_SG0", "no pixels", status=1)
    ledger.set_manifest(IMAGE, "/m.json", destinations=["dbb"])
    assert not ledger.is_settled(IMAGE, ["dbb"])  # files still to transfer
    assert ledger.is_settled(IMAGE, ["oods"])  # nothing queued there
    for item in ledger.claim("dbb", DeliveryStage.TRANSFER, "w", limit=5):
        if item.item != MANIFEST_ITEM:
            ledger.mark_transferred(item.id, "w", remote_uri="x", size=1, checksum=None, ingest=False)
    assert [d.item for d in ledger.unfinished_deliveries("dbb")] == [MANIFEST_ITEM]
    assert ledger.is_settled(IMAGE, ["dbb"])
