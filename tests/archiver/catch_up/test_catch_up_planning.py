"""`plan_catch_up`: DAQ catalog, ledger and archive compared, image by image."""

from __future__ import annotations

from lsst.ts.archiver.catch_up import CatchUpPlan, LedgerView, oldest, plan_catch_up

DETECTORS = frozenset({"R22_S00", "R22_S01"})
NOW = 1_000_000.0


def view(*, archived: bool = False, failed: bool = False, age: float = 5.0) -> LedgerView:
    return LedgerView(archived=archived, failed=failed, registered_at=NOW - age, detectors=DETECTORS)


def plan(ledger: dict[str, LedgerView], archive: dict[str, set[str]] | None) -> CatchUpPlan:
    daq = {f"CC_O_20261123_{n:06d}": DETECTORS for n in range(1, 9)}
    return plan_catch_up(daq, ledger, archive, now=NOW, stale_after=600.0)


def name(n: int) -> str:
    return f"CC_O_20261123_{n:06d}"


def test_each_image_gets_the_one_action_its_three_sources_call_for() -> None:
    ledger = {
        name(3): view(archived=True),  # archived, and the archive has it: nothing
        name(4): view(archived=True),  # archived, but the archive lacks R22_S01
        name(5): view(failed=True),  # a part finally failed
        name(6): view(),  # in progress now
        name(7): view(age=3600.0),  # left unfinished an hour ago
        name(8): view(archived=True, failed=True),
    }
    archive = {name(2): set(DETECTORS), name(3): set(DETECTORS), name(4): {"R22_S00"}, name(1): {"R22_S00"}}
    result = plan(ledger, archive)
    assert result.found == (name(2),)  # unknown to the ledger, complete in the archive
    assert result.archive == (name(1), name(7))  # unknown (partial in the archive), and stalled
    assert result.retry == (name(5), name(8))
    assert dict(result.redeliver) == {name(4): ("R22_S01",)}
    assert result.backlog == (name(1), name(7), name(5), name(8), name(4))


def test_without_the_archive_only_the_daq_and_the_ledger_are_compared() -> None:
    result = plan({name(3): view(archived=True)}, None)
    assert result.found == () and dict(result.redeliver) == {}
    assert result.archive == tuple(name(n) for n in (1, 2, 4, 5, 6, 7, 8))


def test_an_empty_plan_is_false_and_oldest_sorts_by_day_obs_then_sequence() -> None:
    assert not CatchUpPlan()
    assert oldest(["CC_O_20261124_000001", "CC_O_20261123_000010", "CC_C_20261123_000002"]) == (
        "CC_C_20261123_000002"
    )
    assert oldest([]) == ""
