"""End-to-end delivery to local destinations with Butler ingest, and the faults around it;
where the service's log lines go; what it forwards to the ledger."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from delivery_test_support import (
    Exposure,
    RecordingHandler,
    destination,
    ledger_runner,
    make_service,
    submit,
)

from lsst.ts.archiver.butler import open_repository, raw_run
from lsst.ts.archiver.ledger import CaptureMeasurements, CaptureState, DeliveryStage, DeliveryStatus, Ledger


def read_raw(repo: Path, exposure: Exposure, detector: str) -> Any:
    butler = open_repository(repo, writeable=False)
    try:
        return butler.get(
            "raw",
            instrument=exposure.instrument,
            obs_id=exposure.obsid,
            full_name=detector,
            collections=raw_run(exposure.instrument),
        )
    finally:
        butler.close()


def dataset_count(repo: Path, exposure: Exposure) -> int:
    butler = open_repository(repo, writeable=False)
    try:
        refs = butler.query_datasets(
            "raw", collections=raw_run(exposure.instrument), instrument=exposure.instrument, explain=False
        )
        return len(refs)
    finally:
        butler.close()


async def test_every_file_reaches_oods_dbb_and_prompt_with_results(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    for name in ("oods", "dbb", "prompt", "notes"):
        (tmp_path / name).mkdir()
    exposure = exposure_factory()
    destinations = [
        destination("oods", "oods", str(tmp_path / "oods"), butler={"repo": str(tmp_path / "oods_repo")}),
        destination(
            "dbb",
            "dbb",
            str(tmp_path / "dbb"),
            butler={"repo": str(tmp_path / "dbb_repo"), "ingest_mode": "copy"},
        ),
        destination(
            "prompt",
            "prompt",
            str(tmp_path / "prompt"),
            notifications={"kind": "directory", "directory": str(tmp_path / "notes")},
        ),
    ]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure)
            await service.wait_until_idle(60)
            assert await service.queue_depths() == {"oods": 0, "dbb": 0, "prompt": 0}
        latencies = ledger.stage_latencies()
    key_dir = f"{exposure.instrument}/{exposure.day_obs}/{exposure.obsid}"
    for root in ("oods", "dbb", "prompt"):
        names = sorted(os.listdir(tmp_path / root / key_dir))
        expected = sorted(
            [p.name for p in exposure.files.values()]
            + [p.with_suffix(".json").name for p in exposure.files.values()]
            + [exposure.manifest.name]
        )
        assert names == expected
    assert sorted((r.raft, r.sensor, r.status_code) for r in results["oods"]) == sorted(
        (d.split("_")[0], d.split("_")[1], 0) for d in exposure.files
    )
    (archived,) = results["archived"]
    assert (archived.expected_sensors, archived.archived_sensors, archived.status_code) == (9, 9, 0)
    assert archived.missing_sensors == ""
    hdul = read_raw(tmp_path / "dbb_repo", exposure, "R22_S11")
    assert hdul[0].header["OBSID"] == exposure.obsid
    # The OODS repository points at the delivered file (direct); the DBB holds its own copy.
    oods_butler = open_repository(tmp_path / "oods_repo", writeable=False)
    uri = oods_butler.getURI(
        "raw",
        instrument=exposure.instrument,
        obs_id=exposure.obsid,
        full_name="R22_S11",
        collections=raw_run(exposure.instrument),
    )
    oods_butler.close()
    assert uri.ospath.startswith(str(tmp_path / "oods"))
    notes = [json.loads(p.read_text()) for p in sorted((tmp_path / "notes").glob("*.json"))]
    keys = sorted(n["Records"][0]["s3"]["object"]["key"] for n in notes)
    assert len(keys) == 19 and len(set(keys)) == 19
    assert all(n["Records"][0]["eventName"] == "ObjectCreated:Put" for n in notes)
    assert latencies["ingest"].count == 18 and latencies["transfer"].count == 27


async def test_destination_down_then_back_gets_every_file_once(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "oods").mkdir()
    exposure = exposure_factory()
    down = tmp_path / "mnt" / "dbb"  # the mount point is missing: destination down
    destinations = [
        destination("oods", "oods", str(tmp_path / "oods")),
        destination(
            "dbb", "dbb", str(down), butler={"repo": str(tmp_path / "dbb_repo"), "ingest_mode": "copy"}
        ),
    ]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure)
            deadline = time.monotonic() + 30
            while len(results["oods"]) < 9:  # the healthy destination is not held up
                assert time.monotonic() < deadline
                await _sleep(0.05)
            assert results["archived"] == []
            while not all(d.last_error for d in ledger.deliveries(destination="dbb")):
                assert time.monotonic() < deadline
                await _sleep(0.05)
            stuck = ledger.deliveries(destination="dbb")
            assert all(d.stage is DeliveryStage.TRANSFER for d in stuck)
            assert "does not exist" in str(stuck[0].last_error)
            down.mkdir(parents=True)  # back
            await service.wait_until_idle(60)
        dbb = ledger.deliveries(destination="dbb")
    assert all(d.stage is DeliveryStage.DONE for d in dbb)
    assert dataset_count(tmp_path / "dbb_repo", exposure) == 9
    (archived,) = results["archived"]
    assert archived.status_code == 0
    done = [f for f in results["files"] if f.destination == "dbb"]
    assert len(done) == 10 and len({f.item for f in done}) == 10


async def test_corrupt_file_is_a_metadata_failure_and_the_rest_are_ingested(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "oods").mkdir()
    exposure = exposure_factory()
    bad = exposure.files["R22_S01"]
    data = bytearray(bad.read_bytes())
    data[:9] = b"GARBAGE!!"  # no FITS signature any more, same size as the sidecar says
    bad.write_bytes(bytes(data))
    destinations = [
        destination("oods", "oods", str(tmp_path / "oods"), butler={"repo": str(tmp_path / "oods_repo")}),
    ]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure)
            await service.wait_until_idle(60)
        failed = ledger.deliveries(stages=[DeliveryStage.FAILED])
    (failure,) = [r for r in results["oods"] if r.status_code != 0]
    assert (failure.raft, failure.sensor, failure.status_code) == ("R22", "S01", 2)
    assert "FITS" in failure.description
    assert len([r for r in results["oods"] if r.status_code == 0]) == 8
    assert [d.item for d in failed] == ["R22_S01"] and failed[0].attempts == 2  # transfer + one ingest
    assert dataset_count(tmp_path / "oods_repo", exposure) == 8
    (archived,) = results["archived"]
    assert (archived.archived_sensors, archived.missing_sensors, archived.status_code) == (8, "R22_S01", 1)


async def test_transfer_failure_is_reported_after_the_last_attempt(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    exposure = exposure_factory(detectors=["R22_S11", "R22_S12"])
    retry = {"max_attempts": 3, "initial_delay": 0.01, "max_delay": 0.02}
    destinations = [destination("oods", "oods", str(tmp_path / "nowhere"), retry=retry)]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure, manifest=False)
            await service.wait_until_idle(30)
        failed = ledger.deliveries()
    assert sorted(r.status_code for r in results["oods"]) == [3, 3]
    assert all(
        "after 3 attempts" in r.description and "does not exist" in r.description for r in results["oods"]
    )
    assert all(d.attempts == 3 and d.status_code == DeliveryStatus.TRANSFER_FAILURE for d in failed)
    (archived,) = results["archived"]
    assert (archived.archived_sensors, archived.missing_sensors) == (0, "R22_S11:R22_S12")


async def test_locked_registry_delays_ingest_without_losing_files_or_the_other_destination(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    from lsst.ts.archiver.butler import create_repository

    for name in ("oods", "copy"):
        (tmp_path / name).mkdir()
    repo = tmp_path / "oods_repo"
    create_repository(repo, instruments=["LSSTComCam"]).close()
    exposure = exposure_factory(detectors=["R22_S00", "R22_S01", "R22_S02"])
    destinations = [
        destination("oods", "oods", str(tmp_path / "oods"), butler={"repo": str(repo)}),
        destination("copy", "copy", str(tmp_path / "copy")),
    ]
    # Another process holds the registry's write lock (SQLite exclusive transaction).
    blocker = sqlite3.connect(repo / "gen3.sqlite3", timeout=0, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
            async with make_service(runner, destinations, results) as service:
                await submit(service, exposure, manifest=False)
                deadline = time.monotonic() + 30
                while len([f for f in results["files"] if f.destination == "copy"]) < 3:
                    assert time.monotonic() < deadline
                    await _sleep(0.05)
                await _sleep(1.0)
                assert results["oods"] == []  # ingest is waiting for the lock
                assert {d.stage for d in ledger.deliveries(destination="oods")} == {DeliveryStage.INGEST}
                blocker.execute("ROLLBACK")
                await service.wait_until_idle(60)
    finally:
        blocker.close()
    assert sorted(r.status_code for r in results["oods"]) == [0, 0, 0]
    assert dataset_count(repo, exposure) == 3


async def test_same_exposure_submitted_twice_is_delivered_once(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "oods").mkdir()
    exposure = exposure_factory(detectors=["R22_S10", "R22_S11"])
    destinations = [
        destination("oods", "oods", str(tmp_path / "oods"), butler={"repo": str(tmp_path / "repo")})
    ]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure)
            await service.wait_until_idle(60)
            await submit(service, exposure)  # e.g. archiveImage for an image already done
            await service.wait_until_idle(60)
        assert len(ledger.deliveries()) == 3
    # A new ledger (ledger lost) replays everything: the repository keeps one dataset per file.
    with Ledger(tmp_path / "ledger2.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure)
            await service.wait_until_idle(60)
    assert [r.status_code for r in results["oods"]] == [0, 0, 0, 0]
    assert dataset_count(tmp_path / "repo", exposure) == 2
    assert len(results["archived"]) == 2


async def test_retries_and_the_final_failure_are_logged_on_the_logger_passed_in(
    tmp_path: Path,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
    recorded_log: tuple[logging.Logger, RecordingHandler],
) -> None:
    log, handler = recorded_log
    module_log = logging.getLogger("lsst.ts.archiver.delivery.worker")
    module_handler = RecordingHandler()
    module_log.addHandler(module_handler)
    exposure = exposure_factory(detectors=["R22_S11"])
    retry = {"max_attempts": 3, "initial_delay": 0.01, "max_delay": 0.02}
    destinations = [destination("dbb", "dbb", str(tmp_path / "nowhere"), retry=retry)]
    try:
        with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
            async with make_service(runner, destinations, results, log=log) as service:
                await submit(service, exposure, manifest=False)
                await service.wait_until_idle(60)
    finally:
        module_log.removeHandler(module_handler)
    worker = [r for r in handler.records if r.name == f"{log.name}.DestinationWorker"]
    retries = [r.getMessage() for r in worker if r.levelno == logging.INFO]
    failures = [r.getMessage() for r in worker if r.levelno == logging.ERROR]
    assert len(retries) == 2, retries  # attempts 1 and 2; the third is final
    for n, message in enumerate(retries, start=1):
        assert message.startswith(f"Destination dbb: {exposure.obsid} R22_S11 attempt {n} failed, retry in ")
        assert "Transfer to dbb failed" in message and "does not exist" in message
    (failure,) = failures
    assert failure.startswith(f"Destination dbb: {exposure.obsid} R22_S11 failed: Transfer to dbb failed")
    assert "does not exist" in failure and "(after 3 attempts)" in failure
    assert module_handler.records == []  # nothing went to the module logger instead


async def test_a_stopped_service_can_be_started_again(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "copy").mkdir()
    first = exposure_factory(seq_num=1, detectors=["R22_S11"])
    second = exposure_factory(seq_num=2, detectors=["R22_S11"])
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        service = make_service(runner, [destination("copy", "copy", str(tmp_path / "copy"))], results)
        for exposure in (first, second):  # as the CSC does when it is disabled, then enabled again
            async with service:
                await submit(service, exposure)
                await service.wait_until_idle(60)
    assert [a.obsid for a in results["archived"]] == [first.obsid, second.obsid]


async def test_capture_measurements_and_failure_status_reach_the_ledger(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    exposure = exposure_factory(detectors=["R22_S11", "R22_S12", "R22_S20"])
    measurements = CaptureMeasurements(retrieval_time=1.5, write_time=0.25, median_signal=20000.0, noise=4.5)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        service = make_service(runner, [destination("copy", "copy", str(tmp_path))], results)
        await service.register_image(
            exposure.obsid, camera=exposure.instrument, day_obs=exposure.day_obs, expected=exposure.expected
        )
        files = exposure.files
        await service.file_written(
            exposure.obsid, "R22_S11", str(files["R22_S11"]), measurements=measurements
        )
        await service.file_written(exposure.obsid, "R22_S12", str(files["R22_S12"]))
        await service.capture_failed(exposure.obsid, "R22_S20", "DAQ source unreadable", status=12)
        detectors = {d.name: d for d in ledger.detectors(exposure.obsid)}
    assert detectors["R22_S11"].measurements == measurements
    assert detectors["R22_S12"].measurements is None
    failed = detectors["R22_S20"]
    assert (failed.state, failed.error, failed.status) == (CaptureState.FAILED, "DAQ source unreadable", 12)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
