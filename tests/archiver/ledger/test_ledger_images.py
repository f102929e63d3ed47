"""Images, expected detectors, capture state, progress and latency queries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lsst.ts.archiver.ledger import (
    MANIFEST_ITEM,
    CaptureState,
    DeliveryStage,
    DeliveryStatus,
    Ledger,
    LedgerSchemaError,
    Trigger,
    UnknownImageError,
)

IMAGE = "MC_O_20261123_000042"
EXPECTED = {"R22_S11": 94, "R22_S12": 95, "R00_SG0": 189}


def register(ledger: Ledger, name: str = IMAGE, now: float = 1000.0) -> bool:
    return ledger.register_image(
        name, camera="LSSTCam", day_obs=20261123, expected=EXPECTED, trigger=Trigger.LIVE, now=now
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


def test_archived_is_recorded_once(ledger: Ledger) -> None:
    register(ledger)
    assert [i.name for i in ledger.unfinished_images()] == [IMAGE]
    assert ledger.mark_archived(IMAGE, 0, "all 3 in DBB")
    assert not ledger.mark_archived(IMAGE, 1, "again")
    assert ledger.image(IMAGE).archive_description == "all 3 in DBB"
    assert ledger.unfinished_images() == []


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


def test_ledger_survives_reopen(ledger_url: str) -> None:
    with Ledger(ledger_url) as first:
        register(first)
        first.enqueue(IMAGE, "R22_S11", ["dbb"], "/a")
    with Ledger(ledger_url) as second:
        assert [d.item for d in second.unfinished_deliveries("dbb")] == ["R22_S11"]


def test_schema_version_mismatch_is_a_clear_error(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        register(ledger)
    engine = sa.create_engine(Ledger(ledger_url).url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE ledger_schema SET version = 99"))
    engine.dispose()
    with pytest.raises(LedgerSchemaError, match="schema version 99.*needs 1"):
        Ledger(ledger_url)


def test_opening_without_create_refuses_an_empty_database(ledger_url: str) -> None:
    with pytest.raises(LedgerSchemaError, match="no ts_archiver ledger"):
        Ledger(ledger_url, create=False)


async def test_ledger_runner_runs_calls_in_its_own_bounded_pool(ledger: Ledger) -> None:
    import threading

    from lsst.ts.archiver.ledger import LedgerRunner

    seen: list[str] = []
    original = ledger.has_image

    def spy(name: str) -> bool:
        seen.append(threading.current_thread().name)
        return original(name)

    ledger.has_image = spy  # type: ignore[method-assign]
    runner = LedgerRunner(ledger, max_workers=2)
    assert await runner.run(
        ledger.register_image, IMAGE, camera="LSSTCam", day_obs=20261123, expected=EXPECTED
    )
    assert await runner.run(ledger.has_image, IMAGE)
    assert seen and seen[0].startswith("ledger") and seen[0] != threading.main_thread().name
    runner.close()
    with pytest.raises(RuntimeError, match="closed"):
        await runner.run(ledger.has_image, IMAGE)


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
