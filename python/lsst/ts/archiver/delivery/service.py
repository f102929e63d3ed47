"""`DeliveryService`: asyncio orchestration of every destination's delivery.

The CSC records what capture produced (`DeliveryService.register_image`,
`~DeliveryService.file_written`, `~DeliveryService.manifest_written`,
`~DeliveryService.capture_failed`); the service queues each file for every
enabled destination in the ledger and one `DestinationWorker` per
destination drains its own queue. Results come back through callbacks:

* ``on_image_in_oods(ImageInOods)`` per detector at each ``oods``
  destination (status 0 ok, 1 ingest failure, 2 metadata failure, 3
  transfer failure);
* ``on_image_archived(ImageArchived)`` once per exposure, when every
  expected file is in the DBB (the ``dbb`` destinations, or all
  destinations if none has that role) or the rest finally failed;
* ``on_file_delivered(FileDelivered)`` per item and destination;
* ``on_ledger_error(Exception)`` when the ledger cannot be reached (the
  CSC's FAULT condition).

Callbacks run on the event loop and may be coroutine functions. Blocking
work (database, transfers, Butler) runs in two thread pools: a small one for
the ledger and one sized for the transfers.
"""

from __future__ import annotations

__all__ = ["DeliveryService"]

import asyncio
import concurrent.futures
import dataclasses
import functools
import inspect
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ..ledger import (
    MANIFEST_ITEM,
    DeliveryRecord,
    DeliveryStatus,
    ImageProgress,
    ImageRecord,
    Ledger,
    PendingSummary,
    Trigger,
)
from .config import DestinationConfig, DestinationRole
from .destination import Destination
from .keys import check_detector_name, check_image
from .results import FileDelivered, ImageArchived, ImageInOods, ResultCallback
from .worker import DestinationWorker

_log = logging.getLogger(__name__)

T = TypeVar("T")


class DeliveryService:
    """Deliver every captured file to every destination; report results.

    Parameters
    ----------
    ledger : `~lsst.ts.archiver.ledger.Ledger`
        The ledger (the only state; a restarted service resumes from it).
    destinations : sequence of `DestinationConfig` or `Destination`
        Configured destinations (disabled ones are ignored).
    worker_id : `str`, optional
        Identity of this process in claims (default host:pid:random).
    exclusive : `bool`, optional
        This service is the only one delivering to these destinations from
        this ledger: at start it takes over every claim left by a previous
        run at once instead of waiting for their leases to expire.
    poll_interval : `float`, optional
        How often idle workers look for due retries (s).
    ingest_batch_size : `int`, optional
        Most items one ingest call takes.
    on_image_in_oods, on_image_archived, on_file_delivered : callables, optional
        Result callbacks (see module docstring).
    on_ledger_error : callable, optional
        Called with the exception when the ledger is unreachable.
    """

    manifest_item = MANIFEST_ITEM

    def __init__(
        self,
        ledger: Ledger,
        destinations: Sequence[DestinationConfig | Destination],
        *,
        worker_id: str | None = None,
        exclusive: bool = True,
        poll_interval: float = 0.5,
        ingest_batch_size: int = 500,
        on_image_in_oods: ResultCallback[ImageInOods] | None = None,
        on_image_archived: ResultCallback[ImageArchived] | None = None,
        on_file_delivered: ResultCallback[FileDelivered] | None = None,
        on_ledger_error: ResultCallback[Exception] | None = None,
    ) -> None:
        self.ledger = ledger
        built = [d if isinstance(d, Destination) else Destination(d) for d in destinations]
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
        self.on_image_in_oods = on_image_in_oods
        self.on_image_archived = on_image_archived
        self.on_file_delivered = on_file_delivered
        self.on_ledger_error = on_ledger_error
        transfer_threads = sum(d.config.concurrency for d in self.destinations.values())
        self._io_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=transfer_threads + 2 * len(self.destinations) + 1, thread_name_prefix="delivery-io"
        )
        self._db_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="delivery-db")
        self._workers: dict[str, DestinationWorker] = {}
        self._images: dict[str, ImageRecord] = {}
        self._started = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start a worker per destination and resume unfinished work from the ledger."""
        if self._started:
            return
        if self.exclusive:
            for name in self.destinations:
                released = await self._db(self.ledger.release_claims, name)
                if released:
                    _log.info(
                        "Destination %s: took over %d unfinished items of a previous run", name, released
                    )
        added = await self._db(self.ledger.requeue_unqueued, list(self.destinations))
        if added:
            _log.info("Queued %d files of unfinished images for destinations that did not have them", added)
        for name, destination in self.destinations.items():
            worker = DestinationWorker(self, destination)
            self._workers[name] = worker
            worker.start()
        self._started = True
        for image in await self._db(self.ledger.unfinished_images):
            await self._check_archived(image.name)

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop the workers (running transfers get ``timeout`` s to finish) and close."""
        await asyncio.gather(*(w.stop(timeout) for w in self._workers.values()))
        self._workers.clear()
        for destination in self.destinations.values():
            try:
                await asyncio.wait_for(self._io(destination.close), timeout)
            except TimeoutError:
                _log.warning(
                    "Destination %s: its Butler did not close within %s s", destination.name, timeout
                )
        self._io_pool.shutdown(wait=False, cancel_futures=True)
        self._db_pool.shutdown(wait=False, cancel_futures=True)
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
    ) -> bool:
        """Record an image and its expected detectors (idempotent); True if new.

        Raises
        ------
        UnsafeNameError
            If the obsid, instrument, day_obs or a detector name is malformed
            (nothing is recorded).
        """
        check_image(camera, day_obs, obsid)
        for name in expected:
            check_detector_name(name)
        return await self._db(
            self.ledger.register_image,
            obsid,
            camera=camera,
            day_obs=day_obs,
            expected=expected,
            trigger=trigger,
            header_source=header_source,
            priority=priority,
        )

    async def file_written(
        self, obsid: str, detector: str, path: str, *, size: int | None = None, checksum: str | None = None
    ) -> None:
        """A detector's file (and sidecar) is written: queue it for every destination."""
        path = os.path.abspath(path)
        await self._db(
            self.ledger.record_capture,
            obsid,
            detector,
            path=path,
            size=size,
            checksum=checksum,
            destinations=list(self.destinations),
        )
        self._wake()

    async def manifest_written(self, obsid: str, path: str) -> None:
        """The image's ``expectedSensors.json`` is written: queue it for every destination."""
        path = os.path.abspath(path)
        await self._db(self.ledger.set_manifest, obsid, path, destinations=list(self.destinations))
        self._wake()

    async def capture_failed(self, obsid: str, detector: str, reason: str) -> None:
        """A detector's capture finally failed (counts as missing for ``imageArchived``)."""
        await self._db(self.ledger.record_capture_failure, obsid, detector, reason)
        await self._check_archived(obsid)

    # ------------------------------------------------------------------ operator side

    async def progress(self, obsid: str) -> ImageProgress:
        """What is still missing for an image at the archive destinations."""
        return await self._db(self.ledger.progress, obsid, self.archive_destinations)

    async def queue_depths(self) -> dict[str, int]:
        """Destination → items not finished (0 for idle destinations)."""
        depths = await self._db(self.ledger.queue_depths)
        return {name: depths.get(name, 0) for name in self.destinations}

    async def pending_summary(self) -> PendingSummary:
        """Backlog for ``archiverHealth`` (queue depth 0 for idle destinations)."""
        summary = await self._db(self.ledger.pending_summary)
        depths = {name: summary.queue_depths.get(name, 0) for name in self.destinations}
        return dataclasses.replace(summary, queue_depths=depths)

    async def retry_failed(self, *, destination: str | None = None, obsid: str | None = None) -> int:
        """Re-queue finally failed items; returns how many."""
        count = await self._db(self.ledger.retry_failed, destination=destination, image=obsid)
        self._wake()
        return count

    async def wait_until_idle(self, timeout: float, *, interval: float = 0.05) -> None:
        """Wait until no item is left to transfer or ingest (for tests and shutdown).

        Raises
        ------
        TimeoutError
            If work is still pending after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            left: list[DeliveryRecord] = []
            for name in self.destinations:
                left.extend(await self._db(self.ledger.unfinished_deliveries, name))
            if not left and not any(w.in_flight for w in self._workers.values()):
                # A claim may have been recorded between the two checks: confirm.
                for name in self.destinations:
                    left.extend(await self._db(self.ledger.unfinished_deliveries, name))
                if not left:
                    return
            if time.monotonic() > deadline:
                summary = ", ".join(f"{d.destination}:{d.image}:{d.item}:{d.stage.value}" for d in left[:10])
                raise TimeoutError(f"{len(left)} items still pending after {timeout} s: {summary}")
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------ internals used by workers

    def _wake(self) -> None:
        for worker in self._workers.values():
            worker.wake()

    async def _db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_pool, functools.partial(function, *args, **kwargs))

    async def _io(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io_pool, functools.partial(function, *args))

    async def _image(self, name: str) -> ImageRecord:
        image = self._images.get(name)
        if image is None:
            image = await self._db(self.ledger.image, name)
            if len(self._images) > 10_000:
                self._images.clear()
            self._images[name] = image
        return image

    async def _emit(self, callback: ResultCallback[Any] | None, payload: Any) -> None:
        if callback is None:
            return
        try:
            result = callback(payload)
            if inspect.isawaitable(result):
                await result
        except Exception:
            _log.exception("Result callback %r failed for %s", callback, payload)

    async def _ledger_failed(self, error: Exception) -> None:
        _log.error("Ledger unavailable: %s", error)
        await self._emit(self.on_ledger_error, error)

    async def _item_final(
        self,
        destination: Destination,
        image: ImageRecord,
        item: DeliveryRecord,
        status: DeliveryStatus,
        description: str,
        uri: str | None,
        *,
        check_archive: bool = True,
    ) -> None:
        role = destination.config.role
        await self._emit(
            self.on_file_delivered,
            FileDelivered(
                camera=image.camera,
                obsid=image.name,
                item=item.item,
                destination=destination.name,
                role=role.value,
                status=status,
                description=description,
                uri=uri,
                attempts=item.attempts,
            ),
        )
        if item.item != MANIFEST_ITEM and role is DestinationRole.OODS:
            raft, _, sensor = item.item.partition("_")
            await self._emit(
                self.on_image_in_oods,
                ImageInOods(
                    camera=image.camera,
                    obsid=image.name,
                    raft=raft,
                    sensor=sensor,
                    status_code=int(status),
                    description=description or f"{item.item} ingested into {destination.name}",
                    destination=destination.name,
                ),
            )
        if check_archive and destination.name in self.archive_destinations:
            await self._check_archived(image.name)

    async def _check_archived(self, obsid: str) -> None:
        if not self.archive_destinations:
            return
        if not await self._db(self.ledger.is_settled, obsid, self.archive_destinations):
            return
        progress = await self._db(self.ledger.progress, obsid, self.archive_destinations)
        if not progress.complete:
            return
        missing = set(progress.capture_failed)
        reasons = [f"{name}: capture failed: {why}" for name, why in progress.capture_failed.items()]
        for destination, failed in progress.failed.items():
            for name, why in failed.items():
                if name == MANIFEST_ITEM:
                    continue
                missing.add(name)
                reasons.append(f"{name} at {destination}: {why}")
        expected = progress.expected
        missing_sorted = [name for name in expected if name in missing]
        archived = len(expected) - len(missing_sorted)
        where = ", ".join(self.archive_destinations)
        if missing_sorted:
            description = f"{archived} of {len(expected)} files archived in {where}; missing: " + "; ".join(
                reasons
            )
        else:
            description = f"All {len(expected)} files archived in {where}"
        status = 0 if not missing_sorted else 1
        if await self._db(self.ledger.mark_archived, obsid, status, description):
            await self._emit(
                self.on_image_archived,
                ImageArchived(
                    camera=progress.image.camera,
                    obsid=obsid,
                    expected_sensors=len(expected),
                    archived_sensors=archived,
                    missing_sensors=":".join(missing_sorted),
                    status_code=status,
                    description=description,
                ),
            )
