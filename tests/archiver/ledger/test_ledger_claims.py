"""Delivery queue (`QueueManager`): idempotent enqueue, guarded claims, leases, retries."""

from __future__ import annotations

import threading
from collections import Counter

from lsst.ts.archiver.ledger import DeliveryStage, DeliveryStatus, Ledger, Trigger

IMAGE = "MC_O_20261123_000007"


def fill(ledger: Ledger, n: int, destinations: tuple[str, ...] = ("dbb",)) -> None:
    expected = {f"R{i // 9:02d}_S{i % 9:02d}": i for i in range(n)}
    ledger.register_image(
        IMAGE, camera="LSSTCam", day_obs=20261123, expected=expected, trigger=Trigger.CATCH_UP, now=0.0
    )
    for name in expected:
        ledger.enqueue(IMAGE, name, destinations, f"/staging/{name}.fits", now=0.0)


def test_enqueue_twice_adds_nothing(ledger: Ledger) -> None:
    fill(ledger, 3, ("oods", "dbb"))
    assert ledger.enqueue(IMAGE, "R00_S00", ["oods", "dbb"], "/other", now=5.0) == 0
    assert ledger.queue_depths() == {"oods": 3, "dbb": 3}


def test_a_claimed_item_cannot_be_claimed_again_until_its_lease_expires(ledger: Ledger) -> None:
    fill(ledger, 1)
    (first,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "w1", lease=10.0, now=1.0)
    assert first.attempts == 1 and first.claimed_by == "w1"
    assert ledger.claim("dbb", DeliveryStage.TRANSFER, "w2", now=5.0) == []
    (again,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "w2", now=12.0)
    assert again.id == first.id and again.attempts == 2 and again.claimed_by == "w2"
    # The first worker lost its claim: its late result is refused.
    assert not ledger.mark_transferred(first.id, "w1", remote_uri="x", size=1, checksum=None, ingest=False)
    assert ledger.mark_transferred(again.id, "w2", remote_uri="x", size=1, checksum=None, ingest=False)
    assert ledger.deliveries()[0].stage is DeliveryStage.DONE


def test_a_renewed_claim_is_not_taken_over_and_a_lost_one_is_not_renewed(ledger: Ledger) -> None:
    fill(ledger, 2)
    a, b = ledger.claim("dbb", DeliveryStage.TRANSFER, "w1", limit=2, lease=10.0, now=1.0)
    assert ledger.renew_claims([a.id], "w1", 10.0, now=9.0) == {a.id}
    # b's lease expired and another worker took it; a's was renewed until 19.
    (taken,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "w2", limit=2, now=12.0)
    assert taken.id == b.id
    assert ledger.renew_claims([a.id, b.id], "w1", 10.0, now=13.0) == {a.id}
    assert ledger.renew_claims([], "w1", 10.0) == set()
    assert not ledger.mark_transferred(b.id, "w1", remote_uri="x", size=1, checksum=None, ingest=False)
    assert ledger.mark_transferred(a.id, "w1", remote_uri="x", size=1, checksum=None, ingest=False)
    # A settled item is no longer held: nothing to renew.
    assert ledger.renew_claims([a.id], "w1", 10.0, now=14.0) == set()


def test_retry_waits_for_the_delay_and_keeps_the_error(ledger: Ledger) -> None:
    fill(ledger, 1)
    (item,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", now=1.0)
    assert ledger.mark_retry(item.id, "w", "connection refused", delay=4.0, now=2.0)
    assert ledger.claim("dbb", DeliveryStage.TRANSFER, "w", now=5.9) == []
    (again,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", now=6.0)
    assert again.last_error == "connection refused" and again.attempts == 2


def test_transfer_then_ingest_stage(ledger: Ledger) -> None:
    fill(ledger, 1)
    (item,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", now=1.0)
    ledger.mark_transferred(
        item.id, "w", remote_uri="s3://b/k", size=7, checksum="md5:ab", ingest=True, now=2.0
    )
    assert ledger.claim("dbb", DeliveryStage.TRANSFER, "w", now=3.0) == []
    (ingest,) = ledger.claim("dbb", DeliveryStage.INGEST, "w", now=3.0)
    assert (ingest.remote_uri, ingest.remote_size, ingest.remote_checksum) == ("s3://b/k", 7, "md5:ab")
    assert ledger.mark_ingested(ingest.id, "w", now=4.0)
    done = ledger.deliveries()[0]
    assert (done.stage, done.status_code, done.ingested_at) == (DeliveryStage.DONE, 0, 4.0)


def test_release_claims_makes_items_due_at_once(ledger: Ledger) -> None:
    fill(ledger, 2, ("oods", "dbb"))
    ledger.claim("oods", DeliveryStage.TRANSFER, "dead", limit=5, lease=1000.0, now=1.0)
    ledger.claim("dbb", DeliveryStage.TRANSFER, "dead", limit=5, lease=1000.0, now=1.0)
    assert ledger.release_claims("oods") == 2
    assert len(ledger.claim("oods", DeliveryStage.TRANSFER, "new", limit=5, now=2.0)) == 2
    assert ledger.claim("dbb", DeliveryStage.TRANSFER, "new", limit=5, now=2.0) == []


def test_retry_failed_resumes_at_the_stage_that_failed(ledger: Ledger) -> None:
    fill(ledger, 2)
    a, b = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", limit=2, now=1.0)
    ledger.mark_failed(a.id, "w", DeliveryStatus.TRANSFER_FAILURE, "bucket missing", now=2.0)
    ledger.mark_transferred(b.id, "w", remote_uri="x", size=1, checksum=None, ingest=True, now=2.0)
    (b_ingest,) = ledger.claim("dbb", DeliveryStage.INGEST, "w", now=2.0)
    ledger.mark_failed(b_ingest.id, "w", DeliveryStatus.INGEST_FAILURE, "registry locked", now=3.0)
    assert ledger.retry_failed(destination="dbb", now=4.0) == 2
    stages = {d.id: (d.stage, d.attempts) for d in ledger.deliveries()}
    assert stages == {a.id: (DeliveryStage.TRANSFER, 0), b.id: (DeliveryStage.INGEST, 0)}


def test_concurrent_workers_never_claim_the_same_item(ledger: Ledger) -> None:
    fill(ledger, 120)
    claimed: list[int] = []
    guard = threading.Lock()
    barrier = threading.Barrier(6)

    def work(worker: str) -> None:
        barrier.wait()
        while True:
            batch = ledger.claim("dbb", DeliveryStage.TRANSFER, worker, limit=3, now=1.0)
            if not batch:
                return
            for item in batch:
                assert ledger.mark_transferred(
                    item.id, worker, remote_uri="x", size=1, checksum=None, ingest=False, now=1.0
                )
            with guard:
                claimed.extend(item.id for item in batch)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    counts = Counter(claimed)
    assert len(counts) == 120
    assert max(counts.values()) == 1
    assert all(d.stage is DeliveryStage.DONE and d.attempts == 1 for d in ledger.deliveries())


def test_capture_and_manifest_are_queued_in_the_same_transaction(ledger: Ledger) -> None:
    ledger.register_image(IMAGE, camera="LSSTCam", day_obs=20261123, expected={"R22_S11": 94}, now=0.0)
    ledger.record_capture(IMAGE, "R22_S11", path="/staging/a.fits", destinations=["oods", "dbb"], now=1.0)
    ledger.set_manifest(IMAGE, "/staging/m.json", destinations=["dbb"], now=1.0)
    queued = sorted((d.item, d.destination, d.source) for d in ledger.deliveries())
    assert queued == [
        ("R22_S11", "dbb", "/staging/a.fits"),
        ("R22_S11", "oods", "/staging/a.fits"),
        ("expectedSensors", "dbb", "/staging/m.json"),
    ]
    assert ledger.image(IMAGE).manifest_path == "/staging/m.json"


def test_batch_ingest_result_is_recorded_only_for_items_still_held(ledger: Ledger) -> None:
    fill(ledger, 3)
    for detector in ledger.detectors(IMAGE):
        ledger.record_capture(IMAGE, detector.name, path=f"/staging/{detector.name}.fits")
    claimed = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", limit=3, now=1.0)
    for item in claimed:
        ledger.mark_transferred(item.id, "w", remote_uri="x", size=1, checksum=None, ingest=True, now=2.0)
    held = ledger.claim("dbb", DeliveryStage.INGEST, "w", limit=3, lease=5.0, now=3.0)
    stolen = ledger.claim("dbb", DeliveryStage.INGEST, "other", limit=1, now=9.0)  # lease of "w" expired
    assert ledger.mark_ingested_many([d.id for d in held], "w", now=10.0) == {d.id for d in held} - {
        stolen[0].id
    }
    assert not ledger.is_settled(IMAGE, ["dbb"])
    ledger.mark_ingested(stolen[0].id, "other")
    assert ledger.is_settled(IMAGE, ["dbb"])


def test_requeue_unqueued_adds_a_new_destination_to_unfinished_images_only(ledger: Ledger) -> None:
    ledger.register_image(IMAGE, camera="LSSTCam", day_obs=20261123, expected={"R22_S11": 94, "R22_S12": 95})
    ledger.record_capture(IMAGE, "R22_S11", path="/staging/a.fits", destinations=["oods"])
    ledger.set_manifest(IMAGE, "/staging/m.json", destinations=["oods"])
    done = "MC_O_20261123_000099"
    ledger.register_image(done, camera="LSSTCam", day_obs=20261123, expected={"R22_S11": 94})
    ledger.record_capture(done, "R22_S11", path="/staging/d.fits", destinations=["oods"])
    ledger.mark_archived(done, 0, "all archived")
    assert ledger.requeue_unqueued(["oods", "dbb"]) == 2
    assert ledger.requeue_unqueued(["oods", "dbb"]) == 0
    dbb = sorted((d.image, d.item, d.source) for d in ledger.deliveries(destination="dbb"))
    assert dbb == [(IMAGE, "R22_S11", "/staging/a.fits"), (IMAGE, "expectedSensors", "/staging/m.json")]


def test_higher_priority_images_are_claimed_first(ledger: Ledger) -> None:
    for name, priority in (("MC_O_20261123_000001", 0), ("MC_O_20261123_000002", 5)):
        ledger.register_image(
            name, camera="LSSTCam", day_obs=20261123, expected={"R22_S11": 94}, priority=priority, now=0.0
        )
        ledger.record_capture(name, "R22_S11", path=f"/staging/{name}.fits", destinations=["dbb"], now=0.0)
    first, second = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", limit=2, now=1.0)
    assert (first.image, second.image) == ("MC_O_20261123_000002", "MC_O_20261123_000001")


def test_retry_failed_for_one_image_reopens_it_so_its_archiving_is_decided_again(ledger: Ledger) -> None:
    fill(ledger, 1)
    (item,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", now=1.0)
    ledger.mark_failed(item.id, "w", DeliveryStatus.TRANSFER_FAILURE, "bucket missing", now=2.0)
    assert ledger.mark_archived(IMAGE, 1, "0 of 1 in DBB", now=3.0)
    assert ledger.retry_failed(image=IMAGE, now=4.0) == 1
    assert [i.name for i in ledger.unfinished_images()] == [IMAGE]
    assert [(d.stage, d.attempts, d.status_code) for d in ledger.queue.unfinished_deliveries("dbb")] == [
        (DeliveryStage.TRANSFER, 0, None)
    ]
