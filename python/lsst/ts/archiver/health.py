"""``archiverHealth``: the Archiver's backlog, finally failed items, workers and free space, every second.

`HealthMonitor` samples the open `~lsst.ts.archiver.runtime.ArchiverRuntime`
and checks the conditions the Archiver cannot work around (ledger or DAQ
store unreachable, staging area full, no capture worker alive for too long
while work is pending), which send the CSC to FAULT. It also watches the
delivery processes' heartbeats in the ledger
(`~lsst.ts.archiver.ledger.WorkerRegistry`): their joins, changes and
losses go to the reporter (``workerStatus``, ``logMessage``), and
``workersAlive`` counts them with the capture pool's workers.
"""

from __future__ import annotations

__all__ = ["HEALTH_INTERVAL", "HealthMonitor", "HealthSample", "queue_depth_array"]

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

from .capture import WorkerRoster, WorkerStatus
from .config_schema import MAX_DESTINATIONS
from .delivery.process import DELIVERY_ROLE
from .error_codes import ArchiverFault, ErrorCode
from .ledger import CaptureState, Ledger, LedgerError, WorkerRecord
from .reporting import FaultCallback
from .runtime import ArchiverRuntime

HEALTH_INTERVAL = 1.0
"""Seconds between ``archiverHealth`` samples."""


@dataclass(frozen=True)
class HealthSample:
    """One ``archiverHealth`` sample (field names as on the wire)."""

    imagesPending: int
    detectorsPending: int
    oldestPendingAge: float
    queueDepth: list[int]
    workersAlive: int
    freeSpace: float
    failedItems: list[int]


def queue_depth_array(depths: Mapping[str, int], destinations: Sequence[str]) -> list[int]:
    """A per-destination array of ``archiverHealth`` (``queueDepth[8]``, ``failedItems[8]``).

    One slot per destination, in configuration order; a destination not in
    ``depths`` and unused slots are 0.
    """
    array = [0] * MAX_DESTINATIONS
    for index, name in enumerate(destinations[:MAX_DESTINATIONS]):
        array[index] = depths.get(name, 0)
    return array


def _pending(ledger: Ledger) -> tuple[int, int, float]:
    """Images not archived, detector files not yet written (first 200 images), oldest age."""
    images = ledger.unfinished_images()
    detectors = 0
    for image in images[:200]:
        detectors += sum(1 for d in ledger.detectors(image.name) if d.state is CaptureState.PENDING)
    oldest = time.time() - min(i.registered_at for i in images) if images else 0.0
    return len(images), detectors, oldest


class HealthMonitor:
    """Write ``archiverHealth`` every `HEALTH_INTERVAL` seconds while the runtime is open.

    Parameters
    ----------
    runtime : `~lsst.ts.archiver.runtime.ArchiverRuntime`
        The open runtime.
    write : callable
        Coroutine function writing one sample (keyword arguments as in
        `HealthSample`).
    fault : callable
        ``fault(code, report)``: go to FAULT without blocking.
    log : `logging.Logger`
        The CSC's logger.
    interval : `float`, optional
        Seconds between samples.
    """

    def __init__(
        self,
        runtime: ArchiverRuntime,
        write: Callable[..., Awaitable[object]],
        fault: FaultCallback,
        log: logging.Logger,
        *,
        interval: float = HEALTH_INTERVAL,
    ) -> None:
        self.runtime = runtime
        self.write = write
        self.fault = fault
        self.log = log
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._delivery_workers = WorkerRoster(DELIVERY_ROLE, runtime.reporter.worker_status, log)

    def start(self) -> None:
        """Start sampling."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="archiverHealth")

    async def stop(self) -> None:
        """Stop sampling."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                sample = await self.sample()
                if sample is not None:
                    await self.write(**asdict(sample))
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("archiverHealth failed")
            await asyncio.sleep(self.interval)

    async def sample(self) -> HealthSample | None:
        """Take one sample; None (and FAULT) if a vital part is unreachable."""
        runtime = self.runtime
        config = runtime.config
        try:
            images, detectors, oldest = await runtime.runner.run(_pending, runtime.ledger)
            depths = await runtime.runner.run(runtime.ledger.queue_depths)
            failed = await runtime.runner.run(runtime.ledger.failed_counts)
            await self._watch_delivery_workers()
        except LedgerError as e:
            self.fault(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {e}")
            return None
        try:
            await asyncio.to_thread(runtime.store.capacity)
        except Exception as e:
            self.fault(ErrorCode.DAQ_STORE_UNAVAILABLE, f"DAQ store unavailable: {e}")
            return None
        try:
            free = await asyncio.to_thread(runtime.staging.require_free_space, config.staging.min_free_space)
        except ArchiverFault as fault:
            self.fault(fault.code, fault.report)
            return None
        try:
            runtime.pool.check()
        except ArchiverFault as fault:
            self.fault(fault.code, fault.report)
            return None
        destinations = [d.name for d in config.enabled_destinations]
        return HealthSample(
            imagesPending=images,
            detectorsPending=detectors,
            oldestPendingAge=oldest,
            queueDepth=queue_depth_array(depths, destinations),
            workersAlive=runtime.pool.workers_alive + self._delivery_workers.alive,
            freeSpace=free,
            failedItems=queue_depth_array(failed, destinations),
        )

    async def _watch_delivery_workers(self) -> None:
        """Report the delivery processes that joined, changed or were lost since the last sample."""
        runner = self.runtime.runner
        live = await runner.run(runner.ledger.workers.live, role=DELIVERY_ROLE)
        lost = await self._delivery_workers.update(
            {w.name: _status_of(w) for w in live}, "its heartbeat in the ledger expired"
        )
        for status in lost:
            # Its row has expired; if it was only frozen, its next beat joins it again.
            await runner.run(runner.ledger.workers.leave, status.name)


def _status_of(worker: WorkerRecord) -> WorkerStatus:
    return WorkerStatus(
        name=worker.name,
        host=worker.host,
        pid=worker.pid,
        role=worker.role,
        state=worker.state,
        tasks_done=worker.tasks_done,
        tasks_failed=worker.tasks_failed,
    )
