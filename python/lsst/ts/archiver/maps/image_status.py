"""What the ledger says of each detector of one image, for its focal-plane map.

`read_image_status` reads an image, its detector rows and its delivery
items in one pass and sums each detector up as one `DetectorState`, with
its latency: seconds from the image's registration in the ledger (its
``endOfImageTelemetry``, or the command or catch-up pass that started it)
to its file being written. Blocking (ledger reads); asyncio callers run it
through the `~lsst.ts.archiver.ledger.LedgerRunner`.
"""

from __future__ import annotations

__all__ = ["DetectorState", "DetectorStatus", "ImageStatus", "read_image_status"]

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from ..camera import Camera
from ..ledger import CaptureState, DeliveryRecord, DeliveryStage, Ledger


class DetectorState(enum.Enum):
    """How far one detector of an image has come (one colour on the map)."""

    ARCHIVED = "archived"
    """Written and delivered to every destination it was queued for (or
    found already archived by catch-up)."""
    IN_DELIVERY = "written, in delivery"
    """Written; some destination still has it to transfer or ingest."""
    CAPTURING = "not written yet"
    """Expected; its file is not written yet."""
    FAILED = "failed"
    """Its capture or a delivery finally failed."""
    MISSING = "missing"
    """Not written and the image is settled without it, or not expected in this image."""


@dataclass(frozen=True)
class DetectorStatus:
    """One detector of one image.

    Attributes
    ----------
    name : `str`
        ``RNN_SNN``.
    state : `DetectorState`
        Summary of its capture and deliveries.
    latency : `float` or `None`
        Seconds from the image's registration to its file being written
        (None while not written).
    reason : `str` or `None`
        Why it failed (capture error, or the first failed destination's).
    """

    name: str
    state: DetectorState
    latency: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ImageStatus:
    """One image as the ledger has it, detector by detector.

    Attributes
    ----------
    obsid : `str`
        The image name.
    camera : `str`
        Instrument name (``LSSTCam`` ...).
    registered_at : `float`
        Unix seconds of its registration.
    archived_at : `float` or `None`
        Unix seconds ``imageArchived`` was decided (None while open).
    archive_status : `int` or `None`
        ``imageArchived`` status code (0: every file archived).
    detectors : `tuple` [`DetectorStatus`, ...]
        Every detector of the camera, in detector-number order (those the
        image does not expect are `DetectorState.MISSING`).
    """

    obsid: str
    camera: str
    registered_at: float
    archived_at: float | None
    archive_status: int | None
    detectors: tuple[DetectorStatus, ...]

    def count(self, state: DetectorState) -> int:
        """Detectors in ``state``."""
        return sum(1 for d in self.detectors if d.state is state)

    @property
    def archive_latency(self) -> float | None:
        """Seconds from registration to ``imageArchived`` (None while open)."""
        return None if self.archived_at is None else self.archived_at - self.registered_at

    @property
    def max_latency(self) -> float | None:
        """The slowest detector's latency (None if none is written)."""
        values = [d.latency for d in self.detectors if d.latency is not None]
        return max(values) if values else None


def _detector_state(
    capture: CaptureState, deliveries: Sequence[DeliveryRecord], image_settled: bool
) -> tuple[DetectorState, str | None]:
    if capture is CaptureState.FOUND:
        return DetectorState.ARCHIVED, None
    failed = [d for d in deliveries if d.stage is DeliveryStage.FAILED]
    if failed:
        first = failed[0]
        return DetectorState.FAILED, f"{first.destination}: {first.last_error or 'delivery failed'}"
    if capture is CaptureState.PENDING:
        return (DetectorState.MISSING if image_settled else DetectorState.CAPTURING), None
    if not deliveries or any(not d.stage.final for d in deliveries):
        return DetectorState.IN_DELIVERY, None
    return DetectorState.ARCHIVED, None


def read_image_status(ledger: Ledger, camera: Camera, obsid: str) -> ImageStatus:
    """Read an image's status from the ledger, detector by detector.

    Parameters
    ----------
    ledger : `~lsst.ts.archiver.ledger.Ledger`
        The ledger.
    camera : `~lsst.ts.archiver.camera.Camera`
        The image's camera (every one of its detectors gets a status).
    obsid : `str`
        The image.

    Raises
    ------
    lsst.ts.archiver.ledger.UnknownImageError
        If the image is not in the ledger.
    """
    image = ledger.image(obsid)
    rows = {row.name: row for row in ledger.detectors(obsid)}
    by_item: dict[str, list[DeliveryRecord]] = {}
    for delivery in ledger.deliveries(image=obsid):
        by_item.setdefault(delivery.item, []).append(delivery)
    settled = image.archived_at is not None
    statuses = []
    for name in camera.detector_names:
        row = rows.get(name)
        if row is None:
            statuses.append(DetectorStatus(name, DetectorState.MISSING, reason="not expected in this image"))
            continue
        if row.state is CaptureState.FAILED:
            statuses.append(DetectorStatus(name, DetectorState.FAILED, reason=row.error or "capture failed"))
            continue
        state, reason = _detector_state(row.state, by_item.get(name, []), settled)
        latency = None if row.written_at is None else max(0.0, row.written_at - image.registered_at)
        statuses.append(DetectorStatus(name, state, latency, reason))
    return ImageStatus(
        obsid=image.name,
        camera=image.camera,
        registered_at=image.registered_at,
        archived_at=image.archived_at,
        archive_status=image.archive_status,
        detectors=tuple(statuses),
    )
