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
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

from .status import CaptureStatus
from .task import CaptureTask, DetectorOutcome, SourceOutcome
from .worker import capture_source, ignore_interrupts
from .worker_status import WorkerState, WorkerStatus, WorkerStatusCallback

_log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.5
"""Seconds between checks of the local worker processes."""


@contextlib.contextmanager
def _spawning_ignores_interrupts() -> Iterator[None]:
    """Ignore SIGINT while worker processes may be spawned (``submit`` spawns them).

    A spawned process inherits an ignored SIGINT through exec and Python keeps
    it ignored, so a Ctrl-C while a new worker still imports its code (before
    `ignore_interrupts` runs) prints no traceback. A Ctrl-C in the few
    milliseconds of the spawn itself is lost (press it again). Only the main
    thread may change signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def _warm_up() -> int:
    """Import the capture code in a fresh worker process; return its pid."""
    return os.getpid()


def _capture_here(task: CaptureTask) -> tuple[int, SourceOutcome]:
    """`capture_source` in a worker process; return its pid with the outcome."""
    return os.getpid(), capture_source(task)


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

    Each process is reported to ``on_worker_status`` (role ``capture``,
    state ``alive``) when the pool sees it start, and again (state
    ``lost``, with its task counts) when it dies; both are logged.

    Parameters
    ----------
    workers : `int`
        Number of processes; 0 means one per CPU core.
    log : `logging.Logger`, optional
        Where to log (e.g. a child of the CSC's log, so that a dead worker
        reaches SAL ``logMessage``); default this module's logger.
    on_worker_status : callable, optional
        ``await on_worker_status(WorkerStatus)``: a process started or died.
    """

    def __init__(
        self,
        workers: int = 0,
        *,
        log: logging.Logger | None = None,
        on_worker_status: WorkerStatusCallback | None = None,
    ) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.log = log if log is not None else _log
        self.on_worker_status = on_worker_status
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._host = socket.gethostname()
        self._known: dict[int, WorkerStatus] = {}
        self._counts: dict[int, tuple[int, int]] = {}
        self._watcher: asyncio.Task[None] | None = None

    def _make_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        # Workers ignore SIGINT (Ctrl-C reaches the whole process group): the
        # CSC handles it and shuts the pool down.
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=ignore_interrupts,
        )

    async def start(self) -> None:
        if self._executor is None:
            self._executor = self._make_executor()
        loop = asyncio.get_running_loop()
        with _spawning_ignores_interrupts():
            warm_ups = [loop.run_in_executor(self._executor, _warm_up) for _ in range(self.workers)]
        await asyncio.gather(*warm_ups)
        await self._update()
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="local capture workers")

    async def run(self, task: CaptureTask) -> SourceOutcome:
        if self._executor is None:
            self._executor = self._make_executor()
        loop = asyncio.get_running_loop()
        with _spawning_ignores_interrupts():
            capture = loop.run_in_executor(self._executor, _capture_here, task)
        try:
            pid, outcome = await capture
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
        done, failed = self._counts.get(pid, (0, 0))
        if all(d.status is CaptureStatus.OK for d in outcome.detectors):
            done += 1
        else:
            failed += 1
        self._counts[pid] = (done, failed)
        return outcome

    def _live_pids(self) -> set[int]:
        if self._executor is None:
            return set()
        processes = getattr(self._executor, "_processes", None) or {}
        return {pid for pid, process in processes.items() if process.is_alive()}

    async def _update(self) -> None:
        """Report the processes that started or died since the last call."""
        live = self._live_pids()
        for pid in sorted(live - self._known.keys()):
            status = WorkerStatus(
                name=f"{self._host}-{pid}",
                host=self._host,
                pid=pid,
                role="capture",
                state=WorkerState.ALIVE.value,
            )
            self._known[pid] = status
            self.log.info("Capture worker process %d started", pid)
            await self._report(status)
        for pid in sorted(self._known.keys() - live):
            done, failed = self._counts.pop(pid, (0, 0))
            status = self._known.pop(pid)
            self.log.warning("Capture worker process %d lost (%d tasks done, %d failed)", pid, done, failed)
            await self._report(
                WorkerStatus(
                    name=status.name,
                    host=status.host,
                    pid=pid,
                    role=status.role,
                    state=WorkerState.LOST.value,
                    tasks_done=done,
                    tasks_failed=failed,
                )
            )

    async def _report(self, status: WorkerStatus) -> None:
        if self.on_worker_status is None:
            return
        try:
            await self.on_worker_status(status)
        except Exception:
            self.log.exception("Reporting %s failed", status)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                await self._update()
            except Exception:
                self.log.exception("Watching the local capture workers failed")

    @property
    def workers_alive(self) -> int:
        return len(self._live_pids())

    async def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        self._known.clear()
        self._counts.clear()


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
