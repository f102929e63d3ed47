"""`WorkerRoster`: successive sightings of live workers become joins, changes and losses."""

from __future__ import annotations

import logging

import pytest

from lsst.ts.archiver.capture import WorkerRoster, WorkerStatus


def worker(name: str, state: str = "idle", done: int = 0) -> WorkerStatus:
    return WorkerStatus(name=name, host="node1", pid=10, role="delivery", state=state, tasks_done=done)


async def test_joins_changes_and_losses_are_reported_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    reported: list[WorkerStatus] = []

    async def report(status: WorkerStatus) -> None:
        reported.append(status)

    log = logging.getLogger("test.roster")
    roster = WorkerRoster("delivery", report, log)
    with caplog.at_level(logging.INFO, logger="test.roster"):
        assert await roster.update({"a": worker("a"), "b": worker("b")}, "expired") == []
        assert await roster.update({"a": worker("a"), "b": worker("b")}, "expired") == []  # no change
        lost = await roster.update({"a": worker("a", "busy", 3)}, "its heartbeat expired")
    assert lost == [worker("b")]
    assert roster.alive == 1
    assert [(s.name, s.state, s.tasks_done) for s in reported] == [
        ("a", "idle", 0),
        ("b", "idle", 0),
        ("a", "busy", 3),
        ("b", "lost", 0),
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "Delivery worker a joined (host node1, pid 10, idle)",
        "Delivery worker b joined (host node1, pid 10, idle)",
        "Delivery worker b lost (host node1, pid 10: its heartbeat expired)",
    ]
    assert caplog.records[-1].levelno == logging.WARNING


async def test_a_failing_listener_is_logged_and_the_roster_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(status: WorkerStatus) -> None:
        raise RuntimeError("listener down")

    roster = WorkerRoster("capture", broken, logging.getLogger("test.roster"))
    with caplog.at_level(logging.INFO, logger="test.roster"):
        await roster.update({"a": worker("a")}, "expired")
    assert roster.alive == 1
    assert any("Reporting" in r.getMessage() and r.exc_info for r in caplog.records)
