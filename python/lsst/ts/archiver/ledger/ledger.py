"""The ledger: durable state of every image, detector file and delivery.

`Ledger` is a blocking API (SQLAlchemy); asyncio callers run it in a thread
(`LedgerRunner` does that). Every write is one short transaction. Writers on
several threads or processes are safe:

* registration and enqueueing are idempotent upserts (insert-or-ignore on
  the natural keys);
* a delivery is *claimed* by a guarded ``UPDATE ... WHERE`` (not claimed, or
  its lease expired), so two workers can never both hold the same item; every
  later step is guarded by the claim holder;
* a claim has a lease: if its worker dies, the item becomes claimable again
  when the lease expires (or at once with `Ledger.release_claims`).
"""

from __future__ import annotations

__all__ = ["Ledger"]

import contextlib
import os
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from . import schema
from .engine import make_engine, normalize_url
from .errors import LedgerError, LedgerSchemaError, UnknownImageError
from .records import DeliveryRecord, DetectorRecord, ImageProgress, ImageRecord, PendingSummary, StageLatency
from .states import MANIFEST_ITEM, CaptureState, DeliveryStage, DeliveryStatus, Trigger

_image = schema.image
_detector = schema.detector
_delivery = schema.delivery
_lock = schema.lock


def _now(now: float | None) -> float:
    return time.time() if now is None else now


class Ledger:
    """Durable record of images, detector files and deliveries.

    Parameters
    ----------
    url : `str` or `os.PathLike`
        ``sqlite:///path`` (or a plain path) or
        ``postgresql+psycopg://user@host:port/database``.
    create : `bool`, optional
        Create the tables if the database has none.
    echo : `bool`, optional
        Log SQL statements.

    Raises
    ------
    LedgerSchemaError
        If the database holds a ledger of another schema version, or has no
        ledger and ``create`` is False.
    LedgerError
        If the database cannot be reached.
    """

    def __init__(self, url: str | os.PathLike[str], *, create: bool = True, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self._engine = make_engine(self.url, echo=echo)
        self._dialect = self._engine.dialect.name
        self._local_lock: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if self._dialect == "sqlite" else contextlib.nullcontext()
        )
        try:
            self._check_schema(create)
        except sa.exc.OperationalError as e:
            self._engine.dispose()
            raise LedgerError(f"Cannot open the ledger at {self._safe_url}: {e.orig}") from e
        except Exception:
            self._engine.dispose()
            raise

    # ------------------------------------------------------------------
    # plumbing

    @property
    def _safe_url(self) -> str:
        return sa.make_url(self.url).render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._dialect

    def close(self) -> None:
        """Release database connections."""
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        # SQLite allows one writer at a time and makes waiting writers poll
        # with sleeps of up to 100 ms; threads of this process queue on a
        # lock instead (other processes still wait through busy_timeout).
        with self._local_lock:
            try:
                with self._engine.begin() as connection:
                    yield connection
            except sa.exc.OperationalError as e:
                raise LedgerError(f"Ledger {self._safe_url} unavailable: {e.orig}") from e

    def _insert_ignore(
        self, table: sa.Table, columns: list[str] | None = None, selection: sa.Select[Any] | None = None
    ) -> Any:
        if self._dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        statement = insert(table)
        if selection is not None:
            statement = statement.from_select(columns or [], selection)
        return statement.on_conflict_do_nothing()

    def _check_schema(self, create: bool) -> None:
        inspector = sa.inspect(self._engine)
        if not inspector.has_table(schema.ledger_schema.name):
            if not create:
                raise LedgerSchemaError(
                    f"{self._safe_url} holds no ts_archiver ledger; open it with create=True to make one"
                )
            # Tables and version row in one transaction: a process killed while
            # creating the ledger leaves nothing half made behind.
            with self._begin() as conn:
                schema.metadata.create_all(conn, checkfirst=True)
                conn.execute(
                    self._insert_ignore(schema.ledger_schema),
                    {"name": schema.SCHEMA_NAME, "version": schema.SCHEMA_VERSION, "created_at": time.time()},
                )
        with self._begin() as conn:
            found = conn.execute(
                sa.select(schema.ledger_schema.c.version).where(
                    schema.ledger_schema.c.name == schema.SCHEMA_NAME
                )
            ).scalar_one_or_none()
        if found != schema.SCHEMA_VERSION:
            raise LedgerSchemaError(
                f"The ledger at {self._safe_url} has schema version {found}, this ts_archiver needs "
                f"{schema.SCHEMA_VERSION}: migrate it or point the Archiver at a new ledger"
            )

    # ------------------------------------------------------------------
    # images and capture

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
        now: float | None = None,
    ) -> bool:
        """Record an image and its expected detectors (idempotent).

        Parameters
        ----------
        name : `str`
            Image name (obsid).
        camera : `str`
            Instrument name (``LSSTCam`` ...).
        day_obs : `int`
            Observing day ``YYYYMMDD``.
        expected : `~collections.abc.Mapping` [`str`, `int`]
            Expected detector name (``RNN_SNN``) → detector number.
        trigger : `Trigger`, optional
            Why the image is archived.
        header_source : `str` or `None`, optional
            Where the header came from (e.g. ``HeaderService``, ``Archiver``).
        priority : `int`, optional
            Higher is delivered first.
        now : `float`, optional
            Registration time (Unix seconds); default now.

        Returns
        -------
        new : `bool`
            False if the image was already registered (its expected
            detectors are extended with any new ones).
        """
        now = _now(now)
        with self._begin() as conn:
            result = conn.execute(
                self._insert_ignore(_image).returning(_image.c.name),
                {
                    "name": name,
                    "camera": camera,
                    "day_obs": int(day_obs),
                    "trigger": Trigger(trigger).value,
                    "header_source": header_source,
                    "priority": int(priority),
                    "registered_at": now,
                },
            )
            new = result.first() is not None
            if expected:
                conn.execute(
                    self._insert_ignore(_detector),
                    [
                        {
                            "image": name,
                            "name": detector,
                            "number": int(number),
                            "state": CaptureState.PENDING.value,
                            "attempts": 0,
                            "updated_at": now,
                        }
                        for detector, number in expected.items()
                    ],
                )
        return new

    def set_header_source(self, name: str, header_source: str) -> None:
        """Record where the image's header came from."""
        self._update_image(name, header_source=header_source)

    def set_manifest(
        self, name: str, path: str, *, destinations: Iterable[str] = (), now: float | None = None
    ) -> None:
        """Record the path of the image's ``expectedSensors.json``; queue it for ``destinations``."""
        now = _now(now)
        with self._begin() as conn:
            result = conn.execute(sa.update(_image).where(_image.c.name == name).values(manifest_path=path))
            if not result.rowcount:
                raise UnknownImageError(f"Image {name} is not in the ledger; register it first")
            self._enqueue(conn, name, MANIFEST_ITEM, tuple(destinations), path, now)

    def _update_image(self, name: str, **values: Any) -> None:
        with self._begin() as conn:
            result = conn.execute(sa.update(_image).where(_image.c.name == name).values(**values))
        if not result.rowcount:
            raise UnknownImageError(f"Image {name} is not in the ledger; register it first")

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
    ) -> None:
        """Record that a detector's file is written (idempotent).

        With ``destinations``, the file is queued for them in the same
        transaction, so a crash can never leave a written file unqueued.
        """
        now = _now(now)
        self._set_detector(
            image,
            detector,
            now,
            enqueue=(detector, tuple(destinations), path),
            state=CaptureState.WRITTEN.value,
            path=path,
            size=size,
            checksum=checksum,
            error=None,
            written_at=now,
            updated_at=now,
            attempts=_detector.c.attempts + 1,
        )

    def record_capture_failure(
        self, image: str, detector: str, error: str, *, now: float | None = None
    ) -> None:
        """Record that a detector's capture finally failed, with the reason."""
        now = _now(now)
        self._set_detector(
            image,
            detector,
            now,
            state=CaptureState.FAILED.value,
            error=error,
            updated_at=now,
            attempts=_detector.c.attempts + 1,
        )

    def _set_detector(
        self,
        image: str,
        detector: str,
        now: float,
        enqueue: tuple[str, tuple[str, ...], str] | None = None,
        **values: Any,
    ) -> None:
        with self._begin() as conn:
            result = conn.execute(
                sa.update(_detector)
                .where(_detector.c.image == image, _detector.c.name == detector)
                .values(**values)
            )
            if not result.rowcount:
                raise UnknownImageError(
                    f"Detector {detector} of image {image} is not in the ledger; register the image "
                    "with it among the expected detectors"
                )
            if enqueue is not None:
                self._enqueue(conn, image, *enqueue, now)
            pending = conn.execute(
                sa.select(sa.func.count())
                .select_from(_detector)
                .where(_detector.c.image == image, _detector.c.state == CaptureState.PENDING.value)
            ).scalar_one()
            if not pending:
                conn.execute(
                    sa.update(_image)
                    .where(_image.c.name == image, _image.c.captured_at.is_(None))
                    .values(captured_at=now)
                )

    # ------------------------------------------------------------------
    # deliveries: queue

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
        now = _now(now)
        with self._begin() as conn:
            known = conn.execute(sa.select(_image.c.name).where(_image.c.name == image)).scalar_one_or_none()
            if known is None:
                raise UnknownImageError(f"Image {image} is not in the ledger; register it before enqueueing")
            return self._enqueue(conn, image, item, tuple(destinations), source, now)

    def _enqueue(
        self,
        conn: sa.Connection,
        image: str,
        item: str,
        destinations: tuple[str, ...],
        source: str,
        now: float,
    ) -> int:
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
            inserted = conn.execute(self._insert_ignore(_delivery).returning(_delivery.c.id), row)
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
        now = _now(now)
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
        with self._begin() as conn:
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
                    statement = self._insert_ignore(_delivery, columns, selection)
                    added += len(conn.execute(statement.returning(_delivery.c.id)).all())
        return added

    def claim(
        self,
        destination: str,
        stage: DeliveryStage,
        worker: str,
        *,
        limit: int = 1,
        lease: float = 120.0,
        now: float | None = None,
    ) -> list[DeliveryRecord]:
        """Claim up to ``limit`` due items of a destination at a stage.

        An item is due when its ``next_attempt_at`` has passed and it is not
        claimed (or its claim's lease expired). Each claim adds one attempt.
        Higher-priority images come first, then queue order.

        Returns
        -------
        claimed : `list` [`DeliveryRecord`]
            The items this worker now holds (possibly none).
        """
        if stage.final:
            raise ValueError(f"Cannot claim items in final stage {stage.value}")
        now = _now(now)
        free = sa.or_(_delivery.c.claimed_by.is_(None), _delivery.c.lease_until < now)
        with self._begin() as conn:
            ids = (
                conn.execute(
                    sa.select(_delivery.c.id)
                    .join(_image, _image.c.name == _delivery.c.image)
                    .where(
                        _delivery.c.destination == destination,
                        _delivery.c.stage == stage.value,
                        _delivery.c.next_attempt_at <= now,
                        free,
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

    def _finish(self, delivery_id: int, worker: str, values: Mapping[str, Any]) -> bool:
        with self._begin() as conn:
            result = conn.execute(
                sa.update(_delivery)
                .where(_delivery.c.id == delivery_id, _delivery.c.claimed_by == worker)
                .values(claimed_by=None, lease_until=None, **values)
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
        now = _now(now)
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
        now = _now(now)
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
        now = _now(now)
        recorded: set[int] = set()
        with self._begin() as conn:
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
                    )
                )
                if result.rowcount:
                    recorded.add(delivery_id)
        return recorded

    def mark_retry(
        self, delivery_id: int, worker: str, error: str, *, delay: float, now: float | None = None
    ) -> bool:
        """Give an item back after a failed attempt; due again after ``delay`` seconds."""
        now = _now(now)
        return self._finish(delivery_id, worker, {"last_error": error, "next_attempt_at": now + delay})

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
        now = _now(now)
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

    def release_claims(self, destination: str | None = None, *, worker: str | None = None) -> int:
        """Drop claims at once (after a crash, when this process owns the ledger).

        Parameters
        ----------
        destination : `str` or `None`, optional
            Only this destination's items.
        worker : `str` or `None`, optional
            Only this worker's claims.

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
        with self._begin() as conn:
            return conn.execute(query.values(claimed_by=None, lease_until=None)).rowcount or 0

    def retry_failed(
        self, *, destination: str | None = None, image: str | None = None, now: float | None = None
    ) -> int:
        """Put finally failed items back in their queue (operator action).

        Items that had reached the destination resume at ingest, the others
        at transfer; their attempts restart from zero.

        Returns
        -------
        count : `int`
            Number of items re-queued.
        """
        now = _now(now)
        count = 0
        with self._begin() as conn:
            for transferred, stage in ((True, DeliveryStage.INGEST), (False, DeliveryStage.TRANSFER)):
                query = sa.update(_delivery).where(
                    _delivery.c.stage == DeliveryStage.FAILED.value,
                    _delivery.c.transferred_at.is_not(None)
                    if transferred
                    else _delivery.c.transferred_at.is_(None),
                )
                if destination is not None:
                    query = query.where(_delivery.c.destination == destination)
                if image is not None:
                    query = query.where(_delivery.c.image == image)
                count += (
                    conn.execute(
                        query.values(
                            stage=stage.value,
                            attempts=0,
                            status_code=None,
                            failed_at=None,
                            next_attempt_at=now,
                        )
                    ).rowcount
                    or 0
                )
            if image is not None:
                conn.execute(
                    sa.update(_image)
                    .where(_image.c.name == image)
                    .values(archived_at=None, archive_status=None, archive_description=None)
                )
        return count

    # ------------------------------------------------------------------
    # archive completion

    def mark_archived(self, name: str, status: int, description: str, *, now: float | None = None) -> bool:
        """Record that an image is archived (or finally incomplete); only once.

        Returns
        -------
        first : `bool`
            True for the caller that recorded it; False if it already was.
        """
        now = _now(now)
        with self._begin() as conn:
            result = conn.execute(
                sa.update(_image)
                .where(_image.c.name == name, _image.c.archived_at.is_(None))
                .values(archived_at=now, archive_status=int(status), archive_description=description)
            )
        return bool(result.rowcount)

    # ------------------------------------------------------------------
    # queries

    def image(self, name: str) -> ImageRecord:
        """Return an image.

        Raises
        ------
        UnknownImageError
            If it is not in the ledger.
        """
        with self._begin() as conn:
            row = conn.execute(sa.select(_image).where(_image.c.name == name)).mappings().one_or_none()
        if row is None:
            raise UnknownImageError(f"Image {name} is not in the ledger")
        return ImageRecord.from_row(row)

    def has_image(self, name: str) -> bool:
        """True if the image is in the ledger."""
        with self._begin() as conn:
            return (
                conn.execute(sa.select(_image.c.name).where(_image.c.name == name)).scalar_one_or_none()
                is not None
            )

    def detectors(self, image: str) -> list[DetectorRecord]:
        """Expected detectors of an image with their capture state, by number."""
        with self._begin() as conn:
            rows = conn.execute(
                sa.select(_detector).where(_detector.c.image == image).order_by(_detector.c.number)
            ).mappings()
            return [DetectorRecord.from_row(row) for row in rows]

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
        with self._begin() as conn:
            return [DeliveryRecord.from_row(row) for row in conn.execute(query).mappings()]

    def unfinished_images(self) -> list[ImageRecord]:
        """Images not archived yet (the work to resume after a restart), oldest first."""
        with self._begin() as conn:
            rows = conn.execute(
                sa.select(_image).where(_image.c.archived_at.is_(None)).order_by(_image.c.registered_at)
            ).mappings()
            return [ImageRecord.from_row(row) for row in rows]

    def unfinished_deliveries(self, destination: str | None = None) -> list[DeliveryRecord]:
        """Items still to transfer or ingest."""
        return self.deliveries(destination=destination, stages=(DeliveryStage.TRANSFER, DeliveryStage.INGEST))

    def queue_depths(self) -> dict[str, int]:
        """Destination → number of items not finished there."""
        with self._begin() as conn:
            rows = conn.execute(
                sa.select(_delivery.c.destination, sa.func.count())
                .where(_delivery.c.stage.in_([DeliveryStage.TRANSFER.value, DeliveryStage.INGEST.value]))
                .group_by(_delivery.c.destination)
            ).all()
        return {str(destination): int(count) for destination, count in rows}

    def pending_summary(self, *, now: float | None = None) -> PendingSummary:
        """Backlog figures for health telemetry (one short read transaction)."""
        now = _now(now)
        open_stages = [DeliveryStage.TRANSFER.value, DeliveryStage.INGEST.value]
        with self._begin() as conn:
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

    def is_settled(self, name: str, destinations: Collection[str]) -> bool:
        """Cheap check: no detector of the image is still to capture or to deliver to ``destinations``.

        Detectors written but not yet queued for a destination are not seen
        here; `progress` gives the full answer.
        """
        with self._begin() as conn:
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
        record = self.image(name)
        detectors = self.detectors(name)
        deliveries = self.deliveries(image=name)
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
        with self._begin() as conn:
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

    # ------------------------------------------------------------------
    # named locks

    def acquire_lock(self, name: str, holder: str, *, ttl: float, now: float | None = None) -> bool:
        """Take (or renew) a named lock for ``ttl`` seconds.

        Returns
        -------
        held : `bool`
            True if ``holder`` now holds the lock; False if someone else
            holds an unexpired one.
        """
        now = _now(now)
        with self._begin() as conn:
            conn.execute(
                self._insert_ignore(_lock),
                {"name": name, "holder": holder, "acquired_at": now, "expires_at": now + ttl},
            )
            result = conn.execute(
                sa.update(_lock)
                .where(_lock.c.name == name, sa.or_(_lock.c.holder == holder, _lock.c.expires_at < now))
                .values(holder=holder, acquired_at=now, expires_at=now + ttl)
            )
        return bool(result.rowcount)

    def release_lock(self, name: str, holder: str) -> bool:
        """Release a lock this holder has; True if it had it."""
        with self._begin() as conn:
            result = conn.execute(sa.delete(_lock).where(_lock.c.name == name, _lock.c.holder == holder))
        return bool(result.rowcount)

    def lock_holder(self, name: str, *, now: float | None = None) -> str | None:
        """Who holds an unexpired lock, or None."""
        now = _now(now)
        with self._begin() as conn:
            return conn.execute(
                sa.select(_lock.c.holder).where(_lock.c.name == name, _lock.c.expires_at >= now)
            ).scalar_one_or_none()
