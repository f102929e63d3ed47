"""`ArchiverRuntime`: opens and closes every working part of an Archiver (no SAL).

Staging area, ledger (and its `~lsst.ts.archiver.ledger.LedgerRunner`), DAQ
store, capture pool, delivery service and image pipeline are opened in that
order when the CSC reaches DISABLED, and closed in reverse order when it
leaves DISABLED. Delivery runs and unfinished images resume only in ENABLED
(`ArchiverRuntime.start`). A part that cannot be opened raises
`~lsst.ts.archiver.error_codes.ArchiverFault` with the code the CSC reports.
"""

from __future__ import annotations

__all__ = ["ArchiverRuntime", "RuntimeReporter"]

import asyncio
import logging
import pathlib
from collections.abc import Callable
from typing import Protocol

from .camera import Camera
from .capture import (
    CaptureOptions,
    CapturePool,
    LocalCapturePool,
    RedisCapturePool,
    RedisQueueNames,
    WorkerStatus,
    WorkerStatusCallback,
)
from .catch_up.status import CatchUpStatus
from .config import ArchiverConfig
from .daq import DaqStore, EmulatedDaqStore
from .delivery import DeliveryService, ImageArchived, ImageDelivered, ImageInOods
from .error_codes import ArchiverFault, ErrorCode
from .ledger import Ledger, LedgerRunner
from .pipeline import HeaderTracker, ImagePipeline, PipelineReporter, PipelineSettings
from .staging import StagingArea


class RuntimeReporter(PipelineReporter, Protocol):
    """Receives every result of the pipeline and of delivery."""

    async def image_in_oods(self, result: ImageInOods) -> None:
        """A detector's file is in (or finally failed to reach) an OODS destination."""

    async def image_archived(self, result: ImageArchived) -> None:
        """An exposure is archived (or what is missing finally failed)."""

    async def image_delivered(self, result: ImageDelivered) -> None:
        """Every file one destination takes of an exposure is there (or finally failed)."""

    def ledger_error(self, error: Exception) -> None:
        """The ledger cannot be reached; must not block."""

    async def worker_status(self, status: WorkerStatus) -> None:
        """A capture or delivery worker joined, changed state or was lost."""

    async def catch_up_status(self, status: CatchUpStatus) -> None:
        """Catch-up's backlog, rate and time to empty (after each pass)."""


class ArchiverRuntime:
    """The open parts of one Archiver; build it with `open`.

    Attributes
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
    config : `~lsst.ts.archiver.config.ArchiverConfig`
    staging : `~lsst.ts.archiver.staging.StagingArea`
    ledger : `~lsst.ts.archiver.ledger.Ledger`
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        The one route from asyncio to the ledger (shared by every part).
    store : `~lsst.ts.archiver.daq.DaqStore`
    pool : `~lsst.ts.archiver.capture.CapturePool`
    delivery : `~lsst.ts.archiver.delivery.DeliveryService`
    pipeline : `~lsst.ts.archiver.pipeline.ImagePipeline`
    reporter : `RuntimeReporter`
    """

    def __init__(self, camera: Camera, config: ArchiverConfig, log: logging.Logger) -> None:
        self.camera = camera
        self.config = config
        self.log = log
        self.staging = StagingArea(config.staging.directory, fsync=config.fits.fsync, log=log)
        self.ledger: Ledger
        self.runner: LedgerRunner
        self.store: DaqStore
        self.pool: CapturePool
        self.delivery: DeliveryService
        self.pipeline: ImagePipeline
        self.reporter: RuntimeReporter
        self._opened: list[Callable[[], object]] = []
        self._running = False

    @classmethod
    async def open(
        cls,
        camera: Camera,
        config: ArchiverConfig,
        headers: HeaderTracker,
        make_reporter: Callable[[LedgerRunner], RuntimeReporter],
        *,
        worker_id: str,
        log: logging.Logger,
        create_store: bool = False,
        owns_ledger: bool = True,
    ) -> ArchiverRuntime:
        """Open every part; on failure close what was opened and raise.

        Parameters
        ----------
        camera : `~lsst.ts.archiver.camera.Camera`
            The camera.
        config : `~lsst.ts.archiver.config.ArchiverConfig`
            The configuration.
        headers : `~lsst.ts.archiver.pipeline.HeaderTracker`
            Header Service announcements (fed by the CSC).
        make_reporter : callable
            Builds the reporter from the ledger runner.
        worker_id : `str`
            Identity of this Archiver in the ledger's claims and locks.
        log : `logging.Logger`
            The CSC's logger; every part logs to a child of it.
        create_store : `bool`, optional
            Create the DAQ store if missing (simulation mode).
        owns_ledger : `bool`, optional
            This is the Archiver (the ledger's owner): its delivery takes
            over a previous run's claims and reports what other processes
            settle (``exclusive``). False for the Catch-Up Archiver
            process: its delivery shares the queues like a delivery process
            and leaves the reporting to the Archiver.

        Raises
        ------
        lsst.ts.archiver.error_codes.ArchiverFault
            If a part cannot be opened (the code says which).
        """
        runtime = cls(camera, config, log)
        try:
            await runtime._open(
                headers,
                make_reporter,
                worker_id=worker_id,
                create_store=create_store,
                owns_ledger=owns_ledger,
            )
        except BaseException as e:
            await runtime.close()
            if isinstance(e, ArchiverFault | asyncio.CancelledError):
                raise
            if isinstance(e, Exception):
                raise ArchiverFault(ErrorCode.INTERNAL_ERROR, f"Cannot start the Archiver: {e!r}") from e
            raise
        return runtime

    async def _open(
        self,
        headers: HeaderTracker,
        make_reporter: Callable[[LedgerRunner], RuntimeReporter],
        *,
        worker_id: str,
        create_store: bool,
        owns_ledger: bool,
    ) -> None:
        config = self.config
        await asyncio.to_thread(self.staging.check, config.staging.min_free_space)
        try:
            self.ledger = await asyncio.to_thread(_open_ledger, config.ledger_url)
        except Exception as e:
            raise ArchiverFault(
                ErrorCode.LEDGER_UNAVAILABLE,
                f"Cannot open the ledger at {config.ledger_url}: {e}; check ledger_url and that the "
                "database is reachable",
            ) from e
        self._opened.append(self.ledger.close)
        self.runner = LedgerRunner(self.ledger)
        self._opened.append(self.runner.close)
        self.reporter = make_reporter(self.runner)
        daq = config.daq
        try:
            self.store = await asyncio.to_thread(
                EmulatedDaqStore, daq.root, daq.partition, camera=self.camera, create=create_store
            )
        except Exception as e:
            raise ArchiverFault(
                ErrorCode.DAQ_STORE_UNAVAILABLE,
                f"Cannot open the DAQ store (root {daq.root}, partition {daq.partition!r}): {e}",
            ) from e
        self._opened.append(self.store.close)
        pool = _make_pool(config, self.log, self.reporter.worker_status)
        self.pool = pool
        self._opened.append(pool.close)
        try:
            await pool.start()
        except ArchiverFault:
            raise
        except Exception as e:
            raise ArchiverFault(
                ErrorCode.INTERNAL_ERROR, f"Cannot start the capture worker processes: {e!r}"
            ) from e
        self.delivery = DeliveryService(
            self.runner,
            config.destinations,
            worker_id=worker_id,
            exclusive=owns_ledger,
            log=self.log,
            on_image_in_oods=self.reporter.image_in_oods,
            on_image_archived=self.reporter.image_archived,
            on_image_delivered=self.reporter.image_delivered,
            on_ledger_error=self.reporter.ledger_error,
        )
        options = CaptureOptions(
            daq_root=daq.root,
            partition=daq.partition,
            folder=daq.folder,
            staging=config.staging.directory,
            compress=config.fits.compress,
            fsync=config.fits.fsync,
        )
        settings = PipelineSettings(
            daq_wait_timeout=daq.wait_timeout,
            header_wait_timeout=config.header_service.wait_timeout,
            capture_attempts=config.capture_attempts,
            late_header_window=config.header_service.late_header_window,
        )
        self.pipeline = ImagePipeline(
            self.camera,
            self.store,
            self.pool,
            self.delivery,
            self.runner,
            headers,
            self.staging,
            options,
            settings,
            self.reporter,
            catch_up_priority=config.catch_up.priority,
            catch_up_concurrency=config.catch_up.concurrency,
            log=self.log,
        )
        self._opened.append(self.pipeline.stop)

    @property
    def running(self) -> bool:
        """Are delivery and capture running (ENABLED)?"""
        return self._running

    async def start(self, *, resume: bool = True) -> list[str]:
        """ENABLED: start delivery and resume every unfinished image (if ``resume``).

        Returns
        -------
        resumed : `list` [`str`]
            The images whose capture was resumed.

        Raises
        ------
        lsst.ts.archiver.ledger.LedgerError
            If the ledger cannot be read.
        """
        if self._running:
            return []
        await self.delivery.start()
        self._running = True
        return await self.pipeline.resume() if resume else []

    async def stop(self) -> None:
        """Leaving ENABLED: stop capture and delivery (the ledger keeps what is left)."""
        await self.pipeline.stop()
        if self._running:
            self._running = False
            await self.delivery.stop()

    async def close(self) -> None:
        """Stop and close every part opened, in reverse order."""
        if self._running:
            await self.stop()
        opened, self._opened = self._opened, []
        for close in reversed(opened):
            try:
                result = close()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                self.log.exception(f"Closing {close!r} failed")


def _make_pool(
    config: ArchiverConfig, log: logging.Logger, on_worker_status: WorkerStatusCallback
) -> CapturePool:
    """The capture pool of ``capture.backend``, reporting its workers to ``on_worker_status``."""
    capture = config.capture
    if capture.backend == "redis":
        names = RedisQueueNames(
            task_stream=capture.task_stream,
            result_stream=capture.result_stream,
            worker_group=capture.worker_group,
            result_group=capture.result_group,
        )
        return RedisCapturePool(
            capture.redis_url,
            names,
            lease=capture.lease,
            no_worker_timeout=capture.no_worker_timeout,
            log=log,
            on_worker_status=on_worker_status,
        )
    return LocalCapturePool(config.workers, log=log, on_worker_status=on_worker_status)


def _open_ledger(url: str) -> Ledger:
    if url.startswith("sqlite:///"):
        pathlib.Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return Ledger(url, create=True)
