"""`ImageManager`: images, their expected detectors and each detector's capture.

Registration is an idempotent insert-or-ignore on the image name and on
``(image, detector)``. A written file is queued for its destinations in the
same transaction that records it, so a crash never leaves a written file
unqueued.
"""

from __future__ import annotations

__all__ = ["ImageManager"]

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from . import schema
from .database import LedgerDatabase, writer_time
from .errors import UnknownImageError
from .queue import QueueManager, reopen_image
from .records import CaptureMeasurements, DetectorRecord, ImageRecord, RetriedParts, measurements_to_row
from .states import MANIFEST_ITEM, CaptureState, Trigger

_image = schema.image
_detector = schema.detector

CAPTURE_WRITTEN_STATUS = 0
"""Capture status code recorded with a written file (``CaptureStatus.OK``)."""


class ImageManager:
    """Images and the capture state of their detectors, in a shared `LedgerDatabase`.

    Parameters
    ----------
    database : `LedgerDatabase`
        The ledger's database.
    queue : `QueueManager`
        The delivery queue, to queue a written file or manifest in the
        transaction that records it.
    """

    def __init__(self, database: LedgerDatabase, queue: QueueManager) -> None:
        self._db = database
        self._queue = queue

    # ------------------------------------------------------------------
    # registration

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
        image_type : `str` or `None`, optional
            The camera's ``imageType`` (``OBJECT`` ...), if known; an image
            registered again keeps the first type it was given.
        now : `float`, optional
            Registration time (Unix seconds); default now.

        Returns
        -------
        new : `bool`
            False if the image was already registered (its expected
            detectors are extended with any new ones).
        """
        now = writer_time(now)
        with self._db.begin() as conn:
            result = conn.execute(
                self._db.insert_ignore(_image).returning(_image.c.name),
                {
                    "name": name,
                    "camera": camera,
                    "day_obs": int(day_obs),
                    "trigger": Trigger(trigger).value,
                    "header_source": header_source,
                    "priority": int(priority),
                    "image_type": image_type.upper()[:16] if image_type else None,
                    "registered_at": now,
                },
            )
            new = result.first() is not None
            if not new and image_type:
                conn.execute(
                    sa.update(_image)
                    .where(_image.c.name == name, _image.c.image_type.is_(None))
                    .values(image_type=image_type.upper()[:16])
                )
            if expected:
                conn.execute(
                    self._db.insert_ignore(_detector),
                    _detector_rows(name, expected, CaptureState.PENDING, now),
                )
        return new

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
        """Record an image the ledger never had as archived, found complete at ``where``.

        Its detectors are `CaptureState.FOUND` (never captured here), it is
        archived with status 0 and says where it was found; nothing is queued.

        Returns
        -------
        new : `bool`
            False if the ledger already had the image (nothing is changed).
        """
        now = writer_time(now)
        with self._db.begin() as conn:
            result = conn.execute(
                self._db.insert_ignore(_image).returning(_image.c.name),
                {
                    "name": name,
                    "camera": camera,
                    "day_obs": int(day_obs),
                    "trigger": Trigger.CATCH_UP.value,
                    "priority": 0,
                    "registered_at": now,
                    "captured_at": now,
                    "archived_at": now,
                    "archive_status": 0,
                    "archive_description": (
                        f"All {len(expected)} files found in {where} by catch-up (not captured again)"
                    ),
                },
            )
            if result.first() is None:
                return False
            if expected:
                conn.execute(_detector.insert(), _detector_rows(name, expected, CaptureState.FOUND, now))
        return True

    def set_header_source(self, name: str, header_source: str, *, note: str | None = None) -> None:
        """Record where the header of the image's files came from.

        Nothing is pending any more (`set_header_pending` is undone).

        Parameters
        ----------
        name : `str`
            Image name (obsid).
        header_source : `str`
            ``HeaderService`` or ``Archiver`` (the files' ``HDRSRC``).
        note : `str` or `None`, optional
            What became of a header that arrived after the files were
            written (kept as ``header_note``); None leaves the note as it is.

        Raises
        ------
        UnknownImageError
            If the image is not in the ledger.
        """
        values: dict[str, Any] = {"header_source": header_source, "header_pending": None}
        if note is not None:
            values["header_note"] = note
        self._update_image(name, **values)

    def set_header_pending(self, name: str, url: str, *, note: str) -> None:
        """Record that a late header (from ``url``) is being applied to the image's files.

        Until `set_header_source` records the outcome, the image is listed
        by `images_with_header_pending`, so that a restart finishes the work.

        Raises
        ------
        UnknownImageError
            If the image is not in the ledger.
        """
        self._update_image(name, header_pending=url, header_note=note)

    def set_manifest(
        self, name: str, path: str, *, destinations: Iterable[str] = (), now: float | None = None
    ) -> None:
        """Record the path of the image's ``expectedSensors.json``; queue it for ``destinations``."""
        now = writer_time(now)
        with self._db.begin() as conn:
            result = conn.execute(sa.update(_image).where(_image.c.name == name).values(manifest_path=path))
            if not result.rowcount:
                raise UnknownImageError(f"Image {name} is not in the ledger; register it first")
            self._queue.add(conn, name, MANIFEST_ITEM, destinations, path, now=now)

    def _update_image(self, name: str, **values: Any) -> None:
        with self._db.begin() as conn:
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
        measurements: CaptureMeasurements | None = None,
    ) -> None:
        """Record that a detector's file is written (idempotent).

        With ``destinations``, the file is queued for them in the same
        transaction, so a crash can never leave a written file unqueued.

        Parameters
        ----------
        image : `str`
            Image name (obsid).
        detector : `str`
            Detector name (``RNN_SNN``), one of the image's expected ones.
        path : `str`
            Local path of the written FITS file.
        size : `int` or `None`, optional
            Bytes written.
        checksum : `str` or `None`, optional
            Checksum of the file (``md5:...``).
        destinations : iterable of `str`, optional
            Destinations to queue the file for.
        now : `float`, optional
            Time written (Unix seconds); default now.
        measurements : `CaptureMeasurements` or `None`, optional
            What capture measured (timings, pixel statistics), kept for
            ``focalPlaneCapture``. The capture status is recorded as 0.

        Raises
        ------
        UnknownImageError
            If the image or the detector is not in the ledger.
        """
        now = writer_time(now)
        self._set_detector(
            image,
            detector,
            now,
            {
                "state": CaptureState.WRITTEN.value,
                "path": path,
                "size": size,
                "checksum": checksum,
                "error": None,
                "written_at": now,
                "updated_at": now,
                "attempts": _detector.c.attempts + 1,
                "status": CAPTURE_WRITTEN_STATUS,
                **measurements_to_row(measurements),
            },
            enqueue=(tuple(destinations), path),
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
        """Record that a detector's capture finally failed, with the reason.

        Parameters
        ----------
        image : `str`
            Image name (obsid).
        detector : `str`
            Detector name (``RNN_SNN``), one of the image's expected ones.
        reason : `str`
            Why it failed, with the offending values.
        status : `int` or `None`, optional
            Capture status code (``CaptureStatus``, e.g. 1 for
            ``IMAGE_NOT_FOUND``).
        now : `float`, optional
            Time of the failure (Unix seconds); default now.

        Raises
        ------
        UnknownImageError
            If the image or the detector is not in the ledger.
        """
        now = writer_time(now)
        self._set_detector(
            image,
            detector,
            now,
            {
                "state": CaptureState.FAILED.value,
                "error": reason,
                "updated_at": now,
                "attempts": _detector.c.attempts + 1,
                "status": None if status is None else int(status),
                # Measurements belong to a written file; a failure has none.
                **measurements_to_row(None),
            },
        )

    def _set_detector(
        self,
        image: str,
        detector: str,
        now: float,
        values: Mapping[str, Any],
        *,
        enqueue: tuple[tuple[str, ...], str] | None = None,
    ) -> None:
        """Update a detector row; queue ``enqueue`` (destinations, source); set ``captured_at``.

        ``captured_at`` of the image is set (once) when no detector is left
        pending, in the same transaction.
        """
        with self._db.begin() as conn:
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
                destinations, source = enqueue
                self._queue.add(conn, image, detector, destinations, source, now=now)
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
        """Record that a written detector file was rewritten (e.g. with a late header).

        The file keeps its ``written_at`` (when it was first written) and
        its capture measurements; its path, size and checksum are the new
        file's. Queue it again with `QueueManager.requeue_items`.

        Parameters
        ----------
        image : `str`
            Image name (obsid).
        detector : `str`
            Detector name (``RNN_SNN``) whose file was written.
        path : `str`
            Local path of the rewritten FITS file.
        size : `int` or `None`, optional
            Its size in bytes.
        checksum : `str` or `None`, optional
            Its checksum (``md5:...``).
        now : `float`, optional
            Time rewritten (Unix seconds); default now.

        Raises
        ------
        UnknownImageError
            If the image or the detector is not in the ledger, or the
            detector has no written file.
        """
        now = writer_time(now)
        with self._db.begin() as conn:
            result = conn.execute(
                sa.update(_detector)
                .where(
                    _detector.c.image == image,
                    _detector.c.name == detector,
                    _detector.c.state == CaptureState.WRITTEN.value,
                )
                .values(path=path, size=size, checksum=checksum, updated_at=now)
            )
        if not result.rowcount:
            raise UnknownImageError(
                f"Detector {detector} of image {image} has no written file in the ledger to rewrite"
            )

    # ------------------------------------------------------------------
    # archive completion

    def mark_archived(self, name: str, status: int, description: str, *, now: float | None = None) -> bool:
        """Record that an image is archived (or finally incomplete); only once.

        Returns
        -------
        first : `bool`
            True for the caller that recorded it; False if it already was.
        """
        now = writer_time(now)
        with self._db.begin() as conn:
            result = conn.execute(
                sa.update(_image)
                .where(_image.c.name == name, _image.c.archived_at.is_(None))
                .values(archived_at=now, archive_status=int(status), archive_description=description)
            )
        return bool(result.rowcount)

    def reopen_image(self, name: str) -> bool:
        """Clear an image's archived state: its ``imageArchived`` is decided (and written) again.

        Returns
        -------
        reopened : `bool`
            False if the image was not archived (nothing changed).

        Raises
        ------
        UnknownImageError
            If the image is not in the ledger.
        """
        with self._db.begin() as conn:
            archived_at = conn.execute(
                sa.select(_image.c.archived_at).where(_image.c.name == name)
            ).one_or_none()
            if archived_at is None:
                raise UnknownImageError(f"Image {name} is not in the ledger")
            if archived_at[0] is None:
                return False
            reopen_image(conn, name)
        return True

    # ------------------------------------------------------------------
    # operator retry

    def retry_image(
        self,
        name: str,
        *,
        captures: bool = True,
        destinations: Collection[str] | None = None,
        archive_destinations: Collection[str] | None = None,
        now: float | None = None,
    ) -> RetriedParts:
        """Put what finally failed for an image back to work, in one transaction.

        Finally failed detectors become pending again (to be captured again:
        reason, status code and measurements are cleared, ``captured_at`` of
        the image too); finally failed deliveries are queued again (see
        `QueueManager.requeue_failed`). If that can change the image's
        outcome at the destinations that decide ``imageArchived`` (a capture
        reset, or an item queued again at one of them), the image's archived
        state is cleared in the same transaction, so the next completion
        records (and reports) it again.

        Parameters
        ----------
        name : `str`
            Image name (obsid).
        captures : `bool`, optional
            Also reset the finally failed captures.
        destinations : collection of `str`, optional
            Queue again the failed items at these destinations only
            (default: every destination; empty: none).
        archive_destinations : collection of `str`, optional
            The destinations that decide ``imageArchived`` (default: every
            destination).
        now : `float`, optional
            Time of the retry (Unix seconds); default now.

        Returns
        -------
        retried : `RetriedParts`
            What was put back to work (`RetriedParts.empty` if nothing had
            finally failed; then nothing changed).

        Raises
        ------
        UnknownImageError
            If the image is not in the ledger.
        """
        now = writer_time(now)
        with self._db.begin() as conn:
            known = conn.execute(sa.select(_image.c.name).where(_image.c.name == name)).scalar_one_or_none()
            if known is None:
                raise UnknownImageError(f"Image {name} is not in the ledger")
            reset: list[str] = []
            if captures:
                failed = _detector.c.state == CaptureState.FAILED.value
                reset = list(
                    conn.execute(
                        sa.select(_detector.c.name)
                        .where(_detector.c.image == name, failed)
                        .order_by(_detector.c.number)
                    ).scalars()
                )
                if reset:
                    conn.execute(
                        sa.update(_detector)
                        .where(_detector.c.image == name, failed)
                        .values(
                            state=CaptureState.PENDING.value,
                            error=None,
                            status=None,
                            updated_at=now,
                            **measurements_to_row(None),
                        )
                    )
                    conn.execute(sa.update(_image).where(_image.c.name == name).values(captured_at=None))
            requeued: dict[str, tuple[str, ...]] = {}
            if destinations is None or destinations:
                requeued = self._queue.requeue_failed(conn, destinations=destinations, image=name, now=now)
            deciding = requeued.keys() if archive_destinations is None else set(archive_destinations)
            reopened = bool(reset) or any(destination in deciding for destination in requeued)
            if reopened:
                reopen_image(conn, name)
        return RetriedParts(image=name, captures=tuple(reset), deliveries=requeued, reopened=reopened)

    # ------------------------------------------------------------------
    # queries

    def image(self, name: str) -> ImageRecord:
        """Return an image.

        Raises
        ------
        UnknownImageError
            If it is not in the ledger.
        """
        with self._db.begin() as conn:
            row = conn.execute(sa.select(_image).where(_image.c.name == name)).mappings().one_or_none()
        if row is None:
            raise UnknownImageError(f"Image {name} is not in the ledger")
        return ImageRecord.from_row(row)

    def has_image(self, name: str) -> bool:
        """True if the image is in the ledger."""
        with self._db.begin() as conn:
            return (
                conn.execute(sa.select(_image.c.name).where(_image.c.name == name)).scalar_one_or_none()
                is not None
            )

    def detectors(self, image: str) -> list[DetectorRecord]:
        """Expected detectors of an image with their capture state, by number."""
        with self._db.begin() as conn:
            rows = conn.execute(
                sa.select(_detector).where(_detector.c.image == image).order_by(_detector.c.number)
            ).mappings()
            return [DetectorRecord.from_row(row) for row in rows]

    def unfinished_images(self) -> list[ImageRecord]:
        """Images not archived yet (the work to resume after a restart), oldest first."""
        with self._db.begin() as conn:
            rows = conn.execute(
                sa.select(_image).where(_image.c.archived_at.is_(None)).order_by(_image.c.registered_at)
            ).mappings()
            return [ImageRecord.from_row(row) for row in rows]

    def images_with_header_pending(self) -> list[ImageRecord]:
        """Images whose files are being rewritten with a late header (`set_header_pending`), oldest first."""
        with self._db.begin() as conn:
            rows = conn.execute(
                sa.select(_image).where(_image.c.header_pending.is_not(None)).order_by(_image.c.registered_at)
            ).mappings()
            return [ImageRecord.from_row(row) for row in rows]

    def images_by_header_source(self, header_source: str, *, captured_since: float) -> list[ImageRecord]:
        """Images with that header source whose capture ended at or after ``captured_since``, oldest first.

        For example the images whose files were written with the Archiver's
        own metadata (``Archiver``) recently enough for a late header to be
        applied.
        """
        with self._db.begin() as conn:
            rows = conn.execute(
                sa.select(_image)
                .where(_image.c.header_source == header_source, _image.c.captured_at >= captured_since)
                .order_by(_image.c.registered_at)
            ).mappings()
            return [ImageRecord.from_row(row) for row in rows]


def _detector_rows(
    image: str, expected: Mapping[str, int], state: CaptureState, now: float
) -> list[dict[str, Any]]:
    """``detector`` rows of an image's expected detectors, all in ``state``."""
    return [
        {
            "image": image,
            "name": detector,
            "number": int(number),
            "state": state.value,
            "attempts": 0,
            "updated_at": now,
        }
        for detector, number in expected.items()
    ]
