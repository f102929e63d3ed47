"""`QueueManager`: the per-destination delivery queue and its claims.

Every item (a detector's file, or the manifest) has one row per
destination. Workers on several threads or processes are safe:

* enqueueing is an idempotent insert-or-ignore on ``(image, item,
  destination)``;
* an item is *claimed* by a guarded ``UPDATE ... WHERE`` (not claimed, or
  its lease expired), so two workers can never both hold it; every later
  step is guarded by the claim holder;
* a claim has a lease: if its worker dies, the item becomes claimable again
  when the lease expires (or at once with `QueueManager.release_claims`).
"""

from __future__ import annotations

__all__ = ["QueueManager"]

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from . import schema
from .database import LedgerDatabase, writer_time
from .errors import UnknownImageError
from .records import DeliveryRecord
from .states import MANIFEST_ITEM, CaptureState, DeliveryStage, DeliveryStatus, Trigger

_image = schema.image
_detector = schema.detector
_delivery = schema.delivery

_CHUNK = 500
"""Most ids in one ``IN (...)`` list (SQLite limits the parameters of a statement)."""


def reopen_image(conn: sa.Connection, image: str) -> None:
    """Clear an image's archived state in the caller's transaction: ``imageArchived`` is decided anew.

    For the managers (not exported by the package).
    """
    conn.execute(
        sa.update(_image)
        .where(_image.c.name == image)
        .values(archived_at=None, archive_status=None, archive_description=None)
    )


class QueueManager:
    """The delivery queue of every destination, in a shared `LedgerDatabase`.

    Parameters
    ----------
    database : `LedgerDatabase`
        The ledger's database.
    """

    def __init__(self, database: LedgerDatabase) -> None:
        self._db = database

    # ------------------------------------------------------------------
    # enqueueing

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

        Parameters
        ----------
        image : `str`
            Image name.
        item : `str`
            Detector name, or `MANIFEST_ITEM`.
        destinations : iterable of `str`
            Destination names.
        source : `str`
            Local path of the file to deliver.
        now : `float`, optional
            Enqueue time.

        Returns
        -------
        added : `int`
            Number of new queue entries (0 if all were already queued).
        """
        now = writer_time(now)
        with self._db.begin() as conn:
            known = conn.execute(sa.select(_image.c.name).where(_image.c.name == image)).scalar_one_or_none()
            if known is None:
                raise UnknownImageError(f"Image {image} is not in the ledger; register it before enqueueing")
            return self.add(conn, image, item, destinations, source, now=now)

    def add(
        self,
        conn: sa.Connection,
        image: str,
        item: str,
        destinations: Iterable[str],
        source: str,
        *,
        now: float,
    ) -> int:
        """Queue one item for delivery in the caller's transaction (idempotent).

        Other managers use it to queue what they record in the same
        transaction (a written file, a manifest). The image must exist.

        Parameters
        ----------
        conn : `sqlalchemy.Connection`
            The open transaction (from `LedgerDatabase.begin`).
        image, item, destinations, source
            See `enqueue`.
        now : `float`
            Enqueue time.

        Returns
        -------
        added : `int`
            Number of new queue entries.
        """
        added = 0
        for destination in destinations:
            row = {
                "image": image,
                "item": item,
                "destination": destination,
                "source": source,
                "stage": DeliveryStage.TRANSFER.value,
                "attempts": 0,
                "next_attempt_at": now,
                "enqueued_at": now,
            }
            inserted = conn.execute(self._db.insert_ignore(_delivery).returning(_delivery.c.id), row)
            added += len(inserted.all())
        return added

    def requeue_unqueued(self, destinations: Iterable[str], *, now: float | None = None) -> int:
        """Queue every written file (and manifest) of unarchived images for ``destinations``.

        Idempotent: entries that exist are left alone. Run at start-up, it
        covers a destination added to the configuration while images were
        still in progress.

        Returns
        -------
        added : `int`
            Number of new queue entries.
        """
        now = writer_time(now)
        added = 0
        columns = [
            "image",
            "item",
            "destination",
            "source",
            "stage",
            "attempts",
            "next_attempt_at",
            "enqueued_at",
        ]
        with self._db.begin() as conn:
            for destination in destinations:
                constants = (
                    sa.literal(destination, sa.String),
                    sa.literal(DeliveryStage.TRANSFER.value, sa.String),
                    sa.literal(0, sa.Integer),
                    sa.literal(now, sa.Float),
                    sa.literal(now, sa.Float),
                )
                files = (
                    sa.select(
                        _detector.c.image, _detector.c.name, constants[0], _detector.c.path, *constants[1:]
                    )
                    .join(_image, _image.c.name == _detector.c.image)
                    .where(
                        _image.c.archived_at.is_(None),
                        _detector.c.state == CaptureState.WRITTEN.value,
                        _detector.c.path.is_not(None),
                    )
                )
                manifests = sa.select(
                    _image.c.name,
                    sa.literal(MANIFEST_ITEM, sa.String),
                    constants[0],
                    _image.c.manifest_path,
                    *constants[1:],
                ).where(_image.c.archived_at.is_(None), _image.c.manifest_path.is_not(None))
                for selection in (files, manifests):
                    statement = self._db.insert_ignore(_delivery, columns, selection)
                    added += len(conn.execute(statement.returning(_delivery.c.id)).all())
        return added

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

        Each (item, destination) goes back to transfer, due at once, its
        attempts from zero and ``reason`` as its ``redelivery``, so that its
        ingest replaces the Butler dataset; a destination that never had the
        item gets it. Claims are dropped: a worker still busy with an old
        copy loses its claim and its result is not recorded. The item keeps
        the status code of its previous outcome until the new one replaces
        it, and the image's archived state is left alone: ``imageArchived``
        is decided again only if an outcome changes (`reopen_image`).

        Parameters
        ----------
        image : `str`
            Image name.
        items : collection of `str`
            Detector names whose file is written (never the manifest).
        destinations : iterable of `str`
            Destination names.
        reason : `str`
            Why the files are delivered again (e.g. ``late Header Service
            header applied``); reported with each new outcome.
        now : `float`, optional
            When they are due.

        Returns
        -------
        requeued : `dict` [`str`, `tuple` [`str`, ...]]
            Destination → items queued again there (in the order given).

        Raises
        ------
        UnknownImageError
            If the image is not in the ledger or one of the items has no
            written file (nothing is changed).
        """
        now = writer_time(now)
        wanted = list(dict.fromkeys(items))
        with self._db.begin() as conn:
            known = conn.execute(sa.select(_image.c.name).where(_image.c.name == image)).scalar_one_or_none()
            if known is None:
                raise UnknownImageError(f"Image {image} is not in the ledger")
            sources: dict[str, str] = {}
            for start in range(0, len(wanted), _CHUNK):
                rows = conn.execute(
                    sa.select(_detector.c.name, _detector.c.path).where(
                        _detector.c.image == image,
                        _detector.c.name.in_(wanted[start : start + _CHUNK]),
                        _detector.c.state == CaptureState.WRITTEN.value,
                        _detector.c.path.is_not(None),
                    )
                ).all()
                sources.update({str(name): str(path) for name, path in rows})
            missing = [item for item in wanted if item not in sources]
            if missing:
                raise UnknownImageError(
                    f"Image {image} has no written file of {', '.join(missing)} in the ledger to deliver again"
                )
            requeued: dict[str, tuple[str, ...]] = {}
            for destination in destinations:
                for item in wanted:
                    values: dict[str, Any] = {
                        "source": sources[item],
                        "stage": DeliveryStage.TRANSFER.value,
                        "attempts": 0,
                        "last_error": None,
                        "next_attempt_at": now,
                        "claimed_by": None,
                        "lease_until": None,
                        "enqueued_at": now,
                        "transfer_started_at": None,
                        "transferred_at": None,
                        "ingested_at": None,
                        "done_at": None,
                        "failed_at": None,
                        "redelivery": reason,
                    }
                    updated = conn.execute(
                        sa.update(_delivery)
                        .where(
                            _delivery.c.image == image,
                            _delivery.c.item == item,
                            _delivery.c.destination == destination,
                        )
                        .values(**values)
                    )
                    if not updated.rowcount:
                        conn.execute(
                            self._db.insert_ignore(_delivery),
                            {"image": image, "item": item, "destination": destination, **values},
                        )
                if wanted:
                    requeued[destination] = tuple(wanted)
        return requeued

    # ------------------------------------------------------------------
    # claims and their outcomes

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

        An item is due when its ``next_attempt_at`` has passed and it is not
        claimed (or its claim's lease expired). Each claim adds one attempt.
        Higher-priority images come first, then queue order. With
        ``skip_catch_up`` the items of catch-up images are left (their
        bandwidth budget is spent).

        Returns
        -------
        claimed : `list` [`DeliveryRecord`]
            The items this worker now holds (possibly none).
        """
        if stage.final:
            raise ValueError(f"Cannot claim items in final stage {stage.value}")
        now = writer_time(now)
        free = sa.or_(_delivery.c.claimed_by.is_(None), _delivery.c.lease_until < now)
        with self._db.begin() as conn:
            ids = (
                conn.execute(
                    sa.select(_delivery.c.id)
                    .join(_image, _image.c.name == _delivery.c.image)
                    .where(
                        _delivery.c.destination == destination,
                        _delivery.c.stage == stage.value,
                        _delivery.c.next_attempt_at <= now,
                        free,
                        *([_image.c.trigger != Trigger.CATCH_UP.value] if skip_catch_up else []),
                    )
                    .order_by(_image.c.priority.desc(), _delivery.c.id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            claimed: list[int] = []
            values: dict[str, Any] = {
                "claimed_by": worker,
                "lease_until": now + lease,
                "attempts": _delivery.c.attempts + 1,
            }
            if stage is DeliveryStage.TRANSFER:
                values["transfer_started_at"] = now
            for delivery_id in ids:
                result = conn.execute(
                    sa.update(_delivery)
                    .where(_delivery.c.id == delivery_id, _delivery.c.stage == stage.value, free)
                    .values(**values)
                )
                if result.rowcount:
                    claimed.append(delivery_id)
            if not claimed:
                return []
            rows = conn.execute(sa.select(_delivery).where(_delivery.c.id.in_(claimed))).mappings()
            by_id = {row["id"]: DeliveryRecord.from_row(row) for row in rows}
            return [by_id[delivery_id] for delivery_id in claimed]  # priority order

    def renew_claims(
        self, delivery_ids: Iterable[int], worker: str, lease: float, *, now: float | None = None
    ) -> set[int]:
        """Extend the leases of claims this worker still holds (a long transfer or ingest).

        Parameters
        ----------
        delivery_ids : iterable of `int`
            Items the worker claimed.
        worker : `str`
            The claiming worker.
        lease : `float`
            New lease from now (s).

        Returns
        -------
        renewed : `set` [`int`]
            The ids still held by ``worker``; the others were settled or
            taken over by another worker after their lease expired, and the
            worker must not record their outcome (its ``mark_*`` return False).
        """
        ids = list(delivery_ids)
        if not ids:
            return set()
        now = writer_time(now)
        with self._db.begin() as conn:
            held = (
                conn.execute(
                    sa.update(_delivery)
                    .where(_delivery.c.id.in_(ids), _delivery.c.claimed_by == worker)
                    .values(lease_until=now + lease)
                    .returning(_delivery.c.id)
                )
                .scalars()
                .all()
            )
        return set(held)

    def _finish(self, delivery_id: int, worker: str, values: Mapping[str, Any]) -> bool:
        settled = values.get("stage") in (DeliveryStage.DONE.value, DeliveryStage.FAILED.value)
        with self._db.begin() as conn:
            result = conn.execute(
                sa.update(_delivery)
                .where(_delivery.c.id == delivery_id, _delivery.c.claimed_by == worker)
                .values(claimed_by=None, lease_until=None, **values)
                .values({"settled_by": worker} if settled else {})
            )
        return bool(result.rowcount)

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

        Returns
        -------
        recorded : `bool`
            False if ``worker`` no longer holds the claim (nothing changed).
        """
        now = writer_time(now)
        values: dict[str, Any] = {
            "transferred_at": now,
            "remote_uri": remote_uri,
            "remote_size": size,
            "remote_checksum": checksum,
            "last_error": None,
        }
        if ingest:
            values.update(stage=DeliveryStage.INGEST.value, next_attempt_at=now)
        else:
            values.update(stage=DeliveryStage.DONE.value, done_at=now, status_code=int(DeliveryStatus.OK))
        return self._finish(delivery_id, worker, values)

    def mark_ingested(self, delivery_id: int, worker: str, *, now: float | None = None) -> bool:
        """Record a successful Butler ingest: the item is done."""
        now = writer_time(now)
        return self._finish(
            delivery_id,
            worker,
            {
                "stage": DeliveryStage.DONE.value,
                "ingested_at": now,
                "done_at": now,
                "status_code": int(DeliveryStatus.OK),
                "last_error": None,
            },
        )

    def mark_ingested_many(
        self, delivery_ids: Iterable[int], worker: str, *, now: float | None = None
    ) -> set[int]:
        """Record successful ingests of a batch in one transaction.

        Returns
        -------
        recorded : `set` [`int`]
            The ids this worker still held (the others changed nothing).
        """
        now = writer_time(now)
        recorded: set[int] = set()
        with self._db.begin() as conn:
            for delivery_id in delivery_ids:
                result = conn.execute(
                    sa.update(_delivery)
                    .where(_delivery.c.id == delivery_id, _delivery.c.claimed_by == worker)
                    .values(
                        claimed_by=None,
                        lease_until=None,
                        stage=DeliveryStage.DONE.value,
                        ingested_at=now,
                        done_at=now,
                        status_code=int(DeliveryStatus.OK),
                        last_error=None,
                        settled_by=worker,
                    )
                )
                if result.rowcount:
                    recorded.add(delivery_id)
        return recorded

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

        With ``count_attempt`` False the attempt is given back too (its
        destination was unreachable: the attempt says nothing of the item).
        """
        now = writer_time(now)
        values: dict[str, Any] = {"last_error": error, "next_attempt_at": now + delay}
        if not count_attempt:
            values["attempts"] = _delivery.c.attempts - 1
        return self._finish(delivery_id, worker, values)

    def make_due(self, destination: str, *, now: float | None = None) -> int:
        """Make every unclaimed item of a destination waiting for a retry due now; how many.

        For a destination whose link came back: its backlog drains at once
        instead of after each item's backoff.
        """
        now = writer_time(now)
        with self._db.begin() as conn:
            result = conn.execute(
                sa.update(_delivery)
                .where(
                    _delivery.c.destination == destination,
                    _delivery.c.stage.in_([DeliveryStage.TRANSFER.value, DeliveryStage.INGEST.value]),
                    _delivery.c.claimed_by.is_(None),
                    _delivery.c.next_attempt_at > now,
                )
                .values(next_attempt_at=now)
            )
        return result.rowcount or 0

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
        now = writer_time(now)
        return self._finish(
            delivery_id,
            worker,
            {
                "stage": DeliveryStage.FAILED.value,
                "failed_at": now,
                "status_code": int(status),
                "last_error": error,
            },
        )

    def settled_since(self, since: float, *, by_others_than: str) -> list[DeliveryRecord]:
        """Items done or finally failed at or after ``since`` by a worker other than ``by_others_than``.

        The Archiver reports these (the delivery processes that settled
        them report nothing), oldest first.
        """
        done, failed = DeliveryStage.DONE.value, DeliveryStage.FAILED.value
        query = sa.select(_delivery).where(
            # Each side can use its index (ix_delivery_done_at, ix_delivery_failed_at).
            sa.or_(
                sa.and_(_delivery.c.done_at >= since, _delivery.c.stage == done),
                sa.and_(_delivery.c.failed_at >= since, _delivery.c.stage == failed),
            ),
            _delivery.c.settled_by.is_not(None),
            _delivery.c.settled_by != by_others_than,
        )
        with self._db.begin() as conn:
            records = [DeliveryRecord.from_row(row) for row in conn.execute(query).mappings()]
        return sorted(
            records, key=lambda r: (r.done_at if r.stage is DeliveryStage.DONE else r.failed_at, r.id)
        )

    def release_claims(
        self, destination: str | None = None, *, worker: str | None = None, keep: Collection[str] = ()
    ) -> int:
        """Drop claims at once (after a crash, when this process owns the ledger).

        Parameters
        ----------
        destination : `str` or `None`, optional
            Only this destination's items.
        worker : `str` or `None`, optional
            Only this worker's claims.
        keep : collection of `str`, optional
            Workers whose claims stay (e.g. the live delivery processes).

        Returns
        -------
        released : `int`
            Number of claims dropped.
        """
        query = sa.update(_delivery).where(_delivery.c.claimed_by.is_not(None))
        if destination is not None:
            query = query.where(_delivery.c.destination == destination)
        if worker is not None:
            query = query.where(_delivery.c.claimed_by == worker)
        if keep:
            query = query.where(_delivery.c.claimed_by.not_in(list(keep)))
        with self._db.begin() as conn:
            return conn.execute(query.values(claimed_by=None, lease_until=None)).rowcount or 0

    def retry_failed(
        self, *, destination: str | None = None, image: str | None = None, now: float | None = None
    ) -> int:
        """Put finally failed items back in their queue (operator action).

        Items that had reached the destination resume at ingest, the others
        at transfer; their attempts restart from zero. With ``image``, the
        image's archived state is cleared if anything was re-queued, so its
        ``imageArchived`` is decided again (`ImageManager.retry_image` clears
        it only for the destinations that decide it).

        Returns
        -------
        count : `int`
            Number of items re-queued.
        """
        now = writer_time(now)
        destinations = None if destination is None else (destination,)
        with self._db.begin() as conn:
            requeued = self.requeue_failed(conn, destinations=destinations, image=image, now=now)
            count = sum(len(items) for items in requeued.values())
            if image is not None and count:
                # The image is open again: imageArchived is decided anew.
                reopen_image(conn, image)
        return count

    def requeue_failed(
        self,
        conn: sa.Connection,
        *,
        destinations: Collection[str] | None = None,
        image: str | None = None,
        now: float,
    ) -> dict[str, tuple[str, ...]]:
        """Put finally failed items back in their queue, in the caller's transaction.

        Items that had reached the destination resume at ingest, the others
        at transfer; their attempts restart from zero.

        Parameters
        ----------
        conn : `sqlalchemy.Connection`
            The open transaction (from `LedgerDatabase.begin`).
        destinations : collection of `str`, optional
            Only items at these destinations (default every destination).
        image : `str`, optional
            Only this image's items.
        now : `float`
            When they are due again.

        Returns
        -------
        requeued : `dict` [`str`, `tuple` [`str`, ...]]
            Destination → items re-queued there (only destinations with
            items, by name; items in queue order).
        """
        query = sa.select(
            _delivery.c.id, _delivery.c.destination, _delivery.c.item, _delivery.c.transferred_at
        )
        query = query.where(_delivery.c.stage == DeliveryStage.FAILED.value)
        if destinations is not None:
            query = query.where(_delivery.c.destination.in_(list(destinations)))
        if image is not None:
            query = query.where(_delivery.c.image == image)
        rows = conn.execute(query.order_by(_delivery.c.destination, _delivery.c.id).with_for_update()).all()
        for stage, transferred in ((DeliveryStage.INGEST, True), (DeliveryStage.TRANSFER, False)):
            ids = [row.id for row in rows if (row.transferred_at is not None) is transferred]
            for start in range(0, len(ids), _CHUNK):
                conn.execute(
                    sa.update(_delivery)
                    .where(
                        _delivery.c.id.in_(ids[start : start + _CHUNK]),
                        _delivery.c.stage == DeliveryStage.FAILED.value,
                    )
                    .values(
                        stage=stage.value,
                        attempts=0,
                        status_code=None,
                        failed_at=None,
                        next_attempt_at=now,
                    )
                )
        requeued: dict[str, list[str]] = {}
        for row in rows:
            requeued.setdefault(str(row.destination), []).append(str(row.item))
        return {destination: tuple(items) for destination, items in requeued.items()}

    # ------------------------------------------------------------------
    # queries

    def deliveries(
        self,
        *,
        image: str | None = None,
        destination: str | None = None,
        stages: Collection[DeliveryStage] | None = None,
    ) -> list[DeliveryRecord]:
        """Delivery items, optionally of one image, destination or set of stages."""
        query = sa.select(_delivery).order_by(_delivery.c.id)
        if image is not None:
            query = query.where(_delivery.c.image == image)
        if destination is not None:
            query = query.where(_delivery.c.destination == destination)
        if stages is not None:
            query = query.where(_delivery.c.stage.in_([s.value for s in stages]))
        with self._db.begin() as conn:
            return [DeliveryRecord.from_row(row) for row in conn.execute(query).mappings()]

    def unfinished_deliveries(self, destination: str | None = None) -> list[DeliveryRecord]:
        """Items still to transfer or ingest."""
        return self.deliveries(destination=destination, stages=(DeliveryStage.TRANSFER, DeliveryStage.INGEST))

    def queue_depths(self) -> dict[str, int]:
        """Destination → number of items not finished there."""
        with self._db.begin() as conn:
            rows = conn.execute(
                sa.select(_delivery.c.destination, sa.func.count())
                .where(_delivery.c.stage.in_([DeliveryStage.TRANSFER.value, DeliveryStage.INGEST.value]))
                .group_by(_delivery.c.destination)
            ).all()
        return {str(destination): int(count) for destination, count in rows}
