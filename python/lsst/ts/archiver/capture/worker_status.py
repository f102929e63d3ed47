"""`WorkerStatus`: what the Archiver's parts tell their listener about one worker.

A capture pool (no SAL) calls its ``on_worker_status`` callback when a
worker joins, changes state or is lost; so does the health monitor for the
delivery processes it sees in the ledger. `WorkerRoster` turns successive
sightings of live workers into those reports (and log lines); the CSC's
reporter turns each record into a ``workerStatus`` event.
"""

from __future__ import annotations

__all__ = ["WorkerRoster", "WorkerState", "WorkerStatus", "WorkerStatusCallback"]

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace


class WorkerState(enum.StrEnum):
    """States a worker is reported in (the ``state`` of ``workerStatus``)."""

    ALIVE = "alive"
    """A local worker process is running (the local pool cannot tell idle from busy)."""
    IDLE = "idle"
    """Waiting for a task."""
    BUSY = "busy"
    """Running a task."""
    LOST = "lost"
    """Gone: its heartbeat expired, or its process died or stopped."""


@dataclass(frozen=True)
class WorkerStatus:
    """One worker as its pool sees it.

    Attributes
    ----------
    name : `str`
        Worker name, unique in its pool (Redis consumer name, or
        ``<host>-<pid>`` for a local process).
    host : `str`
        Host the worker runs on.
    pid : `int`
        Its process id on that host.
    role : `str`
        ``capture`` or ``delivery``.
    state : `str`
        A `WorkerState` value (a worker may report another one).
    tasks_done : `int`
        Tasks it finished successfully.
    tasks_failed : `int`
        Tasks it finished with a failure.
    """

    name: str
    host: str
    pid: int
    role: str
    state: str
    tasks_done: int = 0
    tasks_failed: int = 0

    def lost(self) -> WorkerStatus:
        """This worker, with state ``lost``."""
        return replace(self, state=WorkerState.LOST.value)


WorkerStatusCallback = Callable[[WorkerStatus], Awaitable[None]]
"""``await on_worker_status(status)``: a worker joined, changed state or was lost."""


class WorkerRoster:
    """The workers of one role last seen alive; reports who joined, changed or was lost.

    Parameters
    ----------
    role : `str`
        What the workers do (``capture``, ``delivery``), for log lines.
    on_worker_status : callable or `None`
        Receives each join, change (state or task counts) and loss.
    log : `logging.Logger`
        Joins are logged at INFO, losses at WARNING.
    """

    def __init__(self, role: str, on_worker_status: WorkerStatusCallback | None, log: logging.Logger) -> None:
        self.role = role
        self.on_worker_status = on_worker_status
        self.log = log
        self.workers: dict[str, WorkerStatus] = {}

    @property
    def alive(self) -> int:
        """Workers alive at the last sighting."""
        return len(self.workers)

    async def update(self, workers: Mapping[str, WorkerStatus], why_lost: str) -> list[WorkerStatus]:
        """Take a new sighting (name -> status of every live worker); return the workers lost.

        ``why_lost`` says why a worker missing from the sighting counts as
        lost (e.g. ``no heartbeat for 10 s``).
        """
        known, self.workers = self.workers, dict(workers)
        for name in sorted(workers.keys() - known.keys()):
            status = workers[name]
            self.log.info(
                "%s worker %s joined (host %s, pid %d, %s)",
                self.role.capitalize(),
                name,
                status.host,
                status.pid,
                status.state,
            )
            await self._report(status)
        for name in sorted(workers.keys() & known.keys()):
            if workers[name] != known[name]:
                await self._report(workers[name])
        lost = [known[name] for name in sorted(known.keys() - workers.keys())]
        for status in lost:
            self.log.warning(
                "%s worker %s lost (host %s, pid %d: %s)",
                self.role.capitalize(),
                status.name,
                status.host,
                status.pid,
                why_lost,
            )
            await self._report(status.lost())
        return lost

    async def _report(self, status: WorkerStatus) -> None:
        if self.on_worker_status is None:
            return
        try:
            await self.on_worker_status(status)
        except Exception:
            self.log.exception("Reporting %s failed", status)
