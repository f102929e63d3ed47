"""`ImagePipeline`: register, wait for the DAQ and the header, capture, hand over.

One coroutine per image (`ImagePipeline.archive`), whatever the trigger
(live, commanded, catch-up, resume after a restart). Every step is
recorded in the ledger first, so a restart resumes where it stopped:
images with detectors still pending are captured again (`resume`), and
the delivery service resumes its own queues. What a restart cannot get
back (the camera events' metadata, the fetched header) is kept next to the
image's files in the staging area (`~lsst.ts.archiver.staging.StagingArea`).
A header that arrives after the files were written is applied (or recorded)
by `~lsst.ts.archiver.pipeline.late_header.LateHeaders`, which the pipeline
owns and tells of every announcement while it runs (ENABLED).
"""

from __future__ import annotations

__all__ = ["ImagePipeline", "PipelineReporter", "PipelineSettings"]

import asyncio
import dataclasses
import functools
import logging
import math
import os
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..camera import Camera, ImageName
from ..capture import CaptureOptions, CapturePool, CaptureStatus, CaptureTask, DetectorOutcome
from ..daq import (
    DaqError,
    DaqStore,
    ImageEvictedError,
    ImageMetadata,
    ImageNotFoundError,
    StoreUnavailableError,
)
from ..delivery import DeliveryService
from ..error_codes import ArchiverFault, ErrorCode
from ..fits import ExposureMetadata, make_expected_sensors
from ..ledger import CaptureMeasurements, CaptureState, LedgerError, LedgerRunner, Trigger
from ..staging import StagingArea
from .headers import FetchedHeader, HeaderAnnouncement, HeaderTracker
from .late_header import LateHeaders

_log = logging.getLogger(__name__)

T = TypeVar("T")

_POLL_INTERVAL = 0.1
"""Seconds between DAQ catalog look-ups while waiting for an image to appear."""


@dataclass(frozen=True)
class PipelineSettings:
    """Timeouts and retry policy of the pipeline.

    Parameters
    ----------
    daq_wait_timeout : `float`
        Seconds to wait for an image to appear and be complete in the DAQ.
    header_wait_timeout : `float`
        Seconds to wait for the Header Service's announcement.
    capture_attempts : `int`
        Attempts per detector for transient capture errors.
    retry_delay : `float`
        Seconds before the second attempt (then doubled each time).
    late_header_window : `float`
        Seconds after an image's files were written (with the Archiver's own
        metadata) during which a late Header Service header is applied to
        them; 0: never (it is only recorded).
    """

    daq_wait_timeout: float = 30.0
    header_wait_timeout: float = 10.0
    capture_attempts: int = 3
    retry_delay: float = 0.5
    late_header_window: float = 0.0


class PipelineReporter(Protocol):
    """What the pipeline tells its owner (the CSC turns it into SAL output)."""

    async def detector_captured(self, obsid: str, outcome: DetectorOutcome) -> None:
        """A detector's file is written, or its capture finally failed."""

    async def image_captured(self, obsid: str, outcomes: Sequence[DetectorOutcome]) -> None:
        """Every detector of an image has a final capture outcome."""

    def pipeline_fault(self, code: ErrorCode, report: str) -> None:
        """The Archiver cannot work (ledger, DAQ store, staging); must not block."""


class ImagePipeline:
    """Archive images: one coroutine per image, any trigger.

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The camera.
    store : `~lsst.ts.archiver.daq.DaqStore`
        The DAQ store (catalog calls from the event loop).
    pool : `~lsst.ts.archiver.capture.CapturePool`
        Where capture tasks run.
    delivery : `~lsst.ts.archiver.delivery.DeliveryService`
        Takes registrations, written files and final failures (ledger + queues).
    ledger : `~lsst.ts.archiver.ledger.LedgerRunner`
        How the pipeline reads the ledger (the delivery service's).
    headers : `HeaderTracker`
        Header Service announcements.
    staging : `~lsst.ts.archiver.staging.StagingArea`
        The staging area (its root is ``options.staging``): manifests and
        the side files that survive a restart.
    options : `~lsst.ts.archiver.capture.CaptureOptions`
        Store and writer options for the workers.
    settings : `PipelineSettings`
        Timeouts and retries.
    reporter : `PipelineReporter`
        Receives results.
    catch_up_priority : `int`
        Priority of catch-up images in the delivery queues.
    catch_up_concurrency : `int`, optional
        Most catch-up images captured at once (live images are never held
        back by them).
    log : `logging.Logger`, optional
        Where to log (a child of the CSC's log, so retries and failures
        reach SAL ``logMessage``); default this module's logger.
    """

    def __init__(
        self,
        camera: Camera,
        store: DaqStore,
        pool: CapturePool,
        delivery: DeliveryService,
        ledger: LedgerRunner,
        headers: HeaderTracker,
        staging: StagingArea,
        options: CaptureOptions,
        settings: PipelineSettings,
        reporter: PipelineReporter,
        *,
        catch_up_priority: int = -10,
        catch_up_concurrency: int = 1,
        log: logging.Logger | None = None,
    ) -> None:
        self.camera = camera
        self.store = store
        self.pool = pool
        self.delivery = delivery
        self.ledger = ledger
        self.headers = headers
        self.staging = staging
        self.options = options
        self.settings = settings
        self.reporter = reporter
        self.catch_up_priority = catch_up_priority
        self.log = log if log is not None else _log
        self._active: dict[str, asyncio.Task[None]] = {}
        self._catch_up_gate = asyncio.Semaphore(catch_up_concurrency)
        self.late_headers = LateHeaders(
            store,
            options.folder,
            delivery,
            ledger,
            headers,
            staging,
            window=settings.late_header_window,
            recapture=self._recapture,
            wait_capture=self._wait_capture,
            on_fault=reporter.pipeline_fault,
            log=self.log,
        )

    # ------------------------------------------------------------------ public API

    @property
    def active_images(self) -> list[str]:
        """Images being captured now."""
        return list(self._active)

    def is_active(self, obsid: str) -> bool:
        """Is the image being captured now?"""
        return obsid in self._active

    def start_image(
        self,
        obsid: str,
        *,
        trigger: Trigger,
        priority: int = 0,
        metadata: ExposureMetadata | None = None,
        wait_for_header: bool = False,
    ) -> bool:
        """Start archiving an image in the background.

        Returns
        -------
        started : `bool`
            False if the image is already being captured (a duplicate).

        Raises
        ------
        lsst.ts.archiver.camera.InvalidImageNameError
            If ``obsid`` is not a canonical image name (`ImageName.parse`);
            every trigger checks the names it takes before calling this.
        """
        ImageName.parse(obsid)
        if obsid in self._active:
            return False
        coro = self.archive(
            obsid, trigger=trigger, priority=priority, metadata=metadata, wait_for_header=wait_for_header
        )
        task = asyncio.create_task(coro, name=f"archive {obsid}")
        self._active[obsid] = task
        task.add_done_callback(functools.partial(self._done, obsid))
        return True

    def _done(self, obsid: str, task: asyncio.Task[None]) -> None:
        if self._active.get(obsid) is task:
            del self._active[obsid]
        if not task.cancelled() and task.exception() is not None:
            # Only if reporting the failure failed too (`archive` reports the rest).
            self.log.error(
                "Archiving %s failed unexpectedly; it stays pending in the ledger",
                obsid,
                exc_info=task.exception(),
            )

    async def stop(self) -> None:
        """Cancel every image in progress (they stay pending in the ledger) and stop
        following late headers (an interrupted rewrite is finished at the next `resume`)."""
        self.headers.remove_listener(self._header_announced)
        current = asyncio.current_task()
        tasks = [t for t in self._active.values() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.late_headers.stop()

    async def wait_idle(self) -> None:
        """Wait until no image is being captured and no late header applied (for tests and shutdown)."""
        while self._active:
            await asyncio.gather(*list(self._active.values()), return_exceptions=True)
        await self.late_headers.wait_idle()

    async def record_only(self, obsid: str, *, metadata: ExposureMetadata | None = None) -> bool:
        """Record an image for later capture (announced while the CSC is DISABLED).

        It is registered as a catch-up image and captured at the next
        `resume` (when the CSC is enabled) or by ``catchUp``.

        Returns
        -------
        new : `bool`
            False if the ledger already had it.
        """
        image = self._find_image_now(obsid)
        new = await self._register(obsid, image, Trigger.CATCH_UP, self.catch_up_priority)
        if metadata is not None:
            await asyncio.to_thread(self.staging.save_metadata, obsid, metadata)
        return new

    async def resume(self) -> list[str]:
        """Start every image the ledger shows with detectors still to capture.

        From now on until `stop`, late Header Service headers are applied
        (`LateHeaders`); a rewrite that a restart interrupted is finished.

        Returns
        -------
        names : `list` [`str`]
            The images started.
        """
        self.headers.add_listener(self._header_announced)
        await self.late_headers.resume()
        started = []
        ledger = self.ledger.ledger
        for image in await self.ledger.run(ledger.unfinished_images):
            if image.name in self._active:
                continue
            if not ImageName.is_valid(image.name):
                self.log.error(
                    "The ledger has an unfinished image with a bad name, %r (recorded by an older "
                    "ts_archiver?); not resumed",
                    image.name,
                )
                continue
            detectors = await self.ledger.run(ledger.detectors, image.name)
            if any(d.state is CaptureState.PENDING for d in detectors):
                if self.start_image(image.name, trigger=image.trigger, priority=image.priority):
                    started.append(image.name)
        return started

    def _header_announced(self, announcement: HeaderAnnouncement) -> None:
        """Every Header Service announcement: is it a late header for written files?"""
        self.late_headers.announced(announcement)

    async def _wait_capture(self, obsid: str) -> None:
        """Return when no capture run of the image is active."""
        while (task := self._active.get(obsid)) is not None and task is not asyncio.current_task():
            await asyncio.wait({task})

    # ------------------------------------------------------------------ one image

    async def archive(
        self,
        obsid: str,
        *,
        trigger: Trigger,
        priority: int = 0,
        metadata: ExposureMetadata | None = None,
        wait_for_header: bool = False,
    ) -> None:
        """Archive one image: register, wait, capture every pending detector, hand over.

        Never raises for problems of this image (they are reported per
        detector); conditions that stop the Archiver are reported through
        `PipelineReporter.pipeline_fault` and leave the image pending. Any
        other exception (a bug, or an error no step expected) ends the
        image: every detector still pending is reported finally failed with
        `~lsst.ts.archiver.capture.CaptureStatus.UNEXPECTED` and the
        exception in its description, and the exception is logged.
        """
        try:
            if trigger is Trigger.CATCH_UP:
                async with self._catch_up_gate:
                    await self._archive(obsid, trigger, priority, metadata, wait_for_header)
            else:
                await self._archive(obsid, trigger, priority, metadata, wait_for_header)
        except ArchiverFault as fault:
            self._fault(obsid, fault)
        except LedgerError as e:
            self._fault(
                obsid,
                ArchiverFault(
                    ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable while archiving {obsid}: {e}"
                ),
            )
        except StoreUnavailableError as e:
            self._fault(
                obsid,
                ArchiverFault(
                    ErrorCode.DAQ_STORE_UNAVAILABLE, f"DAQ store unavailable while archiving {obsid}: {e}"
                ),
            )
        except Exception as e:
            await self._unexpected(obsid, trigger, priority, e)

    def _fault(self, obsid: str, fault: ArchiverFault) -> None:
        self.log.error("%s stays pending: %s", obsid, fault.report)
        self.reporter.pipeline_fault(fault.code, fault.report)

    async def _unexpected(self, obsid: str, trigger: Trigger, priority: int, error: Exception) -> None:
        """Report every detector still pending as finally failed (`CaptureStatus.UNEXPECTED`).

        The image is registered first if the error came before that, so that
        ``imageArchived`` follows with those detectors missing.
        """
        description = f"unexpected error while archiving {obsid}: {_describe_exception(error)}"
        self.log.error(
            "%s; its pending detectors are reported failed (%s)",
            description,
            CaptureStatus.UNEXPECTED.name,
            exc_info=error,
        )
        ledger = self.ledger.ledger
        try:
            if not await self.ledger.run(ledger.has_image, obsid):
                await self._register(obsid, None, trigger, priority)
            detectors = await self.ledger.run(ledger.detectors, obsid)
            outcomes = [
                DetectorOutcome(
                    name=d.name, number=d.number, status=CaptureStatus.UNEXPECTED, description=description
                )
                for d in detectors
                if d.state is CaptureState.PENDING
            ]
            for outcome in outcomes:
                await self._final(obsid, outcome)
            if outcomes:
                await self._image_captured(obsid, outcomes)
        except LedgerError as e:
            self._fault(
                obsid,
                ArchiverFault(
                    ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable while archiving {obsid}: {e}"
                ),
            )
        except Exception:
            self.log.exception(
                "%s: the unexpected error could not be reported per detector; it stays pending in the ledger",
                obsid,
            )

    async def _archive(
        self,
        obsid: str,
        trigger: Trigger,
        priority: int,
        metadata: ExposureMetadata | None,
        wait_for_header: bool,
    ) -> None:
        announced = time.monotonic()
        header_task: asyncio.Task[FetchedHeader] | None = None
        if wait_for_header:
            header_task = asyncio.create_task(
                self.headers.header_for(obsid, self.settings.header_wait_timeout)
            )
        try:
            if metadata is not None:
                await asyncio.to_thread(self.staging.save_metadata, obsid, metadata)
            else:
                metadata = await asyncio.to_thread(self.staging.load_metadata, obsid)
            image, missing_status, missing_reason = await self._wait_for_image(obsid, announced)
            await self._register(obsid, image, trigger, priority, metadata.imgtype if metadata else None)
            if image is not None:
                await self._write_manifest(obsid, image)
            detectors = await self.ledger.run(self.ledger.ledger.detectors, obsid)
            pending = [d.name for d in detectors if d.state is CaptureState.PENDING]
            if not pending:
                return
            if image is None:
                outcomes = [
                    DetectorOutcome(
                        name=name,
                        number=self.camera.detector(name).id,
                        status=missing_status,
                        description=missing_reason,
                    )
                    for name in pending
                ]
                for outcome in outcomes:
                    await self._final(obsid, outcome)
                await self._image_captured(obsid, outcomes)
                return
            if not image.complete:
                image = await self._wait_complete(obsid, image, announced)
            header = await self._header(obsid, header_task)
            await self.ledger.run(
                self.ledger.ledger.set_header_source,
                obsid,
                "HeaderService" if header.text is not None else "Archiver",
            )
            outcomes = await self._capture(obsid, pending, metadata, header, self._final)
            await self._image_captured(obsid, outcomes)
        finally:
            if header_task is not None and not header_task.done():
                header_task.cancel()

    async def _image_captured(self, obsid: str, outcomes: Sequence[DetectorOutcome]) -> None:
        failed = [o for o in outcomes if o.status is not CaptureStatus.OK]
        if failed:
            self.log.warning(
                "%s: %d of %d detector files written; failed: %s",
                obsid,
                len(outcomes) - len(failed),
                len(outcomes),
                ", ".join(f"{o.name} ({o.status.name})" for o in failed),
            )
        else:
            self.log.info("%s: all %d detector files written", obsid, len(outcomes))
        await self.reporter.image_captured(obsid, outcomes)

    # ------------------------------------------------------------------ steps

    def _find_image_now(self, obsid: str) -> ImageMetadata | None:
        try:
            return self.store.find_image(obsid, self.options.folder)
        except ImageNotFoundError:
            return None

    async def _wait_for_image(
        self, obsid: str, since: float
    ) -> tuple[ImageMetadata | None, CaptureStatus, str]:
        """Wait (bounded) for the image to appear in the DAQ catalog."""
        where = f"DAQ folder {self.options.folder!r} of partition {self.options.partition!r}"
        while True:
            try:
                return self.store.find_image(obsid, self.options.folder), CaptureStatus.OK, ""
            except ImageEvictedError as e:
                return None, CaptureStatus.IMAGE_EVICTED, str(e)
            except ImageNotFoundError:
                waited = time.monotonic() - since
                if waited >= self.settings.daq_wait_timeout:
                    reason = f"image {obsid} not found in {where} after {waited:.1f} s"
                    self.log.warning("%s", reason)
                    return None, CaptureStatus.IMAGE_NOT_FOUND, reason
            except StoreUnavailableError:
                raise
            except DaqError as e:
                self.log.warning("%s cannot be looked up in %s: %s", obsid, where, e)
                return None, CaptureStatus.IMAGE_NOT_FOUND, str(e)
            await asyncio.sleep(_POLL_INTERVAL)

    async def _wait_complete(self, obsid: str, image: ImageMetadata, since: float) -> ImageMetadata:
        remaining = max(0.1, self.settings.daq_wait_timeout - (time.monotonic() - since))
        try:
            return await self.store.wait_complete(obsid, self.options.folder, timeout=remaining)
        except TimeoutError as e:
            self.log.warning("%s; capturing what is there", e)
            return image

    async def _register(
        self,
        obsid: str,
        image: ImageMetadata | None,
        trigger: Trigger,
        priority: int,
        image_type: str | None = None,
    ) -> bool:
        if image is not None:
            detectors = [d for location in image.locations for d in self.camera.reb(location).detectors]
        else:
            detectors = list(self.camera.detectors)
        if trigger is Trigger.CATCH_UP:
            priority = min(priority, self.catch_up_priority)
        return await self.delivery.register_image(
            obsid,
            camera=self.camera.name,
            day_obs=ImageName.parse(obsid).day_obs,
            expected={d.name: d.id for d in detectors},
            trigger=trigger,
            priority=priority,
            image_type=image_type,
        )

    async def _write_manifest(self, obsid: str, image: ImageMetadata) -> None:
        detectors = [d for location in image.locations for d in self.camera.reb(location).detectors]
        manifest = make_expected_sensors(self.camera, obsid, detectors)
        path = await asyncio.to_thread(self.staging.write_manifest, manifest)
        await self.delivery.manifest_written(obsid, os.fspath(path))

    async def _header(self, obsid: str, header_task: asyncio.Task[FetchedHeader] | None) -> FetchedHeader:
        saved = await asyncio.to_thread(self.staging.load_header, obsid)
        if saved is not None:
            return FetchedHeader(saved, "saved", None)
        header = await header_task if header_task is not None else FetchedHeader(None, "", None)
        if header.text is None:
            # A late header that arrived before the files are written is still used.
            announcement = self.headers.get(obsid)
            if announcement is not None:
                header = await self.headers.fetch(announcement)
            elif header_task is None:
                header = FetchedHeader(None, "", "no Header Service header for this image")
        if header.text is not None:
            await asyncio.to_thread(self.staging.save_header, obsid, header.text)
        else:
            self.log.warning(
                "%s: no Header Service header (%s); writing the Archiver's own metadata",
                obsid,
                header.problem,
            )
        return header

    async def _capture(
        self,
        obsid: str,
        names: Sequence[str],
        metadata: ExposureMetadata | None,
        header: FetchedHeader,
        on_final: Callable[[str, DetectorOutcome], Awaitable[None]],
    ) -> list[DetectorOutcome]:
        """Capture detectors, one task per DAQ source at once; final outcomes by detector number.

        ``on_final`` is told of each final outcome as it comes.

        Raises
        ------
        lsst.ts.archiver.error_codes.ArchiverFault
            If a capture hit a condition that stops the Archiver (the other
            sources are cancelled).
        """
        by_source: dict[str, list[str]] = {}
        for name in names:
            location = str(self.camera.reb_for(name).location)
            by_source.setdefault(location, []).append(name)
        results = await _gather_or_cancel(
            [
                self._capture_source(obsid, location, group, metadata, header, on_final)
                for location, group in by_source.items()
            ]
        )
        outcomes = [outcome for group in results for outcome in group]
        outcomes.sort(key=lambda o: o.number)
        return outcomes

    async def _recapture(
        self, obsid: str, names: Sequence[str], metadata: ExposureMetadata, header: FetchedHeader
    ) -> list[DetectorOutcome]:
        """Write written detector files again with a header (`LateHeaders`): outcomes only.

        The same capture, with its retries, but nothing is reported or
        recorded (the caller records the rewritten files).
        """
        return await self._capture(obsid, names, metadata, header, _outcome_only)

    async def _capture_source(
        self,
        obsid: str,
        location: str,
        names: list[str],
        metadata: ExposureMetadata | None,
        header: FetchedHeader,
        on_final: Callable[[str, DetectorOutcome], Awaitable[None]],
    ) -> list[DetectorOutcome]:
        remaining = list(names)
        finished: list[DetectorOutcome] = []
        delay = self.settings.retry_delay
        for attempt in range(1, self.settings.capture_attempts + 1):
            task = CaptureTask(
                options=self.options,
                obsid=obsid,
                location=location,
                detectors=tuple(remaining),
                metadata=metadata or ExposureMetadata(obsid=obsid),
                header_text=header.text,
                header_source=header.source,
                header_problem=header.problem,
            )
            outcome = await self.pool.run(task)
            retry: list[DetectorOutcome] = []
            fault: ArchiverFault | None = None
            for result in outcome.detectors:
                result = dataclasses.replace(result, number=self.camera.detector(result.name).id)
                code = result.status.fault_code
                if code is not None:
                    # The other detectors' outcomes are still recorded; this one stays pending.
                    if fault is None:
                        fault = ArchiverFault(
                            code, f"Capture of {obsid} {result.name} stopped: {result.description}"
                        )
                    continue
                if result.status.transient and attempt < self.settings.capture_attempts:
                    retry.append(result)
                    continue
                if result.status is not CaptureStatus.OK:
                    self.log.warning(
                        "%s %s: capture failed after %d attempt(s) (%s: %s)",
                        obsid,
                        result.name,
                        attempt,
                        result.status.name,
                        result.description,
                    )
                await on_final(obsid, result)
                finished.append(result)
            if fault is not None:
                raise fault
            if not retry:
                break
            for result in retry:
                self.log.warning(
                    "%s %s: attempt %d of %d failed (%s: %s); retrying in %.2f s",
                    obsid,
                    result.name,
                    attempt,
                    self.settings.capture_attempts,
                    result.status.name,
                    result.description,
                    delay,
                )
            remaining = [result.name for result in retry]
            await asyncio.sleep(delay)
            delay *= 2
        return finished

    async def _final(self, obsid: str, outcome: DetectorOutcome) -> None:
        # Announce the file first: the hand-over may complete the image (imageArchived).
        await self.reporter.detector_captured(obsid, outcome)
        if outcome.status is CaptureStatus.OK and outcome.path is not None:
            await self.delivery.file_written(
                obsid,
                outcome.name,
                outcome.path,
                size=outcome.size,
                checksum=outcome.checksum,
                measurements=_measurements(outcome),
            )
        else:
            await self.delivery.capture_failed(
                obsid,
                outcome.name,
                f"{outcome.status.name} ({int(outcome.status)}): {outcome.description}",
                status=int(outcome.status),
            )


async def _outcome_only(obsid: str, outcome: DetectorOutcome) -> None:
    """An ``on_final`` that reports and records nothing."""


def _describe_exception(error: BaseException) -> str:
    """``Type: message at file:line`` (the innermost frame), for an event's description."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ is not None else []
    if frames:
        text += f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}"
    return text


def _finite(value: float) -> float:
    """``value``, or 0.0 if unknown (NaN) or infinite."""
    return value if math.isfinite(value) else 0.0


def _measurements(outcome: DetectorOutcome) -> CaptureMeasurements:
    """What capture measured for a detector, as the ledger keeps it (unknown statistics 0.0)."""
    return CaptureMeasurements(
        retrieval_time=outcome.retrieval_time,
        write_time=outcome.write_time,
        median_signal=_finite(outcome.median_signal),
        noise=_finite(outcome.noise),
    )


async def _gather_or_cancel(coros: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """Run coroutines concurrently; if one raises (or this is cancelled), cancel and await the rest."""
    tasks = [asyncio.ensure_future(coro) for coro in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
