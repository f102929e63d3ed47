"""`StatusSnapshot`: what the status page shows, read from the ledger in one go.

The latest images (each as a `~lsst.ts.archiver.maps.ImageStatus`), the
queue depth and finally failed items of each destination, the workers
(capture workers of the CSC's pool, and the processes that heartbeat in the
ledger's ``worker`` table) and the recent failures. Blocking (ledger
reads); the server runs `read_snapshot` through the ledger runner.
"""

from __future__ import annotations

__all__ = ["FailureRecord", "StatusSnapshot", "read_snapshot", "utc_iso"]

import datetime
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..camera import Camera
from ..ledger import FailureRecord, Ledger, WorkerRecord
from ..maps import DetectorState, ImageStatus, read_image_status


@dataclass(frozen=True)
class StatusSnapshot:
    """Everything on the status page, read at one time.

    Attributes
    ----------
    component : `str`
        The Archiver (``CCArchiver`` ...).
    camera : `str`
        Instrument name.
    taken_at : `float`
        Unix seconds the snapshot was read.
    images : `tuple` [`~lsst.ts.archiver.maps.ImageStatus`, ...]
        The latest images, newest first.
    destinations : `tuple` [`str`, ...]
        Enabled destinations, in configuration order.
    queue_depths : `dict` [`str`, `int`]
        Destination → items to transfer or ingest.
    failed_counts : `dict` [`str`, `int`]
        Destination → items finally failed there (until retried).
    images_pending : `int`
        Images not archived yet.
    capture_workers : `int`
        Capture workers alive in the CSC's pool.
    workers : `tuple` [`~lsst.ts.archiver.ledger.WorkerRecord`, ...]
        Processes whose heartbeat in the ledger has not expired.
    failures : `tuple` [`FailureRecord`, ...]
        The most recent failures, newest first.
    """

    component: str
    camera: str
    taken_at: float
    images: tuple[ImageStatus, ...]
    destinations: tuple[str, ...]
    queue_depths: dict[str, int]
    failed_counts: dict[str, int]
    images_pending: int
    capture_workers: int
    workers: tuple[WorkerRecord, ...]
    failures: tuple[FailureRecord, ...]

    def to_json(self) -> dict[str, Any]:
        """The snapshot as JSON-ready data (``/status.json``); times as UTC ISO 8601."""
        names = list(self.destinations) + sorted(
            (set(self.queue_depths) | set(self.failed_counts)) - set(self.destinations)
        )
        return {
            "component": self.component,
            "camera": self.camera,
            "time": utc_iso(self.taken_at),
            "images_pending": self.images_pending,
            "images": [_image_json(image) for image in self.images],
            "queues": [
                {
                    "destination": name,
                    "depth": self.queue_depths.get(name, 0),
                    "failed": self.failed_counts.get(name, 0),
                }
                for name in names
            ],
            "workers": {
                "capture_alive": self.capture_workers,
                "processes": [
                    {
                        "name": w.name,
                        "host": w.host,
                        "pid": w.pid,
                        "role": w.role,
                        "state": w.state,
                        "tasks_done": w.tasks_done,
                        "tasks_failed": w.tasks_failed,
                        "heartbeat": utc_iso(w.heartbeat_at),
                    }
                    for w in self.workers
                ],
            },
            "failures": [
                {
                    "time": utc_iso(f.time),
                    "obsid": f.obsid,
                    "item": f.item,
                    "where": f.where,
                    "reason": f.reason,
                }
                for f in self.failures
            ],
        }


def utc_iso(seconds: float) -> str:
    """Unix seconds as UTC ISO 8601 to the millisecond (``2026-11-23T03:04:05.678Z``)."""
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _image_json(image: ImageStatus) -> dict[str, Any]:
    return {
        "obsid": image.obsid,
        "map": f"/map/{image.obsid}.png",
        "registered": utc_iso(image.registered_at),
        "archived": None if image.archived_at is None else utc_iso(image.archived_at),
        "archive_status": image.archive_status,
        "detectors": {state.value: image.count(state) for state in DetectorState},
        "max_latency": image.max_latency,
    }


def read_snapshot(
    ledger: Ledger,
    camera: Camera,
    *,
    component: str,
    destinations: Sequence[str],
    capture_workers: int,
    images: int = 3,
    failures: int = 20,
    now: float | None = None,
) -> StatusSnapshot:
    """Read everything the status page shows.

    Parameters
    ----------
    ledger : `~lsst.ts.archiver.ledger.Ledger`
        The Archiver's ledger.
    camera : `~lsst.ts.archiver.camera.Camera`
        Its camera (only its images are shown).
    component : `str`
        The Archiver's SAL name.
    destinations : sequence of `str`
        Enabled destinations, in configuration order.
    capture_workers : `int`
        Capture workers alive in the CSC's pool.
    images : `int`, optional
        How many of the latest images to show.
    failures : `int`, optional
        How many recent failures to show.
    now : `float`, optional
        The snapshot's time (Unix seconds); default now.
    """
    summary = ledger.pending_summary(now=now)
    names = ledger.latest_images(camera=camera.name, limit=images)
    return StatusSnapshot(
        component=component,
        camera=camera.name,
        taken_at=time.time() if now is None else now,
        images=tuple(read_image_status(ledger, camera, name) for name in names),
        destinations=tuple(destinations),
        queue_depths=summary.queue_depths,
        failed_counts=ledger.failed_counts(),
        images_pending=summary.images_pending,
        capture_workers=capture_workers,
        workers=tuple(ledger.workers.live(now=now)),
        failures=tuple(ledger.recent_failures(limit=failures)),
    )
