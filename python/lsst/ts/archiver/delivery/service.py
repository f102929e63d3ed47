"""`DeliveryService`: asyncio orchestration of every destination's delivery.

The CSC records what capture produced (`DeliveryService.register_image`,
`~DeliveryService.file_written`, `~DeliveryService.manifest_written`,
`~DeliveryService.capture_failed`); the service queues each file for every
enabled destination that takes it (its `Selection` of detectors and image
types) in the ledger and one `DestinationWorker` per
destination drains its own queue. Workers report final outcomes to one
`DeliveryTracker`, which calls back:

* ``on_image_in_oods(ImageInOods)`` per detector at each ``oods``
  destination (status 0 ok, 1 ingest failure, 2 metadata failure, 3
  transfer failure);
* ``on_image_delivered(ImageDelivered)`` once per destination and
  exposure, when every file the destination takes is there or finally
  failed;
* ``on_image_archived(ImageArchived)`` once per exposure, when every
  expected file is in the DBB (the ``dbb`` destinations, or all
  destinations if none has that role) or the rest finally failed, and once
  more after each `DeliveryService.retry_image` that reopened it;
* ``on_file_delivered(FileDelivered)`` per item and destination;
* ``on_ledger_error(Exception)`` when the ledger cannot be reached (the
  CSC's FAULT condition).

Callbacks run on the event loop and may be coroutine functions. The ledger
is reached only through the `~lsst.ts.archiver.ledger.LedgerRunner` given
(shared with the rest of the CSC); each worker runs its destination's
blocking work (transfers, Butler) in threads of its own.
"""

from __future__ import annotations

__all__ = ["DeliveryService"]

import asyncio
import dataclasses
import logging
import os
import socket
import time
import uuid
from collections.abc import Mapping, Sequence

from ..ledger import (
    MANIFEST_ITEM,
    CaptureMeasurements,
    CaptureState,
    DeliveryRecord,
    DeliveryStage,
    ImageProgress,
    LedgerError,
    LedgerRunner,
    PendingSummary,
    RetriedParts,
    Trigger,
)
from .config import DestinationConfig, DestinationRole
from .destination import Destination
from .keys import check_detector_name, check_image
from .results import FileDelivered, ImageArchived, ImageDelivered, ImageInOods, ResultCallback
from .tracker import DeliveryTracker
from .worker import DestinationWorker

_log = logging.getLogger(__name__)

FOLLOW_INTERVAL = 1.0
"""Seconds between the owner's looks at the items other processes settled."""

FOLLOW_OVERLAP = 30.0
"""Seconds each look reads back (transactions commit out of their time order)."""


class DeliveryService:
    """Deliver every captured file to every destination; report results.

    Parameters
    ----------
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        How to reach the ledger (the only state; a restarted service
        resumes from it). The service does not close it.
    destinations : sequence of `DestinationConfig` or `Destination`
        Configured destinations (disabled ones are ignored).
    worker_id : `str`, optional
        Identity of this process in claims (default host:pid:random).
    exclusive : `bool`, optional
        This service owns the ledger (the CSC's): at start it takes over
        every claim left by a previous run at once instead of waiting for
        their leases to expire; the claims of delivery processes alive in
        the ledger's worker registry (``run_archiver_worker --role
        delivery``) stay theirs. While it runs it reports the items those
        processes settle (their ``imageInOODS`` and the exposures they
        complete), every `FOLLOW_INTERVAL` seconds.
    settles_images : `bool`, optional
        Decide when an exposure is archived (see `DeliveryTracker`); False
        in a delivery process, whose results the Archiver reports.
    poll_interval : `float`, optional
        How often idle workers look for due retries (s).
    ingest_batch_size : `int`, optional
        Most items one ingest call takes.
    on_image_in_oods, on_image_archived, on_file_delivered, on_image_delivered : callables, optional
        Result callbacks (see module docstring).
    on_ledger_error : callable, optional
        Called with the exception when the ledger is unreachable.
    log : `logging.Logger`, optional
        Parent logger, e.g. a child of the CSC's log so that delivery's
        retries and failures become SAL ``logMessage`` events. The service,
        its tracker, its workers and the destinations it builds from
        configurations each log to a child of it. Default: each module's
        logger.
    """

    manifest_item = MANIFEST_ITEM

    def __init__(
        self,
        runner: LedgerRunner,
        destinations: Sequence[DestinationConfig | Destination],
        *,
        worker_id: str | None = None,
        exclusive: bool = True,
        settles_images: bool = True,
        poll_interval: float = 0.5,
        ingest_batch_size: int = 500,
        on_image_in_oods: ResultCallback[ImageInOods] | None = None,
        on_image_archived: ResultCallback[ImageArchived] | None = None,
        on_file_delivered: ResultCallback[FileDelivered] | None = None,
        on_image_delivered: ResultCallback[ImageDelivered] | None = None,
        on_ledger_error: ResultCallback[Exception] | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.runner = runner
        built = [d if isinstance(d, Destination) else Destination(d, log=log) for d in destinations]
        names = [d.name for d in built]
        if len(set(names)) != len(names):
            raise ValueError(f"Destination names must be unique, got {names}")
        self.destinations: dict[str, Destination] = {d.name: d for d in built if d.config.enabled}
        dbb = [n for n, d in self.destinations.items() if d.config.role is DestinationRole.DBB]
        self.archive_destinations: tuple[str, ...] = tuple(dbb or self.destinations)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.exclusive = exclusive
        self.poll_interval = poll_interval
        self.ingest_batch_size = ingest_batch_size
        self.log = _log if log is None else log.getChild(type(self).__name__)
        self._parent_log = log
        self.tracker = DeliveryTracker(
            runner,
            self.archive_destinations,
            selections={name: d.config.selection for name, d in self.destinations.items()},
            on_image_in_oods=on_image_in_oods,
            on_image_archived=on_image_archived,
            on_file_delivered=on_file_delivered,
            on_image_delivered=on_image_delivered,
            on_ledger_error=on_ledger_error,
            settles_images=settles_images,
            log=log,
        )
        self._workers: dict[str, DestinationWorker] = {}
        self._following: asyncio.Task[None] | None = None
        self._started = False

    # ------------------------------------------------------------------ callbacks (held by the tracker)

    @property
    def on_image_in_oods(self) -> ResultCallback[ImageInOods] | None:
        """Called with an `ImageInOods` per detector at each ``oods`` destination."""
        return self.tracker.on_image_in_oods

    @on_image_in_oods.setter
    def on_image_in_oods(self, callback: ResultCallback[ImageInOods] | None) -> None:
        self.tracker.on_image_in_oods = callback

    @property
    def on_image_archived(self) -> ResultCallback[ImageArchived] | None:
        """Called with an `ImageArchived` once per exposure."""
        return self.tracker.on_image_archived

    @on_image_archived.setter
    def on_image_archived(self, callback: ResultCallback[ImageArchived] | None) -> None:
        self.tracker.on_image_archived = callback

    @property
    def on_file_delivered(self) -> ResultCallback[FileDelivered] | None:
        """Called with a `FileDelivered` per item and destination."""
        return self.tracker.on_file_delivered

    @on_file_delivered.setter
    def on_file_delivered(self, callback: ResultCallback[FileDelivered] | None) -> None:
        self.tracker.on_file_delivered = callback

    @property
    def on_image_delivered(self) -> ResultCallback[ImageDelivered] | None:
        """Called with an `ImageDelivered` per destination and exposure."""
        return self.tracker.on_image_delivered

    @on_image_delivered.setter
    def on_image_delivered(self, callback: ResultCallback[ImageDelivered] | None) -> None:
        self.tracker.on_image_delivered = callback

    @property
    def on_ledger_error(self) -> ResultCallback[Exception] | None:
        """Called with the exception when the ledger is unreachable."""
        return self.tracker.on_ledger_error

    @on_ledger_error.setter
    def on_ledger_error(self, callback: ResultCallback[Exception] | None) -> None:
        self.tracker.on_ledger_error = callback

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start a worker per destination and resume unfinished work from the ledger."""
        if self._started:
            return
        ledger = self.runner.ledger
        if self.exclusive:
            live = {worker.name for worker in await self.runner.run(ledger.workers.live)}
            for name in self.destinations:
                released = await self.runner.run(ledger.release_claims, name, keep=live)
                if released:
                    self.log.info(
                        "Destination %s: took over %d unfinished items of a previous run", name, released
                    )
        everything = [name for name, d in self.destinations.items() if d.config.selection.takes_everything]
        added = await self.runner.run(ledger.requeue_unqueued, everything)
        added += await self._requeue_selected()
        if added:
            self.log.info(
                "Queued %d files of unfinished images for destinations that did not have them", added
            )
        for name, destination in self.destinations.items():
            worker = DestinationWorker(
                self.runner,
                destination,
                self.tracker,
                worker_id=self.worker_id,
                poll_interval=self.poll_interval,
                ingest_batch_size=self.ingest_batch_size,
                log=self._parent_log,
            )
            self._workers[name] = worker
            worker.start()
        if self.exclusive:
            self._following = asyncio.create_task(self._follow_others(), name="delivery:follow")
        self._started = True
        for image in await self.runner.run(ledger.unfinished_images):
            await self.tracker.check_archived(image.name)
            for destination in self.destinations.values():
                await self.tracker.check_delivered(image.name, destination.config)

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers (running transfers get ``timeout`` s to finish) and
        close the destinations. The ledger runner stays open."""
        following, self._following = self._following, None
        if following is not None:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
        await asyncio.gather(*(w.stop(timeout) for w in self._workers.values()))
        self._workers.clear()
        self._started = False

    async def __aenter__(self) -> DeliveryService:
        await self.start()
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ capture side

    async def register_image(
        self,
        obsid: str,
        *,
        camera: str,
        day_obs: int,
        expected: Mapping[str, int],
        trigger: Trigger = Trigger.LIVE,
        header_source: str | None = None,
        priority: int = 0,
        image_type: str | None = None,
    ) -> bool:
        """Record an image and its expected detectors (idempotent); True if new.

        ``image_type`` (the camera's ``imageType``, if known) decides which
        destinations with ``image_types`` take it.

        Raises
        ------
        UnsafeNameError
            If the obsid, instrument, day_obs or a detector name is malformed
            (nothing is recorded).
        """
        check_image(camera, day_obs, obsid)
        for name in expected:
            check_detector_name(name)
        return await self.runner.run(
            self.runner.ledger.register_image,
            obsid,
            camera=camera,
            day_obs=day_obs,
            expected=expected,
            trigger=trigger,
            header_source=header_source,
            priority=priority,
            image_type=image_type,
        )

    async def takers(self, obsid: str, detector: str) -> list[str]:
        """The enabled destinations that take a detector's file of an image.

        Raises
        ------
        lsst.ts.archiver.ledger.UnknownImageError
            If the image is not in the ledger.
        """
        if all(d.config.selection.takes_everything for d in self.destinations.values()):
            return list(self.destinations)
        image = await self.tracker.image(obsid)
        return [
            name
            for name, d in self.destinations.items()
            if d.config.selection.takes(image.camera, image.image_type, detector)
        ]

    async def file_written(
        self,
        obsid: str,
        detector: str,
        path: str,
        *,
        size: int | None = None,
        checksum: str | None = None,
        measurements: CaptureMeasurements | None = None,
    ) -> None:
        """A detector's file (and sidecar) is written: queue it for every destination that takes it.

        ``measurements`` (capture timings and pixel statistics, for
        ``focalPlaneCapture``) are recorded with the file.
        """
        path = os.path.abspath(path)
        takers = await self.takers(obsid, detector)
        await self.runner.run(
            self.runner.ledger.record_capture,
            obsid,
            detector,
            path=path,
            size=size,
            checksum=checksum,
            destinations=takers,
            measurements=measurements,
        )
        self._wake()
        # A destination that does not take this file may have had all of its own before
        # the image's capture ended: it is complete now if this was the last capture.
        others = [d for name, d in self.destinations.items() if name not in takers]
        if any(d.name in self.archive_destinations for d in others):
            await self.tracker.check_archived(obsid)
        for destination in others:
            await self.tracker.check_delivered(obsid, destination.config)

    async def file_rewritten(
        self, obsid: str, detector: str, path: str, *, size: int | None = None, checksum: str | None = None
    ) -> None:
        """A written detector file was rewritten (e.g. with a late header): record its new size and checksum.

        Deliver it again with `redeliver`.
        """
        await self.runner.run(
            self.runner.ledger.record_rewrite,
            obsid,
            detector,
            path=os.path.abspath(path),
            size=size,
            checksum=checksum,
        )

    async def redeliver(
        self,
        obsid: str,
        detectors: Sequence[str],
        reason: str,
        *,
        destinations: Sequence[str] | None = None,
    ) -> dict[str, tuple[str, ...]]:
        """Deliver written files again at every enabled destination (or at
        ``destinations`` of them): transfer (overwrite) and re-ingest.

        Each destination's Butler dataset of a file is replaced in place
        (same dataset id). The new outcomes are reported as usual, with
        ``reason`` in each ``imageInOODS`` description; ``imageArchived`` is
        written again only if an outcome at an archive destination changes.

        Parameters
        ----------
        obsid : `str`
            The image.
        detectors : sequence of `str`
            Detectors whose written file is delivered again.
        reason : `str`
            Why (e.g. ``late Header Service header applied``).
        destinations : sequence of `str`, optional
            Only these enabled destinations (default: every enabled one).

        Returns
        -------
        requeued : `dict` [`str`, `tuple` [`str`, ...]]
            Destination → detectors queued again there.

        Raises
        ------
        lsst.ts.archiver.ledger.UnknownImageError
            If the image, or a written file of one of the detectors, is not
            in the ledger (nothing is queued).
        lsst.ts.archiver.ledger.LedgerError
            If the ledger is unreachable.
        """
        targets = [d for d in self.destinations if destinations is None or d in destinations]
        requeued: dict[str, tuple[str, ...]] = {}
        by_targets: dict[tuple[str, ...], list[str]] = {}
        for detector in detectors:
            takers = tuple(d for d in await self.takers(obsid, detector) if d in targets)
            by_targets.setdefault(takers, []).append(detector)
        for takers, names in by_targets.items():
            if takers:
                done = await self.runner.run(
                    self.runner.ledger.requeue_items, obsid, names, list(takers), reason
                )
                for name, items in done.items():
                    requeued[name] = requeued.get(name, ()) + items
        self._wake()
        return requeued

    async def manifest_written(self, obsid: str, path: str) -> None:
        """The image's ``expectedSensors.json`` is written: queue it for every
        destination that takes a file of the image (one that takes only some
        detectors gets a manifest of those)."""
        path = os.path.abspath(path)
        takers = await self._manifest_takers(obsid)
        await self.runner.run(self.runner.ledger.set_manifest, obsid, path, destinations=takers)
        self._wake()

    async def _manifest_takers(self, obsid: str) -> list[str]:
        """The enabled destinations that take some detector of an image."""
        if all(d.config.selection.takes_everything for d in self.destinations.values()):
            return list(self.destinations)
        image = await self.tracker.image(obsid)
        names = [d.name for d in await self.runner.run(self.runner.ledger.detectors, obsid)]
        return [
            name
            for name, d in self.destinations.items()
            if d.config.selection.expected(image.camera, image.image_type, names)
        ]

    async def _requeue_selected(self) -> int:
        """Queue, for destinations that take only some files, what they lack of unfinished images.

        The counterpart of `~lsst.ts.archiver.ledger.Ledger.requeue_unqueued`
        (which queues every file) for selective destinations; idempotent.
        """
        selective = {
            n: d.config.selection
            for n, d in self.destinations.items()
            if not d.config.selection.takes_everything
        }
        if not selective:
            return 0
        ledger = self.runner.ledger
        added = 0
        for image in await self.runner.run(ledger.unfinished_images):
            detectors = await self.runner.run(ledger.detectors, image.name)
            names = [d.name for d in detectors]
            for destination, selection in selective.items():
                wanted = set(selection.expected(image.camera, image.image_type, names))
                if not wanted:
                    continue
                for detector in detectors:
                    if detector.name in wanted and detector.state is CaptureState.WRITTEN and detector.path:
                        added += await self.runner.run(
                            ledger.enqueue, image.name, detector.name, [destination], detector.path
                        )
                if image.manifest_path:
                    added += await self.runner.run(
                        ledger.enqueue, image.name, MANIFEST_ITEM, [destination], image.manifest_path
                    )
        return added

    async def capture_failed(
        self, obsid: str, detector: str, reason: str, *, status: int | None = None
    ) -> None:
        """A detector's capture finally failed (counts as missing for ``imageArchived``).

        ``status`` is the failure's status code (an
        `~lsst.ts.archiver.ErrorCode` value), recorded with the reason.
        """
        await self.runner.run(
            self.runner.ledger.record_capture_failure, obsid, detector, reason, status=status
        )
        await self.tracker.check_archived(obsid)
        for destination in self.destinations.values():
            await self.tracker.check_delivered(obsid, destination.config)

    async def _follow_others(self) -> None:
        """Report what other processes settle (see ``exclusive``), each item once.

        Reads back `FOLLOW_OVERLAP` seconds each time, so that an item whose
        transaction committed after a later one's is not missed.
        """
        since = time.time()
        seen: dict[tuple[int, float], None] = {}
        destinations = {name: d.config for name, d in self.destinations.items()}
        while True:
            await asyncio.sleep(FOLLOW_INTERVAL)
            try:
                items = await self.runner.run(
                    self.runner.ledger.settled_since, since - FOLLOW_OVERLAP, by_others_than=self.worker_id
                )
                new = [item for item in items if (item.id, _settled_at(item)) not in seen]
                await self.tracker.report_settled(new, destinations)
            except LedgerError as e:
                await self.tracker.ledger_error(e)
                continue
            except Exception:
                self.log.exception("Reporting the items other delivery processes settled failed")
                continue
            for item in new:
                seen[item.id, _settled_at(item)] = None
                since = max(since, _settled_at(item))
            for key in [key for key in seen if key[1] < since - FOLLOW_OVERLAP]:
                del seen[key]

    @property
    def busy(self) -> bool:
        """A transfer or an ingest batch is running now."""
        return any(w.in_flight for w in self._workers.values())

    # ------------------------------------------------------------------ operator side

    async def progress(self, obsid: str) -> ImageProgress:
        """What is still missing for an image at the archive destinations."""
        return await self.runner.run(self.runner.ledger.progress, obsid, self.archive_destinations)

    async def queue_depths(self) -> dict[str, int]:
        """Destination → items not finished (0 for idle destinations)."""
        depths = await self.runner.run(self.runner.ledger.queue_depths)
        return {name: depths.get(name, 0) for name in self.destinations}

    async def pending_summary(self) -> PendingSummary:
        """Backlog for ``archiverHealth`` (queue depth 0 for idle destinations)."""
        summary = await self.runner.run(self.runner.ledger.pending_summary)
        depths = {name: summary.queue_depths.get(name, 0) for name in self.destinations}
        return dataclasses.replace(summary, queue_depths=depths)

    async def retry_failed(self, *, destination: str | None = None, obsid: str | None = None) -> int:
        """Re-queue finally failed items; returns how many."""
        count = await self.runner.run(self.runner.ledger.retry_failed, destination=destination, image=obsid)
        self._wake()
        return count

    async def retry_image(
        self, obsid: str, *, destination: str | None = None, captures: bool = True
    ) -> RetriedParts:
        """Put what finally failed for an image back to work (operator retry).

        Failed deliveries are queued again at ``destination`` (default:
        every enabled destination) and, with ``captures``, failed captures
        become pending again (the caller captures them). If that can change
        the image's ``imageArchived`` (a capture, or an item at an archive
        destination), the image is reopened in the same ledger transaction,
        so the tracker reports ``imageArchived`` again once the retried parts
        are settled.

        Parameters
        ----------
        obsid : `str`
            The image.
        destination : `str` or `None`, optional
            Name of an enabled destination; None: all of them.
        captures : `bool`, optional
            Also reset the finally failed captures.

        Returns
        -------
        retried : `~lsst.ts.archiver.ledger.RetriedParts`
            What was put back to work (empty: nothing had finally failed).

        Raises
        ------
        ValueError
            If ``destination`` is not an enabled destination.
        lsst.ts.archiver.ledger.UnknownImageError
            If the image is not in the ledger.
        lsst.ts.archiver.ledger.LedgerError
            If the ledger is unreachable.
        """
        if destination is not None and destination not in self.destinations:
            enabled = ", ".join(self.destinations) or "none"
            raise ValueError(f"{destination!r} is not an enabled destination (enabled: {enabled})")
        destinations = [destination] if destination is not None else list(self.destinations)
        retried = await self.runner.run(
            self.runner.ledger.retry_image,
            obsid,
            captures=captures,
            destinations=destinations,
            archive_destinations=self.archive_destinations,
        )
        self._wake()
        return retried

    async def wait_until_idle(self, timeout: float, *, interval: float = 0.05) -> None:
        """Wait until no item is left to transfer or ingest (for tests and shutdown).

        Raises
        ------
        TimeoutError
            If work is still pending after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = await self._unfinished()
            if not left and not any(w.in_flight for w in self._workers.values()):
                # A claim may have been recorded between the two checks: confirm.
                left = await self._unfinished()
                if not left:
                    return
            if time.monotonic() > deadline:
                summary = ", ".join(f"{d.destination}:{d.image}:{d.item}:{d.stage.value}" for d in left[:10])
                raise TimeoutError(f"{len(left)} items still pending after {timeout} s: {summary}")
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------

    async def _unfinished(self) -> list[DeliveryRecord]:
        left: list[DeliveryRecord] = []
        for name in self.destinations:
            left.extend(await self.runner.run(self.runner.ledger.unfinished_deliveries, name))
        return left

    def _wake(self) -> None:
        for worker in self._workers.values():
            worker.wake()


def _settled_at(item: DeliveryRecord) -> float:
    """When an item was done or finally failed."""
    settled = item.done_at if item.stage is DeliveryStage.DONE else item.failed_at
    return settled or 0.0
