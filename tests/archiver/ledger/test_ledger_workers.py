"""Worker heartbeats (`WorkerRegistry`): beats, expiry, leaving; live workers keep their claims."""

from __future__ import annotations

from lsst.ts.archiver.ledger import DeliveryStage, Ledger, Trigger

IMAGE = "CC_O_20261123_000003"


def beat(ledger: Ledger, name: str, *, now: float, state: str = "idle", done: int = 0) -> None:
    ledger.workers.beat(
        name, host="node1", pid=42, role="delivery", state=state, ttl=6.0, tasks_done=done, now=now
    )


def test_a_worker_is_live_until_its_heartbeat_expires(ledger: Ledger) -> None:
    beat(ledger, "w1", now=100.0)
    beat(ledger, "w2", now=101.0)
    assert [w.name for w in ledger.workers.live(now=106.0)] == ["w1", "w2"]
    assert [w.name for w in ledger.workers.live(now=106.5)] == ["w2"]
    assert ledger.workers.live(now=200.0) == []


def test_a_later_beat_updates_the_worker_and_keeps_when_it_joined(ledger: Ledger) -> None:
    beat(ledger, "w1", now=100.0)
    beat(ledger, "w1", now=104.0, state="busy", done=7)
    (worker,) = ledger.workers.live(now=109.0)
    assert (worker.state, worker.tasks_done, worker.tasks_failed) == ("busy", 7, 0)
    assert (worker.joined_at, worker.heartbeat_at, worker.expires_at) == (100.0, 104.0, 110.0)
    assert (worker.host, worker.pid, worker.role) == ("node1", 42, "delivery")


def test_a_worker_beating_after_it_expired_joins_again(ledger: Ledger) -> None:
    beat(ledger, "w1", now=100.0)
    beat(ledger, "w1", now=120.0)  # frozen past its expiry, then resumed
    (worker,) = ledger.workers.live(now=121.0)
    assert worker.joined_at == 120.0


def test_leave_removes_the_worker_and_roles_are_separate(ledger: Ledger) -> None:
    beat(ledger, "w1", now=100.0)
    ledger.workers.beat("c1", host="node2", pid=7, role="capture", state="idle", ttl=6.0, now=100.0)
    assert [w.name for w in ledger.workers.live(role="delivery", now=101.0)] == ["w1"]
    assert ledger.workers.leave("w1")
    assert not ledger.workers.leave("w1")
    assert [w.name for w in ledger.workers.live(now=101.0)] == ["c1"]


def test_release_claims_keeps_the_claims_of_the_workers_named(ledger: Ledger) -> None:
    expected = {"R22_S00": 0, "R22_S01": 1}
    ledger.register_image(
        IMAGE, camera="LSSTComCam", day_obs=20261123, expected=expected, trigger=Trigger.LIVE, now=0.0
    )
    for name in expected:
        ledger.enqueue(IMAGE, name, ["dbb"], f"/staging/{name}.fits", now=0.0)
    (live_item,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "live", lease=1000.0, now=1.0)
    (dead_item,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "dead", lease=1000.0, now=1.0)
    assert ledger.release_claims("dbb", keep={"live"}) == 1
    claimed = {d.id: d.claimed_by for d in ledger.deliveries()}
    assert claimed == {live_item.id: "live", dead_item.id: None}
