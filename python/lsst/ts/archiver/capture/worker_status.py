"""`WorkerStatus`: what a capture pool tells its listener about one worker.

A pool (capture layer, no SAL) calls its ``on_worker_status`` callback
when a worker joins, changes state or is lost; the CSC's reporter turns
each record into a ``workerStatus`` event.
"""

from __future__ import annotations

__all__ = ["WorkerState", "WorkerStatus", "WorkerStatusCallback"]

import enum
from collections.abc import Awaitable, Callable
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
