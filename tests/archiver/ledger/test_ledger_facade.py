"""`Ledger`: the facade keeps its public methods and delegates to one manager per concept."""

from __future__ import annotations

import inspect

from lsst.ts.archiver.ledger import (
    ExposureManager,
    ImageManager,
    Ledger,
    LockManager,
    QueueManager,
    ReportManager,
)

MANAGED = {
    ImageManager: (
        "register_image",
        "record_found",
        "set_header_source",
        "set_header_pending",
        "set_manifest",
        "record_capture",
        "record_capture_failure",
        "record_rewrite",
        "mark_archived",
        "reopen_image",
        "retry_image",
        "image",
        "has_image",
        "detectors",
        "unfinished_images",
        "images_with_header_pending",
        "images_by_header_source",
    ),
    QueueManager: (
        "enqueue",
        "requeue_unqueued",
        "requeue_items",
        "claim",
        "renew_claims",
        "mark_transferred",
        "mark_ingested",
        "mark_ingested_many",
        "mark_retry",
        "make_due",
        "mark_failed",
        "settled_since",
        "release_claims",
        "retry_failed",
        "deliveries",
        "unfinished_deliveries",
        "queue_depths",
    ),
    ReportManager: (
        "pending_summary",
        "undelivered_by_destination",
        "mean_detector_size",
        "failed_counts",
        "images_with_failures",
        "is_settled",
        "progress",
        "latest_images",
        "recent_failures",
        "stage_latencies",
    ),
    LockManager: ("acquire_lock", "release_lock", "lock_holder"),
    ExposureManager: ("record_outcome",),
}


def test_every_public_method_of_the_facade_has_its_managers_signature() -> None:
    public = {name for name, _ in inspect.getmembers(Ledger, inspect.isfunction) if not name.startswith("_")}
    managed = {name for names in MANAGED.values() for name in names}
    assert public == managed | {"close"}
    for manager, names in MANAGED.items():
        for name in names:
            assert inspect.signature(getattr(Ledger, name)) == inspect.signature(getattr(manager, name)), name


def test_the_managers_reached_as_attributes_share_the_facades_database(ledger: Ledger) -> None:
    ledger.images.register_image(
        "MC_O_20261123_000001", camera="LSSTCam", day_obs=20261123, expected={"R22_S11": 94}
    )
    ledger.images.record_capture("MC_O_20261123_000001", "R22_S11", path="/a", destinations=["dbb"])
    assert ledger.queue.queue_depths() == {"dbb": 1}
    assert ledger.reports.progress("MC_O_20261123_000001").pending == {"dbb": ("R22_S11",)}
    assert ledger.dialect in ("sqlite", "postgresql") and ledger.url == ledger.database.url
