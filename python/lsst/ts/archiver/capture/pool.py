"""Where capture tasks run: the `CapturePool` interface and a local process pool.

The CSC only sees `CapturePool`. `LocalCapturePool` (the embedded default)
runs tasks in a spawn-safe `concurrent.futures.ProcessPoolExecutor`; a
distributed queue (several capture nodes) would implement the same two
coroutines. `InProcessCapturePool` runs them in a thread of this process,
one at a time: for tests (``monkeypatch`` reaches the capture code) and
debugging (a debugger or profiler sees the capture), never for production.
"""

from __future__ import annotations

__all__ = ["CapturePool", "InProcessCapturePool", "LocalCapturePool"]

import abc
import asyncio
import concurrent.futures
import logging
import multiprocessing
import os
from concurrent.futures.process import BrokenProcessPool

from .status import CaptureStatus
from .task import CaptureTask, DetectorOutcome, SourceOutcome
from .worker import capture_source

_log = logging.getLogger(__name__)


def _warm_up() -> int:
    """Import the capture code in a fresh worker process; return its pid."""
    return os.getpid()


class CapturePool(abc.ABC):
    """Runs capture tasks somewhere and returns their outcomes."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Get the workers ready."""

    @abc.abstractmethod
    async def run(self, task: CaptureTask) -> SourceOutcome:
        """Run one task; never raises for a failed capture (see the outcome's statuses)."""

    @property
    @abc.abstractmethod
    def workers_alive(self) -> int:
        """Number of worker processes alive."""

    def check(self) -> None:
        """Raise `~lsst.ts.archiver.error_codes.ArchiverFault` if the pool cannot work at all.

        Called by the health monitor every sample; the local pools always can.
        """
        return None

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop the workers (running tasks are abandoned; their images stay pending in the ledger)."""


class LocalCapturePool(CapturePool):
    """Capture tasks in local worker processes (started with ``spawn``).

    Parameters
    ----------
    workers : `int`
        Number of processes; 0 means one per CPU core.
    log : `logging.Logger`, optional
        Where to log (e.g. a child of the CSC's log, so that a dead worker
        reaches SAL ``logMessage``); default this module's logger.
    """

    def __init__(self, workers: int = 0, *, log: logging.Logger | None = None) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.log = log if log is not None else _log
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None

    def _make_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    async def start(self) -> None:
        if self._executor is None:
            self._executor = self._make_executor()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._executor, _warm_up) for _ in range(self.workers)))

    async def run(self, task: CaptureTask) -> SourceOutcome:
        if self._executor is None:
            self._executor = self._make_executor()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, capture_source, task)
        except BrokenProcessPool as e:
            self.log.warning(
                "Capture worker died while capturing %s %s (%s); restarting the pool",
                task.obsid,
                task.location,
                e,
            )
            broken, self._executor = self._executor, self._make_executor()
            broken.shutdown(wait=False, cancel_futures=True)
            description = f"capture worker process died ({e}); will retry"
            outcomes = tuple(
                DetectorOutcome(
                    name=name, number=-1, status=CaptureStatus.UNEXPECTED, description=description
                )
                for name in task.detectors
            )
            return SourceOutcome(task.obsid, task.location, outcomes)

    @property
    def workers_alive(self) -> int:
        if self._executor is None:
            return 0
        processes = getattr(self._executor, "_processes", None) or {}
        return sum(1 for process in processes.values() if process.is_alive())

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)


class InProcessCapturePool(CapturePool):
    """Capture tasks in one thread of this process, one task at a time.

    The same `capture_source` as `LocalCapturePool`, without worker
    processes: a test can replace the capture code's functions (decode,
    FITS write, metadata translation) with ``monkeypatch`` and see the
    outcome, and a debugger or profiler sees the capture. One task at a
    time, because the capture code's per-process caches (DAQ store handles,
    decode buffers) are not shared between threads; while a task runs it
    holds the GIL for much of its decoding, so heartbeats may be late on a
    big camera. Not for production.

    Parameters
    ----------
    log : `logging.Logger`, optional
        Where to log; default this module's logger.
    """

    def __init__(self, *, log: logging.Logger | None = None) -> None:
        self.log = log if log is not None else _log
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="capture"
            )
        return self._executor

    async def start(self) -> None:
        self._pool()

    async def run(self, task: CaptureTask) -> SourceOutcome:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), capture_source, task)

    @property
    def workers_alive(self) -> int:
        return 0 if self._executor is None else 1

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
