"""Typed, immutable rows and reports returned by the ledger."""

from __future__ import annotations

__all__ = [
    "CaptureMeasurements",
    "DeliveryRecord",
    "DetectorRecord",
    "ExposureDelivery",
    "FailureRecord",
    "ImageProgress",
    "ImageRecord",
    "PendingSummary",
    "RetriedParts",
    "StageLatency",
    "WorkerRecord",
]

import math
import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .states import MANIFEST_ITEM, CaptureState, DeliveryStage, Trigger


@dataclass(frozen=True)
class ImageRecord:
    """One image (exposure) in the ledger.

    ``header_note`` records what became of a Header Service header that
    arrived after the image's files were written (applied, or not and why);
    ``header_pending`` is the URL of such a header while its files are being
    rewritten (None otherwise).
    """

    name: str
    camera: str
    day_obs: int
    trigger: Trigger
    header_source: str | None
    priority: int
    manifest_path: str | None
    registered_at: float
    captured_at: float | None
    archived_at: float | None
    archive_status: int | None
    archive_description: str | None
    header_note: str | None = None
    header_pending: str | None = None
    image_type: str | None = None
    """The camera's ``imageType`` (``OBJECT`` ...), if known at registration."""

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ImageRecord:
        """Build from a database row."""
        return cls(
            name=row["name"],
            camera=row["camera"],
            day_obs=int(row["day_obs"]),
            trigger=Trigger(row["trigger"]),
            header_source=row["header_source"],
            priority=int(row["priority"]),
            manifest_path=row["manifest_path"],
            registered_at=float(row["registered_at"]),
            captured_at=row["captured_at"],
            archived_at=row["archived_at"],
            archive_status=row["archive_status"],
            archive_description=row["archive_description"],
            header_note=row["header_note"],
            header_pending=row["header_pending"],
            image_type=row["image_type"],
        )


@dataclass(frozen=True)
class ExposureDelivery:
    """One destination's outcome of one exposure (what its ``imageDelivered`` said).

    Attributes
    ----------
    image : `str`
        The exposure's obsid.
    destination : `str`
        The destination's name.
    expected : `int`
        Files the destination takes of the exposure.
    delivered : `int`
        Files delivered (and ingested, if it ingests).
    missing : `tuple` [`str`, ...]
        Detectors expected there but not delivered (capture or delivery failed).
    status : `int`
        0 if every expected file is there, 1 if some are missing.
    description : `str`
        What happened, with the reasons of what is missing.
    settled_at : `float`
        When the outcome was recorded (Unix seconds).
    """

    image: str
    destination: str
    expected: int
    delivered: int
    missing: tuple[str, ...]
    status: int
    description: str
    settled_at: float = 0.0


@dataclass(frozen=True)
class FailureRecord:
    """One finally failed capture or delivery.

    Attributes
    ----------
    time : `float`
        Unix seconds of the failure.
    obsid : `str`
        The image.
    item : `str`
        Detector name (or the manifest item).
    where : `str`
        ``capture``, or the destination's name.
    reason : `str`
        What went wrong (untrusted text: escape it before showing it).
    """

    time: float
    obsid: str
    item: str
    where: str
    reason: str


@dataclass(frozen=True)
class CaptureMeasurements:
    """What capture measured for one detector (kept for ``focalPlaneCapture``).

    Recorded in the ledger with the written file, so the telemetry is right
    after a restart.
    """

    retrieval_time: float = 0.0
    """Seconds reading the source from the DAQ store and decoding it."""

    write_time: float = 0.0
    """Seconds writing the FITS file and its sidecar."""

    median_signal: float = 0.0
    """Median of the amplifiers' imaging regions (ADU, overscan subtracted)."""

    noise: float = 0.0
    """Serial overscan noise (ADU)."""


@dataclass(frozen=True)
class DetectorRecord:
    """Capture state of one detector of one image.

    ``status`` and ``measurements`` are those of the last recorded capture
    outcome: ``status`` is the capture status code (0 when the file was
    written, the failure's code if one was given) and ``measurements`` is
    None unless the written file was recorded with them. A measurement
    capture could not make (NaN) reads back as NaN.
    """

    image: str
    name: str
    number: int
    state: CaptureState
    attempts: int
    path: str | None
    size: int | None
    checksum: str | None
    error: str | None
    written_at: float | None
    updated_at: float
    measurements: CaptureMeasurements | None = None
    status: int | None = None

    @property
    def raft(self) -> str:
        """``RNN`` part of the name."""
        return self.name.split("_", 1)[0]

    @property
    def sensor(self) -> str:
        """``SNN`` part of the name."""
        return self.name.split("_", 1)[1]

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> DetectorRecord:
        """Build from a database row."""
        return cls(
            image=row["image"],
            name=row["name"],
            number=int(row["number"]),
            state=CaptureState(row["state"]),
            attempts=int(row["attempts"]),
            path=row["path"],
            size=row["size"],
            checksum=row["checksum"],
            error=row["error"],
            written_at=row["written_at"],
            updated_at=float(row["updated_at"]),
            measurements=_measurements_from_row(row),
            status=row["status"],
        )


def measurements_to_row(measurements: CaptureMeasurements | None) -> dict[str, float | None]:
    """Return the detector-row columns of capture measurements (all NULL for None).

    The columns are named as the fields. NaN (a statistic capture could not
    compute) is stored as NULL: SQLite cannot store NaN, and this way both
    back ends read back the same.
    """
    names = list(CaptureMeasurements.__dataclass_fields__)
    if measurements is None:
        return dict.fromkeys(names, None)
    values = {name: float(getattr(measurements, name)) for name in names}
    return {name: None if math.isnan(value) else value for name, value in values.items()}


def _measurements_from_row(row: Mapping[Any, Any]) -> CaptureMeasurements | None:
    """Return the capture measurements of a detector row; None if it has none.

    Inverse of `measurements_to_row`: a NULL next to recorded values is NaN.
    """
    values = {name: row[name] for name in CaptureMeasurements.__dataclass_fields__}
    if all(value is None for value in values.values()):
        return None
    return CaptureMeasurements(
        **{name: math.nan if value is None else float(value) for name, value in values.items()}
    )


@dataclass(frozen=True)
class DeliveryRecord:
    """One item (a detector's file, or the manifest) at one destination.

    ``redelivery`` says why the item was queued again after its file was
    rewritten (e.g. a late Header Service header applied); its ingest then
    replaces the Butler dataset in place. While such an item is on its way
    again, ``status_code`` keeps the outcome of its previous delivery (None
    if it had none) until the new outcome replaces it. ``settled_by`` is the
    worker that made the item done or finally failed.
    """

    id: int
    image: str
    item: str
    destination: str
    source: str
    stage: DeliveryStage
    attempts: int
    status_code: int | None
    last_error: str | None
    next_attempt_at: float
    claimed_by: str | None
    lease_until: float | None
    enqueued_at: float
    transfer_started_at: float | None
    transferred_at: float | None
    ingested_at: float | None
    done_at: float | None
    failed_at: float | None
    remote_uri: str | None
    remote_size: int | None
    remote_checksum: str | None
    redelivery: str | None = None
    settled_by: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> DeliveryRecord:
        """Build from a database row."""
        values = dict(row)
        values["stage"] = DeliveryStage(values["stage"])
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ImageProgress:
    """What is still missing for an image (`Ledger.progress`).

    Attributes
    ----------
    image : `ImageRecord`
        The image.
    expected : `tuple` [`str`, ...]
        Expected detector names.
    not_captured : `tuple` [`str`, ...]
        Detectors whose file is not written yet.
    capture_failed : `dict` [`str`, `str`]
        Detectors whose capture finally failed → reason.
    pending : `dict` [`str`, `tuple` [`str`, ...]]
        Destination → items not delivered yet (still being worked on).
    failed : `dict` [`str`, `dict` [`str`, `str`]]
        Destination → item → reason, for items that finally failed there.
    """

    image: ImageRecord
    expected: tuple[str, ...]
    not_captured: tuple[str, ...]
    capture_failed: dict[str, str]
    pending: dict[str, tuple[str, ...]]
    failed: dict[str, dict[str, str]]

    @property
    def complete(self) -> bool:
        """True if nothing is left to do (every step done or finally failed)."""
        return not self.not_captured and not any(self.pending.values())

    def restricted(self, selected: Mapping[str, Collection[str]]) -> ImageProgress:
        """The progress of the detectors each destination takes.

        Parameters
        ----------
        selected : `~collections.abc.Mapping` [`str`, `~collections.abc.Collection` [`str`]]
            Destination → the detectors it takes (a destination not in it
            takes every one). The manifest item's failures are kept.

        Returns
        -------
        progress : `ImageProgress`
            Expected, not captured and capture failures of the detectors some
            destination takes; pending and failed items of each destination
            among its own detectors.
        """
        everything = set(self.expected)
        wanted = {dest: set(selected.get(dest, everything)) for dest in set(self.pending) | set(self.failed)}
        union = set().union(*wanted.values()) if wanted else everything
        return ImageProgress(
            image=self.image,
            expected=tuple(name for name in self.expected if name in union),
            not_captured=tuple(name for name in self.not_captured if name in union),
            capture_failed={name: why for name, why in self.capture_failed.items() if name in union},
            pending={
                dest: tuple(name for name in items if name in wanted[dest])
                for dest, items in self.pending.items()
            },
            failed={
                dest: {
                    name: why for name, why in items.items() if name in wanted[dest] or name == MANIFEST_ITEM
                }
                for dest, items in self.failed.items()
            },
        )


@dataclass(frozen=True)
class StageLatency:
    """Latency of one pipeline stage over many items (seconds).

    Stages: ``capture`` (image registered → file written), ``queue``
    (enqueued → transfer started), ``transfer`` (transfer started → done),
    ``ingest`` (transferred → ingested), ``delivery`` (enqueued → done) and
    ``end_to_end`` (image registered → done at a destination).
    """

    stage: str
    values: Sequence[float] = field(repr=False)

    @property
    def count(self) -> int:
        """Number of samples."""
        return len(self.values)

    @property
    def median(self) -> float | None:
        """Median, or None without samples."""
        return statistics.median(self.values) if self.values else None

    @property
    def maximum(self) -> float | None:
        """Maximum, or None without samples."""
        return max(self.values) if self.values else None

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0-100, nearest rank), or None without samples."""
        if not self.values:
            return None
        ordered = sorted(self.values)
        index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return ordered[index]


@dataclass(frozen=True)
class PendingSummary:
    """Backlog figures for health telemetry (``archiverHealth``).

    Attributes
    ----------
    images_pending : `int`
        Images not archived yet.
    detectors_pending : `int`
        Detector files not captured yet or not final at some destination.
    oldest_pending_age : `float`
        Seconds since the oldest unarchived image was registered (0 if none).
    queue_depths : `dict` [`str`, `int`]
        Destination → items to transfer or ingest.
    """

    images_pending: int
    detectors_pending: int
    oldest_pending_age: float
    queue_depths: dict[str, int]


@dataclass(frozen=True)
class RetriedParts:
    """What an operator retry of one image put back to work (`Ledger.retry_image`).

    Attributes
    ----------
    image : `str`
        The image (obsid).
    captures : `tuple` [`str`, ...]
        Detectors whose finally failed capture is pending again (to be
        captured again from the DAQ), by detector number.
    deliveries : `dict` [`str`, `tuple` [`str`, ...]]
        Destination → items (detector names, or the manifest) queued again
        there after they finally failed. Only destinations with items.
    reopened : `bool`
        The image's archived state was cleared: ``imageArchived`` is decided
        (and written) again when the retried parts are settled.
    """

    image: str
    captures: tuple[str, ...] = ()
    deliveries: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reopened: bool = False

    @property
    def empty(self) -> bool:
        """True if nothing was put back to work."""
        return not self.captures and not any(self.deliveries.values())

    @property
    def delivery_count(self) -> int:
        """Number of items queued again, over every destination."""
        return sum(len(items) for items in self.deliveries.values())

    def __str__(self) -> str:
        parts = []
        if self.captures:
            parts.append(f"capture of {len(self.captures)} detector(s) ({', '.join(self.captures)})")
        for destination, items in self.deliveries.items():
            parts.append(f"{len(items)} item(s) at {destination} ({', '.join(items)})")
        return f"{self.image}: " + ("; ".join(parts) if parts else "nothing to retry")


@dataclass(frozen=True)
class WorkerRecord:
    """A process working for the Archiver, as its last heartbeat recorded it.

    ``state`` is what the worker said (``idle``, ``busy``, ...);
    ``tasks_done`` and ``tasks_failed`` count the items it finished;
    ``expires_at`` is when the worker counts as lost if it has not beaten
    again.
    """

    name: str
    host: str
    pid: int
    role: str
    state: str
    tasks_done: int
    tasks_failed: int
    joined_at: float
    heartbeat_at: float
    expires_at: float

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> WorkerRecord:
        """Build from a database row."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})
