"""`DeliveryTracker`: item results, ``imageArchived`` once, ledger errors, callbacks.

The tracker is driven directly, as a destination worker would drive it, on a
real (SQLite) ledger; no transfer takes place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from delivery_test_support import RecordingHandler, destination, ledger_runner

from lsst.ts.archiver.delivery import (
    DeliveryTracker,
    DestinationConfig,
    FileDelivered,
    ImageArchived,
    ImageInOods,
)
from lsst.ts.archiver.ledger import (
    MANIFEST_ITEM,
    DeliveryRecord,
    DeliveryStage,
    DeliveryStatus,
    Ledger,
    LedgerError,
    LedgerRunner,
)

OBSID = "CC_O_20261123_000001"
EXPECTED = {"R22_S11": 4, "R22_S12": 5}
WORKER = "worker-a"

OODS = destination("oods", "oods", "/oods")
DBB = destination("dbb", "dbb", "/dbb")


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[LedgerRunner]:
    """A ledger holding one image whose two files (and manifest) are queued for oods and dbb."""
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        ledger.register_image(OBSID, camera="LSSTComCam", day_obs=20261123, expected=EXPECTED)
        for name in EXPECTED:
            ledger.record_capture(
                OBSID, name, path=str(tmp_path / f"{OBSID}_{name}.fits"), destinations=["oods", "dbb"]
            )
        ledger.set_manifest(OBSID, str(tmp_path / f"{OBSID}_expectedSensors.json"), destinations=["dbb"])
        yield runner


class Results:
    """What the tracker reported, by kind (async and plain callbacks mixed)."""

    def __init__(self) -> None:
        self.files: list[FileDelivered] = []
        self.oods: list[ImageInOods] = []
        self.archived: list[ImageArchived] = []
        self.ledger: list[Exception] = []

    async def on_image_archived(self, result: ImageArchived) -> None:
        self.archived.append(result)

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_file_delivered": self.files.append,
            "on_image_in_oods": self.oods.append,
            "on_image_archived": self.on_image_archived,
            "on_ledger_error": self.ledger.append,
        }


def make_tracker(runner: LedgerRunner, results: Results, **kwargs: Any) -> DeliveryTracker:
    return DeliveryTracker(runner, ["dbb"], **results.callbacks(), **kwargs)


def claim_all(
    runner: LedgerRunner, config: DestinationConfig, obsid: str = OBSID
) -> dict[str, DeliveryRecord]:
    """Claim every queued item of an image at a destination, as a worker would."""
    claimed = runner.ledger.claim(config.name, DeliveryStage.TRANSFER, WORKER, limit=100)
    return {r.item: r for r in claimed if r.image == obsid}


def deliver(runner: LedgerRunner, record: DeliveryRecord) -> DeliveryRecord:
    """Record a claimed item as delivered (transfer, no ingest)."""
    uri = f"file:///{record.destination}/{record.item}"
    assert runner.ledger.mark_transferred(
        record.id, WORKER, remote_uri=uri, size=1, checksum=None, ingest=False
    )
    return record


def fail(runner: LedgerRunner, record: DeliveryRecord, reason: str) -> DeliveryRecord:
    """Record a claimed item as finally failed."""
    assert runner.ledger.mark_failed(record.id, WORKER, DeliveryStatus.TRANSFER_FAILURE, reason)
    return record


async def test_file_at_an_oods_destination_reports_file_delivered_and_image_in_oods(
    runner: LedgerRunner,
) -> None:
    results = Results()
    tracker = make_tracker(runner, results)
    image = await tracker.image(OBSID)
    item = deliver(runner, claim_all(runner, OODS)["R22_S11"])
    await tracker.item_final(OODS, image, item, DeliveryStatus.OK, "", "file:///oods/R22_S11")
    (delivered,) = results.files
    assert (delivered.obsid, delivered.item, delivered.destination, delivered.role) == (
        OBSID,
        "R22_S11",
        "oods",
        "oods",
    )
    assert (delivered.status, delivered.uri, delivered.attempts) == (
        DeliveryStatus.OK,
        "file:///oods/R22_S11",
        1,
    )
    (in_oods,) = results.oods
    assert (in_oods.camera, in_oods.obsid, in_oods.raft, in_oods.sensor) == (
        "LSSTComCam",
        OBSID,
        "R22",
        "S11",
    )
    assert (in_oods.status_code, in_oods.destination) == (0, "oods")
    assert in_oods.description == "R22_S11 ingested into oods"
    assert results.archived == []  # oods is not an archive destination


async def test_failure_at_an_oods_destination_carries_its_status_and_reason(runner: LedgerRunner) -> None:
    results = Results()
    tracker = make_tracker(runner, results)
    image = await tracker.image(OBSID)
    item = fail(runner, claim_all(runner, OODS)["R22_S12"], "disk gone")
    await tracker.item_final(OODS, image, item, DeliveryStatus.TRANSFER_FAILURE, "disk gone")
    (in_oods,) = results.oods
    assert (in_oods.sensor, in_oods.status_code, in_oods.description) == ("S12", 3, "disk gone")
    assert results.files[0].status is DeliveryStatus.TRANSFER_FAILURE


async def test_manifest_and_other_roles_report_only_file_delivered(runner: LedgerRunner) -> None:
    results = Results()
    tracker = make_tracker(runner, results)
    image = await tracker.image(OBSID)
    items = claim_all(runner, DBB)
    for name in (MANIFEST_ITEM, "R22_S11"):
        await tracker.item_final(DBB, image, deliver(runner, items[name]), DeliveryStatus.OK)
    assert [f.item for f in results.files] == [MANIFEST_ITEM, "R22_S11"]
    assert results.oods == []


async def test_exposure_is_archived_once_when_every_file_is_at_the_archive_destination(
    runner: LedgerRunner,
) -> None:
    results = Results()
    tracker = make_tracker(runner, results)
    image = await tracker.image(OBSID)
    items = claim_all(runner, DBB)
    await tracker.item_final(DBB, image, deliver(runner, items[MANIFEST_ITEM]), DeliveryStatus.OK)
    await tracker.item_final(DBB, image, deliver(runner, items["R22_S11"]), DeliveryStatus.OK)
    assert results.archived == []  # R22_S12 is still on its way
    await tracker.item_final(DBB, image, deliver(runner, items["R22_S12"]), DeliveryStatus.OK)
    (archived,) = results.archived
    assert (archived.camera, archived.obsid, archived.status_code) == ("LSSTComCam", OBSID, 0)
    assert (archived.expected_sensors, archived.archived_sensors, archived.missing_sensors) == (2, 2, "")
    assert archived.description == "All 2 files archived in dbb"
    assert runner.ledger.image(OBSID).archived_at is not None
    # Asked again, or by another tracker (a restarted service): never reported twice.
    await tracker.check_archived(OBSID)
    again = Results()
    await make_tracker(runner, again).check_archived(OBSID)
    assert len(results.archived) == 1 and again.archived == []


async def test_failed_capture_and_failed_delivery_are_missing_with_their_reasons(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        ledger.register_image(OBSID, camera="LSSTComCam", day_obs=20261123, expected=EXPECTED)
        ledger.record_capture(
            OBSID, "R22_S11", path=str(tmp_path / f"{OBSID}_R22_S11.fits"), destinations=["dbb"]
        )
        results = Results()
        tracker = make_tracker(runner, results)
        image = await tracker.image(OBSID)
        await runner.run(ledger.record_capture_failure, OBSID, "R22_S12", "DAQ source unreadable")
        await tracker.check_archived(OBSID)
        assert results.archived == []  # R22_S11 is still on its way
        item = fail(runner, claim_all(runner, DBB)["R22_S11"], "bucket gone")
        await tracker.item_final(DBB, image, item, DeliveryStatus.TRANSFER_FAILURE, "bucket gone")
    (archived,) = results.archived
    assert (archived.status_code, archived.archived_sensors, archived.missing_sensors) == (
        1,
        0,
        "R22_S11:R22_S12",
    )
    assert archived.description.startswith("0 of 2 files archived in dbb; missing: ")
    assert "R22_S12: capture failed: DAQ source unreadable" in archived.description
    assert "R22_S11 at dbb: bucket gone" in archived.description


async def test_items_at_a_destination_that_does_not_archive_never_archive_the_exposure(
    runner: LedgerRunner,
) -> None:
    results = Results()
    tracker = make_tracker(runner, results)
    image = await tracker.image(OBSID)
    for item in claim_all(runner, OODS).values():
        await tracker.item_final(OODS, image, deliver(runner, item), DeliveryStatus.OK)
    assert len(results.oods) == 2 and results.archived == []


async def test_items_ingested_reports_each_item_then_archives_once(runner: LedgerRunner) -> None:
    results = Results()
    tracker = make_tracker(runner, results)
    image = await tracker.image(OBSID)
    for item in claim_all(runner, DBB).values():
        uri = f"file:///dbb/{item.item}"
        ingest = item.item != MANIFEST_ITEM
        runner.ledger.mark_transferred(item.id, WORKER, remote_uri=uri, size=1, checksum=None, ingest=ingest)
    waiting = runner.ledger.claim("dbb", DeliveryStage.INGEST, WORKER, limit=100)
    assert runner.ledger.mark_ingested_many([item.id for item in waiting], WORKER)
    await tracker.items_ingested(DBB, image, waiting)
    assert sorted((f.item, f.status, f.uri) for f in results.files) == [
        (name, DeliveryStatus.OK, f"file:///dbb/{name}") for name in EXPECTED
    ]
    (archived,) = results.archived
    assert archived.archived_sensors == 2
    await tracker.items_ingested(DBB, image, [])  # nothing recorded: nothing reported
    assert len(results.files) == 2


async def test_ledger_error_is_logged_on_the_given_logger_and_reported(
    runner: LedgerRunner, recorded_log: tuple[logging.Logger, RecordingHandler]
) -> None:
    log, handler = recorded_log
    results = Results()
    tracker = make_tracker(runner, results, log=log)
    error = LedgerError("ledger unavailable: connection refused")
    await tracker.ledger_error(error)
    assert results.ledger == [error]
    (record,) = handler.records
    assert record.name == f"{log.name}.DeliveryTracker" and record.levelno == logging.ERROR
    assert "connection refused" in record.getMessage()


async def test_a_failing_callback_is_logged_and_does_not_stop_the_others(
    runner: LedgerRunner, recorded_log: tuple[logging.Logger, RecordingHandler]
) -> None:
    log, handler = recorded_log
    results = Results()

    def broken(result: FileDelivered) -> None:
        raise RuntimeError("SAL write failed")

    tracker = DeliveryTracker(
        runner, ["dbb"], on_file_delivered=broken, on_image_in_oods=results.oods.append, log=log
    )
    image = await tracker.image(OBSID)
    await tracker.item_final(
        OODS, image, deliver(runner, claim_all(runner, OODS)["R22_S11"]), DeliveryStatus.OK
    )
    assert len(results.oods) == 1
    (record,) = handler.records
    assert "Result callback" in record.getMessage() and record.exc_info is not None


async def test_image_records_are_read_from_the_ledger_once(runner: LedgerRunner) -> None:
    tracker = make_tracker(runner, Results())
    first = await tracker.image(OBSID)
    runner.close()  # any further ledger call would raise
    assert await tracker.image(OBSID) is first
