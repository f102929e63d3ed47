"""Results of capture and delivery turned into the Archiver's SAL events and telemetry.

`ArchiverReporter` is the one place that writes ``imageRetrievalForArchiving``,
``imageInOODS``, ``imageArchived``, ``workerStatus`` and ``focalPlaneCapture``. It implements the
pipeline's `~lsst.ts.archiver.pipeline.PipelineReporter` and takes the delivery
service's result callbacks. ``focalPlaneCapture`` is built by a pure function
(`focal_plane_capture`) from what the ledger records, so it is right after a
restart.
"""

from __future__ import annotations

__all__ = ["ArchiverReporter", "FOCAL_PLANE_FIELDS", "focal_plane_capture"]

import logging
import math
from collections.abc import Callable, Collection, Sequence
from typing import Any

from lsst.ts import salkit

from .capture import CaptureStatus, DetectorOutcome, WorkerStatus
from .catch_up.status import CatchUpStatus
from .config_schema import MAX_DESTINATIONS
from .delivery import ImageArchived, ImageDelivered, ImageInOods
from .error_codes import ErrorCode
from .ledger import CaptureState, DeliveryRecord, DetectorRecord, LedgerError, LedgerRunner, Trigger
from .oods_face import OodsFace, image_in_oods_fields

FOCAL_PLANE_FIELDS: tuple[str, ...] = (
    "detector",
    "status",
    "retrievalTime",
    "writeTime",
    "deliveryTime",
    "ingestTime",
    "bytesWritten",
    "medianSignal",
    "noise",
)
"""The per-detector array fields of ``focalPlaneCapture``, in wire order."""

_INTEGER_FIELDS = frozenset({"detector", "status", "bytesWritten"})

_RECORDED_BY = {
    Trigger.LIVE: "endOfImageTelemetry",
    Trigger.COMMANDED: "archiveImage",
    Trigger.CATCH_UP: "catch-up found it",
    Trigger.STREAM: "the DAQ stream showed it",
}
"""What recorded an image in the ledger, by trigger (for the console line's latency)."""

FaultCallback = Callable[[ErrorCode, str], None]
"""Sends the CSC to FAULT without blocking: ``fault(code, report)``."""


def focal_plane_capture(
    detectors: Sequence[DetectorRecord],
    deliveries: Sequence[DeliveryRecord],
    oods_destinations: Collection[str],
    slots: int,
) -> dict[str, list[Any]]:
    """The per-detector arrays of ``focalPlaneCapture`` for one image.

    Parameters
    ----------
    detectors : sequence of `~lsst.ts.archiver.ledger.DetectorRecord`
        The image's detectors as the ledger records them.
    deliveries : sequence of `~lsst.ts.archiver.ledger.DeliveryRecord`
        The image's deliveries; delivery and ingest times are taken from the
        OODS destinations.
    oods_destinations : collection of `str`
        Names of the destinations whose times are reported.
    slots : `int`
        Array length of the topic (205, 9 or 1); slot = detector number,
        unused slots stay zero.

    Returns
    -------
    arrays : `dict` [`str`, `list`]
        Field name → list of ``slots`` values, for every `FOCAL_PLANE_FIELDS`.
    """
    arrays: dict[str, list[Any]] = {
        name: [0] * slots if name in _INTEGER_FIELDS else [0.0] * slots for name in FOCAL_PLANE_FIELDS
    }
    by_item: dict[str, list[DeliveryRecord]] = {}
    for delivery in deliveries:
        if delivery.destination in oods_destinations:
            by_item.setdefault(delivery.item, []).append(delivery)
    for record in detectors:
        slot = record.number
        if not 0 <= slot < slots:
            continue
        arrays["detector"][slot] = record.number
        arrays["status"][slot] = _capture_status(record)
        arrays["bytesWritten"][slot] = int(record.size or 0)
        measurements = record.measurements
        if measurements is not None:
            arrays["retrievalTime"][slot] = _finite(measurements.retrieval_time)
            arrays["writeTime"][slot] = _finite(measurements.write_time)
            arrays["medianSignal"][slot] = _finite(measurements.median_signal)
            arrays["noise"][slot] = _finite(measurements.noise)
        for delivery in by_item.get(record.name, ()):
            if delivery.transferred_at is not None:
                arrays["deliveryTime"][slot] = delivery.transferred_at - delivery.enqueued_at
                if delivery.ingested_at is not None:
                    arrays["ingestTime"][slot] = delivery.ingested_at - delivery.transferred_at
    return arrays


def _capture_status(record: DetectorRecord) -> int:
    if record.state is CaptureState.WRITTEN:
        return int(CaptureStatus.OK)
    if record.state is CaptureState.FAILED and record.status is not None:
        return record.status
    return int(CaptureStatus.UNEXPECTED)


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


class ArchiverReporter:
    """Writes the Archiver's per-image events and telemetry.

    Parameters
    ----------
    controller : `lsst.ts.salkit.Controller`
        The Archiver (its ``evt_*`` and ``tel_*`` topics).
    camera : `str`
        Camera name written in the events (``LSSTCam``...).
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        The ledger (what ``focalPlaneCapture`` is built from).
    oods_destinations : collection of `str`
        ``focalPlaneCapture`` is written once the image is archived and final
        at these destinations.
    fault : callable
        ``fault(code, report)``: go to FAULT without blocking.
    log : `logging.Logger`
        The CSC's logger.
    oods_face : `~lsst.ts.archiver.oods_face.OodsFace` or `None`, optional
        The camera's OODS component, if the Archiver runs as it: it writes
        every ``imageInOODS`` too.
    """

    def __init__(
        self,
        controller: salkit.Controller,
        camera: str,
        runner: LedgerRunner,
        oods_destinations: Collection[str],
        fault: FaultCallback,
        log: logging.Logger,
        *,
        oods_face: OodsFace | None = None,
    ) -> None:
        self.controller = controller
        self.camera = camera
        self.runner = runner
        self.oods_destinations = frozenset(oods_destinations)
        self.fault = fault
        self.log = log
        self.oods_face = oods_face
        self._reported: dict[tuple[str, float], None] = {}

    def _topic(self, name: str) -> Any:
        return getattr(self.controller, name)

    # ------------------------------------------------------------------ PipelineReporter

    async def detector_captured(self, obsid: str, outcome: DetectorOutcome) -> None:
        """``imageRetrievalForArchiving``: a detector's file is written, or its capture failed."""
        raft, _, sensor = outcome.name.partition("_")
        await self._topic("evt_imageRetrievalForArchiving").set_write(
            camera=self.camera,
            obsid=obsid,
            raft=raft,
            sensor=sensor,
            archiverName=self.controller.salinfo.name,
            statusCode=int(outcome.status),
            description=outcome.description,
            force_output=True,
        )

    async def image_captured(self, obsid: str, outcomes: Sequence[DetectorOutcome]) -> None:
        """Every detector has a capture outcome (they are in the ledger; nothing to keep)."""
        failed = [o.name for o in outcomes if o.status is not CaptureStatus.OK]
        if failed:
            self.log.warning(f"{obsid}: capture failed for {len(failed)} detector(s): {', '.join(failed)}")

    def pipeline_fault(self, code: ErrorCode, report: str) -> None:
        """The Archiver cannot work: FAULT."""
        self.fault(code, report)

    # ------------------------------------------------------------------ delivery results

    async def image_in_oods(self, result: ImageInOods) -> None:
        """``imageInOODS`` per detector at an OODS destination."""
        await self._topic("evt_imageInOODS").set_write(**image_in_oods_fields(result), force_output=True)
        if self.oods_face is not None:
            try:
                await self.oods_face.image_in_oods(result)
            except Exception:
                self.log.exception(f"imageInOODS of {self.oods_face.salinfo.name} not written")
        await self.focal_plane_capture_if_done(result.obsid)

    async def image_archived(self, result: ImageArchived) -> None:
        """``imageArchived`` per exposure."""
        await self._topic("evt_imageArchived").set_write(
            camera=result.camera,
            obsid=result.obsid,
            expectedSensors=result.expected_sensors,
            archivedSensors=result.archived_sensors,
            missingSensors=result.missing_sensors,
            statusCode=result.status_code,
            description=result.description,
            force_output=True,
        )
        await self._log_image_archived(result)
        await self.focal_plane_capture_if_done(result.obsid)

    async def image_delivered(self, result: ImageDelivered) -> None:
        """``imageDelivered`` per destination and exposure."""
        await self._topic("evt_imageDelivered").set_write(
            camera=result.camera,
            obsid=result.obsid,
            destination=result.destination,
            role=result.role,
            expectedSensors=result.expected_sensors,
            deliveredSensors=result.delivered_sensors,
            missingSensors=result.missing_sensors,
            statusCode=result.status_code,
            description=result.description,
            force_output=True,
        )
        if result.status_code != 0:
            self.log.warning(f"{result.obsid} at {result.destination}: {result.description}")

    async def _log_image_archived(self, result: ImageArchived) -> None:
        """The image's console line: archived or incomplete, counts, latency since it was recorded."""
        try:
            image = await self.runner.run(self.runner.ledger.image, result.obsid)
        except LedgerError:
            image = None  # the ledger's callers report it; the line goes without latency
        latency = ""
        if image is not None and image.archived_at is not None:
            since = _RECORDED_BY.get(image.trigger, "it was recorded")
            latency = f", {image.archived_at - image.registered_at:.1f} s after {since}"
        counts = f"{result.archived_sensors}/{result.expected_sensors} detectors"
        if result.status_code == 0:
            self.log.info(f"{result.obsid} archived: {counts}{latency}")
        else:
            self.log.warning(
                f"{result.obsid} incomplete (status {result.status_code}): {counts}{latency}, "
                f"missing {result.missing_sensors}: {result.description}"
            )

    def ledger_error(self, error: Exception) -> None:
        """The ledger cannot be reached: FAULT."""
        self.fault(ErrorCode.LEDGER_UNAVAILABLE, f"Ledger unavailable: {error}")

    # ------------------------------------------------------------------ workers

    async def worker_status(self, status: WorkerStatus) -> None:
        """``workerStatus``: a capture or delivery worker joined, changed state or was lost."""
        await self._topic("evt_workerStatus").set_write(
            host=status.host,
            pid=status.pid,
            role=status.role,
            state=status.state,
            tasksDone=status.tasks_done,
            tasksFailed=status.tasks_failed,
            force_output=True,
        )

    # ------------------------------------------------------------------ catch-up

    async def catch_up_status(self, status: CatchUpStatus) -> None:
        """``catchUpStatus``: the catch-up backlog, its rate and when it will be empty."""
        names = list(status.destinations)[:MAX_DESTINATIONS]
        padding = MAX_DESTINATIONS - len(names)
        await self._topic("evt_catchUpStatus").set_write(
            backlogImages=status.backlog_images,
            backlogBytes=status.backlog_bytes,
            destinationImages=[status.destinations[n][0] for n in names] + [0] * padding,
            destinationBytes=[float(status.destinations[n][1]) for n in names] + [0.0] * padding,
            rate=status.rate,
            timeToEmpty=status.time_to_empty,
            oldestMissing=status.oldest_missing,
            archiveReachable=status.archive_reachable,
            force_output=True,
        )

    # ------------------------------------------------------------------ focalPlaneCapture

    async def focal_plane_capture_if_done(self, obsid: str) -> None:
        """Write ``focalPlaneCapture`` once the image is archived and final at every OODS.

        Written once per archiving: an image archived again after
        ``retryImage`` is reported again, with its new outcomes.
        """
        ledger = self.runner.ledger
        try:
            image = await self.runner.run(ledger.image, obsid)
            if image.archived_at is None:
                return
            key = (obsid, image.archived_at)
            if key in self._reported:
                return
            deliveries = await self.runner.run(ledger.deliveries, image=obsid)
            if any(d.destination in self.oods_destinations and not d.stage.final for d in deliveries):
                return
            if key in self._reported:
                return
            self._reported[key] = None
            while len(self._reported) > 1000:
                self._reported.pop(next(iter(self._reported)))
            detectors = await self.runner.run(ledger.detectors, obsid)
        except LedgerError as e:
            self.ledger_error(e)
            return
        topic = self._topic("tel_focalPlaneCapture")
        template = topic.DataType()
        scalar = not isinstance(template.detector, list)
        slots = 1 if scalar else len(template.detector)
        arrays = focal_plane_capture(detectors, deliveries, self.oods_destinations, slots)
        values = {name: (value[0] if scalar else value) for name, value in arrays.items()}
        await topic.set_write(obsid=obsid, **values)
