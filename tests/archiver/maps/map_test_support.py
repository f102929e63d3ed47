"""Real ledger rows for map tests: an image of a camera with detectors in every state."""

from __future__ import annotations

from lsst.ts.archiver.camera import Camera
from lsst.ts.archiver.ledger import DeliveryStage, DeliveryStatus, Ledger

REGISTERED_AT = 1_800_000_000.0
"""Registration time of the test images (a fixed time: tests never depend on today's date)."""

DESTINATION = "oods"


def record_image(
    ledger: Ledger,
    camera: Camera,
    obsid: str,
    *,
    failed: frozenset[str] = frozenset(),
    delivery_failed: frozenset[str] = frozenset(),
    pending: frozenset[str] = frozenset(),
    in_delivery: frozenset[str] = frozenset(),
) -> None:
    """Register an image of every detector of ``camera`` and take each detector to its state.

    Detectors named in ``failed`` fail capture; ``delivery_failed`` are written
    and finally fail at the destination; ``pending`` are not written;
    ``in_delivery`` are written and queued; every other one is written at
    ``REGISTERED_AT + 1.25 s`` and delivered (done).
    """
    ledger.register_image(
        obsid,
        camera=camera.name,
        day_obs=20270115,
        expected={d.name: d.id for d in camera.detectors},
        now=REGISTERED_AT,
    )
    for detector in camera.detectors:
        name = detector.name
        if name in failed:
            ledger.record_capture_failure(
                obsid, name, "DAQ: <source> not found & gone", now=REGISTERED_AT + 2
            )
        elif name not in pending:
            ledger.record_capture(
                obsid,
                name,
                path=f"/staging/{obsid}_{name}.fits",
                size=1000,
                checksum="0" * 32,
                destinations=[DESTINATION],
                now=REGISTERED_AT + 1.25,
            )
    for item in ledger.claim(
        DESTINATION, DeliveryStage.TRANSFER, "test-worker", limit=1000, now=REGISTERED_AT + 3
    ):
        if item.item in in_delivery:
            ledger.mark_retry(item.id, "test-worker", "slow", delay=1e6, now=REGISTERED_AT + 3)
        elif item.item in delivery_failed:
            ledger.mark_failed(
                item.id, "test-worker", DeliveryStatus.TRANSFER_FAILURE, "disk full", now=REGISTERED_AT + 4
            )
        else:
            ledger.mark_transferred(
                item.id,
                "test-worker",
                remote_uri=f"file:///oods/{item.item}.fits",
                size=1000,
                checksum="0" * 32,
                ingest=False,
                now=REGISTERED_AT + 4,
            )
