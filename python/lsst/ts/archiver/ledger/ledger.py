"""`Ledger`: the facade over the ledger's managers.

`Ledger` is a blocking API (SQLAlchemy); asyncio callers run it in a thread
(`LedgerRunner` does that). Every write is one short transaction. Each
concept has its manager over one shared `LedgerDatabase`, reachable as an
attribute; the facade's methods delegate to them:

* `ImageManager` (``ledger.images``): images, expected detectors, capture;
* `QueueManager` (``ledger.queue``): the delivery queue and its claims;
* `ReportManager` (``ledger.reports``): read-only summaries;
* `LockManager` (``ledger.locks``): named locks;
* `ExposureManager` (``ledger.exposures``): each destination's outcome of
  each exposure;
* `WorkerRegistry` (``ledger.workers``): heartbeats of worker processes
  (no facade methods: use the attribute).
"""

from __future__ import annotations

__all__ = ["Ledger"]

import os
from collections.abc import Collection, Iterable, Mapping

from .database import LedgerDatabase
from .exposures import ExposureManager
from .images import ImageManager
from .locks import LockManager
from .queue import QueueManager
from .records import (
    CaptureMeasurements,
    DeliveryRecord,
    DetectorRecord,
    ExposureDelivery,
    FailureRecord,
    ImageProgress,
    ImageRecord,
    PendingSummary,
    RetriedParts,
    StageLatency,
)
from .reports import ReportManager
from .states import DeliveryStage, DeliveryStatus, Trigger
from .workers import WorkerRegistry


class Ledger:
    """Durable record of images, detector files and deliveries.

    Opening it creates the tables of an empty database (if ``create``) and
    upgrades a ledger of an older schema version in place.

    Parameters
    ----------
    url : `str` or `os.PathLike`
        ``sqlite:///path`` (or a plain path) or
        ``postgresql+psycopg://user@host:port/database``.
    create : `bool`, optional
        Create the tables if the database has none.
    echo : `bool`, optional
        Log SQL statements.

    Attributes
    ----------
    database : `LedgerDatabase`
        Connection, transactions and schema.
    images : `ImageManager`
        Images and the capture state of their detectors.
    queue : `QueueManager`
        The delivery queue of every destination.
    reports : `ReportManager`
        Read-only summaries.
    locks : `LockManager`
        Named locks.
    exposures : `ExposureManager`
        Each destination's outcome of each exposure.
    workers : `WorkerRegistry`
        Heartbeats of the worker processes sharing the ledger.

    Raises
    ------
    LedgerSchemaError
        If the database holds a ledger of a schema version this code can
        neither use nor upgrade, or has no ledger and ``create`` is False.
    LedgerError
        If the database cannot be reached.
    """

    def __init__(self, url: str | os.PathLike[str], *, create: bool = True, echo: bool = False) -> None:
        self.database = LedgerDatabase(url, create=create, echo=echo)
        self.queue = QueueManager(self.database)
        self.images = ImageManager(self.database, self.queue)
        self.reports = ReportManager(self.database, self.images, self.queue)
        self.locks = LockManager(self.database)
        self.exposures = ExposureManager(self.database)
        self.workers = WorkerRegistry(self.database)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the database (with its password)."""
        return self.database.url

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.database.dialect

    def close(self) -> None:
        """Release database connections."""
        self.database.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    # ------------------------------------------------------------------
    # images and capture (ImageManager)

    def register_image(
        self,
        name: str,
        *,
        camera: str,
        day_obs: int,
        expected: Mapping[str, int],
        trigger: Trigger = Trigger.LIVE,
        header_source: str | None = None,
        priority: int = 0,
        image_type: str | None = None,
        now: float | None = None,
    ) -> bool:
        """Record an image and its expected detectors (idempotent).

        See `ImageManager.register_image`.
        """
        return self.images.register_image(
            name,
            camera=camera,
            day_obs=day_obs,
            expected=expected,
            trigger=trigger,
            header_source=header_source,
            priority=priority,
            image_type=image_type,
            now=now,
        )

    def record_found(
        self,
        name: str,
        *,
        camera: str,
        day_obs: int,
        expected: Mapping[str, int],
        where: str,
        now: float | None = None,
    ) -> bool:
        """Record an image found complete at an archive destination as archived.

        See `ImageManager.record_found`.
        """
        return self.images.record_found(
            name, camera=camera, day_obs=day_obs, expected=expected, where=where, now=now
        )

    def set_header_source(self, name: str, header_source: str, *, note: str | None = None) -> None:
        """Record where the header of the image's files came from (and what became of a late one).

        See `ImageManager.set_header_source`.
        """
        self.images.set_header_source(name, header_source, note=note)

    def set_header_pending(self, name: str, url: str, *, note: str) -> None:
        """Record that a late header (from ``url``) is being applied to the image's files.

        See `ImageManager.set_header_pending`.
        """
        self.images.set_header_pending(name, url, note=note)

    def set_manifest(
        self, name: str, path: str, *, destinations: Iterable[str] = (), now: float | None = None
    ) -> None:
        """Record the path of the image's ``expectedSensors.json``; queue it for ``destinations``."""
        self.images.set_manifest(name, path, destinations=destinations, now=now)

    def record_capture(
        self,
        image: str,
        detector: str,
        *,
        path: str,
        size: int | None = None,
        checksum: str | None = None,
        destinations: Iterable[str] = (),
        now: float | None = None,
        measurements: CaptureMeasurements | None = None,
    ) -> None:
        """Record that a detector's file is written (idempotent), with what capture measured.

        See `ImageManager.record_capture`.
        """
        self.images.record_capture(
            image,
            detector,
            path=path,
            size=size,
            checksum=checksum,
            destinations=destinations,
            now=now,
            measurements=measurements,
        )

    def record_capture_failure(
        self,
        image: str,
        detector: str,
        reason: str,
        *,
        status: int | None = None,
        now: float | None = None,
    ) -> None:
        """Record that a detector's capture finally failed, with the reason and status code.

        See `ImageManager.record_capture_failure`.
        """
        self.images.record_capture_failure(image, detector, reason, status=status, now=now)

    def record_rewrite(
        self,
        image: str,
        detector: str,
        *,
        path: str,
        size: int | None = None,
        checksum: str | None = None,
        now: float | None = None,
    ) -> None:
        """Record that a written detector file was rewritten (new size and checksum).

        See `ImageManager.record_rewrite`.
        """
        self.images.record_rewrite(image, detector, path=path, size=size, checksum=checksum, now=now)

    def mark_archived(self, name: str, status: int, description: str, *, now: float | None = None) -> bool:
        """Record that an image is archived (or finally incomplete); only once.

        See `ImageManager.mark_archived`.
        """
        return self.images.mark_archived(name, status, description, now=now)

    def record_outcome(self, outcome: ExposureDelivery, *, now: float | None = None) -> bool:
        """Record a destination's outcome of an exposure; True if new or changed.

        See `ExposureManager.record_outcome`.
        """
        return self.exposures.record_outcome(outcome, now=now)

    def reopen_image(self, name: str) -> bool:
        """Clear an image's archived state: ``imageArchived`` is decided again.

        See `ImageManager.reopen_image`.
        """
        return self.images.reopen_image(name)

    def retry_image(
        self,
        name: str,
        *,
        captures: bool = True,
        destinations: Collection[str] | None = None,
        archive_destinations: Collection[str] | None = None,
        now: float | None = None,
    ) -> RetriedParts:
        """Put what finally failed for an image back to work (operator retry), in one transaction.

        See `ImageManager.retry_image`.
        """
        return self.images.retry_image(
            name,
            captures=captures,
            destinations=destinations,
            archive_destinations=archive_destinations,
            now=now,
        )

    def image(self, name: str) -> ImageRecord:
        """Return an image (`UnknownImageError` if it is not in the ledger)."""
        return self.images.image(name)

    def has_image(self, name: str) -> bool:
        """True if the image is in the ledger."""
        return self.images.has_image(name)

    def detectors(self, image: str) -> list[DetectorRecord]:
        """Expected detectors of an image with their capture state, by number."""
        return self.images.detectors(image)

    def unfinished_images(self) -> list[ImageRecord]:
        """Images not archived yet (the work to resume after a restart), oldest first."""
        return self.images.unfinished_images()

    def images_with_header_pending(self) -> list[ImageRecord]:
        """Images whose files are being rewritten with a late header, oldest first."""
        return self.images.images_with_header_pending()

    def images_by_header_source(self, header_source: str, *, captured_since: float) -> list[ImageRecord]:
        """Images with that header source captured since ``captured_since``, oldest first.

        See `ImageManager.images_by_header_source`.
        """
        return self.images.images_by_header_source(header_source, captured_since=captured_since)

    # ------------------------------------------------------------------
    # delivery queue (QueueManager)

    def enqueue(
        self,
        image: str,
        item: str,
        destinations: Iterable[str],
        source: str,
        *,
        now: float | None = None,
    ) -> int:
        """Queue one item for delivery to destinations (idempotent).

        See `QueueManager.enqueue`.
        """
        return self.queue.enqueue(image, item, destinations, source, now=now)

    def requeue_unqueued(self, destinations: Iterable[str], *, now: float | None = None) -> int:
        """Queue every written file (and manifest) of unarchived images for ``destinations``.

        See `QueueManager.requeue_unqueued`.
        """
        return self.queue.requeue_unqueued(destinations, now=now)

    def requeue_items(
        self,
        image: str,
        items: Collection[str],
        destinations: Iterable[str],
        reason: str,
        *,
        now: float | None = None,
    ) -> dict[str, tuple[str, ...]]:
        """Deliver written files again at destinations (their files were rewritten).

        See `QueueManager.requeue_items`.
        """
        return self.queue.requeue_items(image, items, destinations, reason, now=now)

    def claim(
        self,
        destination: str,
        stage: DeliveryStage,
        worker: str,
        *,
        limit: int = 1,
        lease: float = 120.0,
        skip_catch_up: bool = False,
        now: float | None = None,
    ) -> list[DeliveryRecord]:
        """Claim up to ``limit`` due items of a destination at a stage.

        See `QueueManager.claim`.
        """
        return self.queue.claim(
            destination, stage, worker, limit=limit, lease=lease, skip_catch_up=skip_catch_up, now=now
        )

    def renew_claims(
        self, delivery_ids: Iterable[int], worker: str, lease: float, *, now: float | None = None
    ) -> set[int]:
        """Extend the leases of claims this worker still holds.

        See `QueueManager.renew_claims`.
        """
        return self.queue.renew_claims(delivery_ids, worker, lease, now=now)

    def mark_transferred(
        self,
        delivery_id: int,
        worker: str,
        *,
        remote_uri: str,
        size: int,
        checksum: str | None,
        ingest: bool,
        now: float | None = None,
    ) -> bool:
        """Record a verified transfer; next the ingest (if ``ingest``) or done.

        See `QueueManager.mark_transferred`.
        """
        return self.queue.mark_transferred(
            delivery_id, worker, remote_uri=remote_uri, size=size, checksum=checksum, ingest=ingest, now=now
        )

    def mark_ingested(self, delivery_id: int, worker: str, *, now: float | None = None) -> bool:
        """Record a successful Butler ingest: the item is done."""
        return self.queue.mark_ingested(delivery_id, worker, now=now)

    def mark_ingested_many(
        self, delivery_ids: Iterable[int], worker: str, *, now: float | None = None
    ) -> set[int]:
        """Record successful ingests of a batch in one transaction.

        See `QueueManager.mark_ingested_many`.
        """
        return self.queue.mark_ingested_many(delivery_ids, worker, now=now)

    def mark_retry(
        self,
        delivery_id: int,
        worker: str,
        error: str,
        *,
        delay: float,
        count_attempt: bool = True,
        now: float | None = None,
    ) -> bool:
        """Give an item back after a failed attempt; due again after ``delay`` seconds.

        See `QueueManager.mark_retry`.
        """
        return self.queue.mark_retry(
            delivery_id, worker, error, delay=delay, count_attempt=count_attempt, now=now
        )

    def make_due(self, destination: str, *, now: float | None = None) -> int:
        """Make a destination's items waiting for a retry due now.

        See `QueueManager.make_due`.
        """
        return self.queue.make_due(destination, now=now)

    def mark_failed(
        self,
        delivery_id: int,
        worker: str,
        status: DeliveryStatus,
        error: str,
        *,
        now: float | None = None,
    ) -> bool:
        """Record that an item finally failed at its destination, with the reason."""
        return self.queue.mark_failed(delivery_id, worker, status, error, now=now)

    def settled_since(self, since: float, *, by_others_than: str) -> list[DeliveryRecord]:
        """Items settled at or after ``since`` by other workers.

        See `QueueManager.settled_since`.
        """
        return self.queue.settled_since(since, by_others_than=by_others_than)

    def release_claims(
        self, destination: str | None = None, *, worker: str | None = None, keep: Collection[str] = ()
    ) -> int:
        """Drop claims at once (after a crash, when this process owns the ledger).

        See `QueueManager.release_claims`.
        """
        return self.queue.release_claims(destination, worker=worker, keep=keep)

    def retry_failed(
        self, *, destination: str | None = None, image: str | None = None, now: float | None = None
    ) -> int:
        """Put finally failed items back in their queue (operator action).

        See `QueueManager.retry_failed`.
        """
        return self.queue.retry_failed(destination=destination, image=image, now=now)

    def deliveries(
        self,
        *,
        image: str | None = None,
        destination: str | None = None,
        stages: Collection[DeliveryStage] | None = None,
    ) -> list[DeliveryRecord]:
        """Delivery items, optionally of one image, destination or set of stages."""
        return self.queue.deliveries(image=image, destination=destination, stages=stages)

    def unfinished_deliveries(self, destination: str | None = None) -> list[DeliveryRecord]:
        """Items still to transfer or ingest."""
        return self.queue.unfinished_deliveries(destination)

    def queue_depths(self) -> dict[str, int]:
        """Destination → number of items not finished there."""
        return self.queue.queue_depths()

    # ------------------------------------------------------------------
    # reports (ReportManager)

    def pending_summary(self, *, now: float | None = None) -> PendingSummary:
        """Backlog figures for health telemetry (one short read transaction)."""
        return self.reports.pending_summary(now=now)

    def undelivered_by_destination(self) -> dict[str, tuple[int, int]]:
        """Destination → (images, bytes) not yet delivered there.

        See `ReportManager.undelivered_by_destination`.
        """
        return self.reports.undelivered_by_destination()

    def mean_detector_size(self, *, sample: int = 1000) -> float:
        """Mean size of the last detector files written.

        See `ReportManager.mean_detector_size`.
        """
        return self.reports.mean_detector_size(sample=sample)

    def failed_counts(self) -> dict[str, int]:
        """Destination → number of items that finally failed there (until retried)."""
        return self.reports.failed_counts()

    def images_with_failures(
        self, names: Collection[str], *, destinations: Collection[str] | None = None
    ) -> set[str]:
        """Which of ``names`` have a finally failed capture or delivery.

        See `ReportManager.images_with_failures`.
        """
        return self.reports.images_with_failures(names, destinations=destinations)

    def is_settled(self, name: str, destinations: Collection[str]) -> bool:
        """Cheap check: no detector of the image is still to capture or to deliver to ``destinations``.

        See `ReportManager.is_settled`.
        """
        return self.reports.is_settled(name, destinations)

    def progress(self, name: str, destinations: Collection[str] | None = None) -> ImageProgress:
        """What is still missing for an image.

        See `ReportManager.progress`.
        """
        return self.reports.progress(name, destinations)

    def latest_images(self, *, camera: str | None = None, limit: int = 3) -> list[str]:
        """The most recently registered images (newest first), of ``camera`` if given."""
        return self.reports.latest_images(camera=camera, limit=limit)

    def recent_failures(self, *, limit: int = 20) -> list[FailureRecord]:
        """The most recent finally failed captures and deliveries (newest first)."""
        return self.reports.recent_failures(limit=limit)

    def stage_latencies(
        self, *, since: float | None = None, destination: str | None = None
    ) -> dict[str, StageLatency]:
        """Latency of each pipeline stage over the items done since ``since``.

        See `ReportManager.stage_latencies`.
        """
        return self.reports.stage_latencies(since=since, destination=destination)

    # ------------------------------------------------------------------
    # named locks (LockManager)

    def acquire_lock(self, name: str, holder: str, *, ttl: float, now: float | None = None) -> bool:
        """Take (or renew) a named lock for ``ttl`` seconds; True if ``holder`` now holds it."""
        return self.locks.acquire_lock(name, holder, ttl=ttl, now=now)

    def release_lock(self, name: str, holder: str) -> bool:
        """Release a lock this holder has; True if it had it."""
        return self.locks.release_lock(name, holder)

    def lock_holder(self, name: str, *, now: float | None = None) -> str | None:
        """Who holds an unexpired lock, or None."""
        return self.locks.lock_holder(name, now=now)
