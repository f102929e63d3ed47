"""Delivery to a real S3 server (SeaweedFS): keys, ETags, notifications, outages."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from delivery_test_support import Exposure, destination, ledger_runner, make_service, submit

from lsst.ts.archiver.butler import open_repository, raw_run
from lsst.ts.archiver.delivery import Transferrer, VerifyMode
from lsst.ts.archiver.ledger import DeliveryStage, Ledger
from lsst.ts.archiver.testing import STD_TIMEOUT, TemporarySeaweedFS, wait_until


def objects(server: TemporarySeaweedFS, bucket: str) -> dict[str, dict[str, Any]]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return {o["Key"]: o for o in listing.get("Contents", [])}


def test_transfer_to_s3_is_verified_by_md5_etag(
    s3_bucket: str, seaweedfs: TemporarySeaweedFS, tmp_path: Path
) -> None:
    source = tmp_path / "MC_O_20261123_000001_R22_S11.fits"
    source.write_bytes(b"SIMPLE  =" + bytes(range(256)) * 4000)
    transferrer = Transferrer(f"s3://{s3_bucket}/raw/", VerifyMode.CHECKSUM)
    result = transferrer.put(str(source), "LSSTCam/20261123/MC_O_20261123_000001/" + source.name)
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    assert (result.size, result.checksum, result.etag) == (source.stat().st_size, f"md5:{md5}", md5)
    assert result.uri == f"s3://{s3_bucket}/raw/LSSTCam/20261123/MC_O_20261123_000001/{source.name}"
    body = seaweedfs.client().get_object(Bucket=s3_bucket, Key="raw/" + result.key)["Body"].read()
    assert body == source.read_bytes()


async def test_s3_dbb_and_prompt_get_every_file_with_notifications(
    s3_bucket: str,
    seaweedfs: TemporarySeaweedFS,
    tmp_path: Path,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
) -> None:
    (tmp_path / "notes").mkdir()
    exposure = exposure_factory()
    destinations = [
        destination(
            "dbb",
            "dbb",
            f"s3://{s3_bucket}/dbb",
            butler={"repo": str(tmp_path / "dbb_repo"), "ingest_mode": "copy"},
        ),
        destination(
            "prompt",
            "prompt",
            f"s3://{s3_bucket}/embargo",
            notifications={"kind": "directory", "directory": str(tmp_path / "notes")},
        ),
    ]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure)
            await service.wait_until_idle(120)
    stored = objects(seaweedfs, s3_bucket)
    prefix = f"{exposure.instrument}/{exposure.day_obs}/{exposure.obsid}/"
    for area in ("dbb", "embargo"):
        for path in exposure.files.values():
            entry = stored[f"{area}/{prefix}{path.name}"]
            assert entry["Size"] == path.stat().st_size
            assert entry["ETag"].strip('"') == hashlib.md5(path.read_bytes()).hexdigest()
            assert f"{area}/{prefix}{path.with_suffix('.json').name}" in stored
        assert f"{area}/{prefix}{exposure.manifest.name}" in stored
    notes = [json.loads(p.read_text())["Records"][0] for p in (tmp_path / "notes").glob("*.json")]
    fits_notes = {n["s3"]["object"]["key"]: n for n in notes if n["s3"]["object"]["key"].endswith(".fits")}
    assert len(notes) == 19 and len(fits_notes) == 9
    one = fits_notes[f"embargo/{prefix}{exposure.files['R22_S11'].name}"]
    assert one["s3"]["bucket"]["name"] == s3_bucket
    assert one["s3"]["object"]["size"] == exposure.files["R22_S11"].stat().st_size
    assert one["s3"]["object"]["eTag"] == hashlib.md5(exposure.files["R22_S11"].read_bytes()).hexdigest()
    (archived,) = results["archived"]
    assert (archived.archived_sensors, archived.status_code) == (9, 0)
    butler = open_repository(tmp_path / "dbb_repo", writeable=False)
    hdul = butler.get(
        "raw",
        instrument=exposure.instrument,
        day_obs=exposure.day_obs,
        seq_num=1,
        detector=4,
        collections=raw_run(exposure.instrument),
    )
    butler.close()
    assert hdul[0].header["CCDSLOT"] == "S11"


@pytest.fixture
def fresh_seaweedfs(monkeypatch: pytest.MonkeyPatch) -> Iterator[TemporarySeaweedFS]:
    """A SeaweedFS of this test alone, never restarted: after the session's server has been
    stopped and started by other tests, it can accept a PUT into a missing bucket."""
    with TemporarySeaweedFS() as server:
        server.start()
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        yield server


async def test_bucket_that_appears_later_gets_every_file_once(
    fresh_seaweedfs: TemporarySeaweedFS,
    tmp_path: Path,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
) -> None:
    seaweedfs = fresh_seaweedfs
    late = "raw-appears-later"
    exposure = exposure_factory(detectors=["R22_S00", "R22_S01", "R22_S02"])
    destinations = [destination("dbb", "dbb", f"s3://{late}/raw")]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure)
            await wait_until(
                lambda: all(d.attempts >= 2 for d in ledger.deliveries()),
                timeout=3 * STD_TIMEOUT,
                what="every item tried twice",
            )
            errors = {d.last_error for d in ledger.deliveries()}
            assert results["files"] == []
            seaweedfs.create_bucket(late)
            await service.wait_until_idle(120)
        assert all(d.stage is DeliveryStage.DONE for d in ledger.deliveries())
    # SeaweedFS answers AccessDenied (AWS: NoSuchBucket) for a PUT into a missing bucket.
    assert all("PutObject" in str(e) for e in errors), errors
    assert len(objects(seaweedfs, late)) == 7  # 3 files + 3 sidecars + manifest
    assert sorted(f.item for f in results["files"]) == sorted([*exposure.files, "expectedSensors"])


async def test_s3_server_down_then_back_gets_every_file_once(
    s3_bucket: str,
    seaweedfs: TemporarySeaweedFS,
    tmp_path: Path,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
) -> None:
    exposure = exposure_factory(detectors=["R22_S10", "R22_S11", "R22_S12"])
    retry = {"max_attempts": 1000, "initial_delay": 0.1, "max_delay": 1.0}
    destinations = [destination("dbb", "dbb", f"s3://{s3_bucket}/raw", lease=600, retry=retry)]
    seaweedfs.stop()
    try:
        with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
            async with make_service(runner, destinations, results) as service:
                await submit(service, exposure)
                await wait_until(
                    lambda: all(d.last_error for d in ledger.deliveries()),
                    timeout=3 * STD_TIMEOUT,
                    what="every item failed once with the server down",
                )
                errors = {d.last_error for d in ledger.deliveries()}
                await asyncio.to_thread(seaweedfs.start)
                await service.wait_until_idle(180)
            deliveries = ledger.deliveries()
    finally:
        seaweedfs.start()
    assert all(d.stage is DeliveryStage.DONE for d in deliveries)
    assert any("onnect" in str(e) for e in errors), errors
    stored = objects(seaweedfs, s3_bucket)
    assert len(stored) == 7
    assert sorted(f.item for f in results["files"]) == sorted([*exposure.files, "expectedSensors"])


async def test_webdav_destination_gets_every_file_and_feeds_a_copy_ingest(
    seaweedfs: TemporarySeaweedFS,
    tmp_path: Path,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
) -> None:
    url = seaweedfs.start_webdav()
    area = f"{url}/dav-{time.monotonic_ns()}"
    exposure = exposure_factory(detectors=["R22_S00", "R22_S11"])
    destinations = [
        destination("dbb", "dbb", area, butler={"repo": str(tmp_path / "repo"), "ingest_mode": "copy"}),
    ]
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure)
            await service.wait_until_idle(120)
        done = ledger.deliveries()
    assert all(d.stage is DeliveryStage.DONE and d.remote_uri and d.remote_uri.startswith(area) for d in done)
    from lsst.resources import ResourcePath

    for path in exposure.files.values():
        key = f"{exposure.instrument}/{exposure.day_obs}/{exposure.obsid}/{path.name}"
        assert ResourcePath(f"{area}/{key}").read() == path.read_bytes()
    (archived,) = results["archived"]
    assert (archived.archived_sensors, archived.status_code) == (2, 0)
    butler = open_repository(tmp_path / "repo", writeable=False)
    refs = butler.query_datasets(
        "raw", collections=raw_run(exposure.instrument), instrument=exposure.instrument
    )
    butler.close()
    assert len(refs) == 2
