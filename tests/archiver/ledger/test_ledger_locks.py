"""Named locks (`LockManager`): one holder at a time, across processes."""

from __future__ import annotations

from lsst.ts.archiver.ledger import Ledger


def test_named_lock_has_one_holder_until_it_expires(ledger: Ledger) -> None:
    assert ledger.acquire_lock("cleaner:/repo", "a", ttl=10.0, now=0.0)
    assert not ledger.acquire_lock("cleaner:/repo", "b", ttl=10.0, now=5.0)
    assert ledger.acquire_lock("cleaner:/repo", "a", ttl=10.0, now=5.0)
    assert ledger.lock_holder("cleaner:/repo", now=6.0) == "a"
    assert ledger.acquire_lock("cleaner:/repo", "b", ttl=10.0, now=16.0)
    assert not ledger.release_lock("cleaner:/repo", "a")
    assert ledger.release_lock("cleaner:/repo", "b")
    assert ledger.lock_holder("cleaner:/repo") is None


def test_a_lock_held_through_one_ledger_is_refused_through_another_on_the_same_database(
    ledger: Ledger, ledger_url: str
) -> None:
    with Ledger(ledger_url) as other_process:
        assert ledger.acquire_lock("catch-up", "csc-1", ttl=30.0, now=0.0)
        assert not other_process.acquire_lock("catch-up", "csc-2", ttl=30.0, now=1.0)
        assert other_process.lock_holder("catch-up", now=1.0) == "csc-1"
        assert ledger.release_lock("catch-up", "csc-1")
        assert other_process.acquire_lock("catch-up", "csc-2", ttl=30.0, now=2.0)
        assert ledger.locks.lock_holder("catch-up", now=2.0) == "csc-2"
