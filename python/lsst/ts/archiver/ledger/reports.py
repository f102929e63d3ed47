"""`ReportManager`: read-only summaries of the ledger.

Backlog and finally failed items for health telemetry, what is still
missing for an image, which images have finally failed parts, and the
latency of each pipeline stage. Nothing here writes.
"""

from __future__ import annotations

__all__ = ["ReportManager"]

from collections.abc import Collection

import sqlalchemy as sa

from . import schema
from .database import LedgerDatabase, writer_time
from .images import ImageManager
from .queue import QueueManager
from .records import FailureRecord, ImageProgress, PendingSummary, StageLatency
from .states import MANIFEST_ITEM, CaptureState, DeliveryStage

_image = schema.image
_detector = schema.detector
_delivery = schema.delivery

_CHUNK = 500
"""Most names in one ``IN (...)`` list (SQLite limits the parameters of a statement)."""


class ReportManager:
    """Read-only summaries over images, detectors and deliveries.

    Parameters
    ----------
    database : `LedgerDatabase`
        The ledger's database.
    images : `ImageManager`
        Images and their detectors.
    queue : `QueueManager`
        The delivery queue.
    """

    def __init__(self, database: LedgerDatabase, images: ImageManager, queue: QueueManager) -> None:
        self._db = database
        self._images = images
        self._queue = queue

    def pending_summary(self, *, now: float | None = None) -> PendingSummary:
        """Backlog figures for health telemetry (one short read transaction)."""
        now = writer_time(now)
        open_stages = [DeliveryStage.TRANSFER.value, DeliveryStage.INGEST.value]
        with self._db.begin() as conn:
            images, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(_image.c.registered_at)).where(
                    _image.c.archived_at.is_(None)
                )
            ).one()
            not_captured = sa.select(_detector.c.image, _detector.c.name).where(
                _detector.c.state == CaptureState.PENDING.value
            )
            undelivered = sa.select(_delivery.c.image, _delivery.c.item.label("name")).where(
                _delivery.c.stage.in_(open_stages), _delivery.c.item != MANIFEST_ITEM
            )
            both = sa.union(not_captured, undelivered).subquery()
            detectors = conn.execute(sa.select(sa.func.count()).select_from(both)).scalar_one()
            depths = conn.execute(
                sa.select(_delivery.c.destination, sa.func.count())
                .where(_delivery.c.stage.in_(open_stages))
                .group_by(_delivery.c.destination)
            ).all()
        return PendingSummary(
            images_pending=int(images),
            detectors_pending=int(detectors),
            oldest_pending_age=max(0.0, now - float(oldest)) if oldest is not None else 0.0,
            queue_depths={str(d): int(c) for d, c in depths},
        )

    def undelivered_by_destination(self) -> dict[str, tuple[int, int]]:
        """Destination → (images, bytes) of its items not yet delivered.

        Bytes are the written files' sizes (an item whose file is not
        written yet counts 0). One read; idle destinations are left out.
        """
        open_stages = [DeliveryStage.TRANSFER.value, DeliveryStage.INGEST.value]
        with self._db.begin() as conn:
            rows = conn.execute(
                sa.select(
                    _delivery.c.destination,
                    sa.func.count(sa.distinct(_delivery.c.image)),
                    sa.func.coalesce(sa.func.sum(_detector.c.size), 0),
                )
                .select_from(
                    _delivery.outerjoin(
                        _detector,
                        sa.and_(_detector.c.image == _delivery.c.image, _detector.c.name == _delivery.c.item),
                    )
                )
                .where(_delivery.c.stage.in_(open_stages))
                .group_by(_delivery.c.destination)
            ).all()
        return {str(d): (int(images), int(size)) for d, images, size in rows}

    def mean_detector_size(self, *, sample: int = 1000) -> float:
        """Mean size (bytes) of the last ``sample`` detector files written; 0 if none."""
        with self._db.begin() as conn:
            recent = (
                sa.select(_detector.c.size)
                .where(_detector.c.state == CaptureState.WRITTEN.value, _detector.c.size.is_not(None))
                .order_by(_detector.c.written_at.desc())
                .limit(sample)
                .subquery()
            )
            mean = conn.execute(sa.select(sa.func.avg(recent.c.size))).scalar_one()
        return float(mean or 0.0)

    def failed_counts(self) -> dict[str, int]:
        """Destination → number of items that finally failed there (until retried).

        One read; destinations without failed items are left out.
        """
        with self._db.begin() as conn:
            rows = conn.execute(
                sa.select(_delivery.c.destination, sa.func.count())
                .where(_delivery.c.stage == DeliveryStage.FAILED.value)
                .group_by(_delivery.c.destination)
            ).all()
        return {str(destination): int(count) for destination, count in rows}

    def images_with_failures(
        self, names: Collection[str], *, destinations: Collection[str] | None = None
    ) -> set[str]:
        """Which of ``names`` have a finally failed part: a capture, or a delivery.

        Parameters
        ----------
        names : collection of `str`
            Image names to look at (names not in the ledger are left out).
        destinations : collection of `str`, optional
            Count failed deliveries at these destinations only (default:
            every destination).

        Returns
        -------
        failed : `set` [`str`]
            The images with at least one finally failed capture or delivery.
        """
        wanted = list(dict.fromkeys(names))
        found: set[str] = set()
        with self._db.begin() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                captures = sa.select(_detector.c.image).where(
                    _detector.c.image.in_(chunk), _detector.c.state == CaptureState.FAILED.value
                )
                deliveries = sa.select(_delivery.c.image).where(
                    _delivery.c.image.in_(chunk), _delivery.c.stage == DeliveryStage.FAILED.value
                )
                if destinations is not None:
                    deliveries = deliveries.where(_delivery.c.destination.in_(list(destinations)))
                found.update(str(name) for name in conn.execute(sa.union(captures, deliveries)).scalars())
        return found

    def is_settled(self, name: str, destinations: Collection[str]) -> bool:
        """Cheap check: no detector of the image is still to capture or to deliver to ``destinations``.

        Detectors written but not yet queued for a destination are not seen
        here; `progress` gives the full answer.
        """
        with self._db.begin() as conn:
            capturing = conn.execute(
                sa.select(_detector.c.name)
                .where(_detector.c.image == name, _detector.c.state == CaptureState.PENDING.value)
                .limit(1)
            ).first()
            if capturing is not None:
                return False
            open_item = conn.execute(
                sa.select(_delivery.c.id)
                .where(
                    _delivery.c.image == name,
                    _delivery.c.destination.in_(list(destinations)),
                    _delivery.c.stage.in_([DeliveryStage.TRANSFER.value, DeliveryStage.INGEST.value]),
                    _delivery.c.item != MANIFEST_ITEM,
                )
                .limit(1)
            ).first()
        return open_item is None

    def progress(self, name: str, destinations: Collection[str] | None = None) -> ImageProgress:
        """What is still missing for an image.

        Parameters
        ----------
        name : `str`
            Image name.
        destinations : collection of `str`, optional
            Destinations every detector file must reach (default: those it
            was queued for). The manifest item is reported but not required.

        Raises
        ------
        UnknownImageError
            If the image is not in the ledger.
        """
        record = self._images.image(name)
        detectors = self._images.detectors(name)
        deliveries = self._queue.deliveries(image=name)
        wanted = set(destinations) if destinations is not None else {d.destination for d in deliveries}
        by_key = {(d.item, d.destination): d for d in deliveries}
        pending: dict[str, list[str]] = {dest: [] for dest in sorted(wanted)}
        failed: dict[str, dict[str, str]] = {dest: {} for dest in sorted(wanted)}
        not_captured: list[str] = []
        capture_failed: dict[str, str] = {}
        for detector in detectors:
            if detector.state is CaptureState.FAILED:
                capture_failed[detector.name] = detector.error or "capture failed"
                continue
            for destination in sorted(wanted):
                entry = by_key.get((detector.name, destination))
                if entry is None or not entry.stage.final:
                    if detector.state is CaptureState.WRITTEN or entry is not None:
                        pending[destination].append(detector.name)
                elif entry.stage is DeliveryStage.FAILED:
                    failed[destination][detector.name] = entry.last_error or "delivery failed"
            if detector.state is CaptureState.PENDING:
                not_captured.append(detector.name)
        for destination in sorted(wanted):
            entry = by_key.get((MANIFEST_ITEM, destination))
            if entry is not None and entry.stage is DeliveryStage.FAILED:
                failed[destination][MANIFEST_ITEM] = entry.last_error or "delivery failed"
        return ImageProgress(
            image=record,
            expected=tuple(d.name for d in detectors),
            not_captured=tuple(not_captured),
            capture_failed=capture_failed,
            pending={dest: tuple(items) for dest, items in pending.items()},
            failed=failed,
        )

    def latest_images(self, *, camera: str | None = None, limit: int = 3) -> list[str]:
        """The most recently registered images (newest first), of ``camera`` if given."""
        query = (
            sa.select(_image.c.name)
            .order_by(_image.c.registered_at.desc(), _image.c.name.desc())
            .limit(limit)
        )
        if camera is not None:
            query = query.where(_image.c.camera == camera)
        with self._db.begin() as conn:
            return [str(name) for name in conn.execute(query).scalars()]

    def recent_failures(self, *, limit: int = 20) -> list[FailureRecord]:
        """The most recent finally failed captures and deliveries (newest first)."""
        captures = (
            sa.select(_detector.c.image, _detector.c.name, _detector.c.error, _detector.c.updated_at)
            .where(_detector.c.state == CaptureState.FAILED.value)
            .order_by(_detector.c.updated_at.desc())
            .limit(limit)
        )
        deliveries = (
            sa.select(
                _delivery.c.image,
                _delivery.c.item,
                _delivery.c.destination,
                _delivery.c.last_error,
                _delivery.c.failed_at,
            )
            .where(_delivery.c.stage == DeliveryStage.FAILED.value)
            .order_by(_delivery.c.failed_at.desc())
            .limit(limit)
        )
        found: list[FailureRecord] = []
        with self._db.begin() as conn:
            for image, name, error, at in conn.execute(captures):
                found.append(FailureRecord(float(at), image, name, "capture", error or "capture failed"))
            for image, item, destination, error, at in conn.execute(deliveries):
                found.append(
                    FailureRecord(float(at or 0.0), image, item, destination, error or "delivery failed")
                )
        found.sort(key=lambda f: (f.time, f.obsid, f.item), reverse=True)
        return found[:limit]

    def stage_latencies(
        self, *, since: float | None = None, destination: str | None = None
    ) -> dict[str, StageLatency]:
        """Latency of each pipeline stage over the items done since ``since``.

        Returns
        -------
        latencies : `dict` [`str`, `StageLatency`]
            Keys ``capture``, ``queue``, ``transfer``, ``ingest``,
            ``delivery`` and ``end_to_end`` (see `StageLatency`).
        """
        capture_query = sa.select(_detector.c.written_at - _image.c.registered_at).join(
            _image, _image.c.name == _detector.c.image
        )
        capture_query = capture_query.where(_detector.c.written_at.is_not(None))
        d = _delivery
        delivery_query = sa.select(
            d.c.enqueued_at,
            d.c.transfer_started_at,
            d.c.transferred_at,
            d.c.ingested_at,
            d.c.done_at,
            _image.c.registered_at,
        ).join(_image, _image.c.name == d.c.image)
        delivery_query = delivery_query.where(
            d.c.stage == DeliveryStage.DONE.value, d.c.item != MANIFEST_ITEM
        )
        if since is not None:
            capture_query = capture_query.where(_detector.c.written_at >= since)
            delivery_query = delivery_query.where(d.c.done_at >= since)
        if destination is not None:
            delivery_query = delivery_query.where(d.c.destination == destination)
        samples: dict[str, list[float]] = {
            key: [] for key in ("capture", "queue", "transfer", "ingest", "delivery", "end_to_end")
        }
        with self._db.begin() as conn:
            samples["capture"] = [float(v) for v in conn.execute(capture_query).scalars()]
            for enqueued, started, transferred, ingested, done, registered in conn.execute(delivery_query):
                if started is not None:
                    samples["queue"].append(started - enqueued)
                    if transferred is not None:
                        samples["transfer"].append(transferred - started)
                if ingested is not None and transferred is not None:
                    samples["ingest"].append(ingested - transferred)
                samples["delivery"].append(done - enqueued)
                samples["end_to_end"].append(done - registered)
        return {key: StageLatency(key, tuple(values)) for key, values in samples.items()}
