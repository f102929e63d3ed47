"""A destination behind a link: an outage fails nothing, the backlog drains when the link returns.

The integration test stops a real S3 server (SeaweedFS) for 30 images while
a local OODS keeps receiving them.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from delivery_test_support import Exposure, RecordingHandler, destination, ledger_runner, make_service, submit

from lsst.ts.archiver.butler import open_repository, raw_run
from lsst.ts.archiver.delivery import (
    DestinationUnreachableError,
    LinkState,
    PermanentDeliveryError,
    RetryPolicy,
    VerificationError,
    is_unreachable,
)
from lsst.ts.archiver.ledger import DeliveryStage, Ledger
from lsst.ts.archiver.testing import TemporarySeaweedFS, wait_until


def raised_from(cause: BaseException) -> RuntimeError:
    try:
        try:
            raise cause
        except BaseException as e:
            raise RuntimeError("upload failed") from e
    except RuntimeError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
        TimeoutError("timed out"),
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        OSError(errno.EHOSTUNREACH, "No route to host"),
        OSError(errno.ENETUNREACH, "Network is unreachable"),
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://base:8333"),
        botocore.exceptions.ConnectTimeoutError(endpoint_url="http://base:8333"),
        DestinationUnreachableError("/dbb does not exist (not mounted?)"),
        raised_from(ConnectionResetError(errno.ECONNRESET, "reset")),
    ],
    ids=repr,
)
def test_unreachable_destinations_are_recognized(error: BaseException) -> None:
    assert is_unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        PermanentDeliveryError("source file gone"),
        VerificationError("MD5 differs"),
        OSError(errno.ENOSPC, "No space left on device"),
        PermissionError(errno.EACCES, "Permission denied"),
        botocore.exceptions.ClientError(
            {"Error": {"Code": "InvalidAccessKeyId", "Message": "bad key"}}, "PutObject"
        ),
        ValueError("bad header"),
    ],
    ids=repr,
)
def test_errors_that_say_something_about_the_file_are_not_link_loss(error: BaseException) -> None:
    assert not is_unreachable(error)


def test_a_link_probes_one_item_at_a_time_with_capped_backoff_and_logs_the_outage_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("lsst.ts.archiver.delivery.link.time.monotonic", lambda: clock[0])
    retry = RetryPolicy(max_attempts=2, initial_delay=1.0, max_delay=4.0, multiplier=2.0)
    link = LinkState("dbb", "summit-base", retry, logging.getLogger("test.link"))
    assert link.transfers_allowed(4, 0) == 4
    with caplog.at_level(logging.DEBUG, logger="test.link"):
        delays = [link.lost("refused") for _ in range(5)]
        assert delays == [1.0, 2.0, 4.0, 4.0, 4.0]  # capped; never "exhausted"
        assert link.down
        assert link.transfers_allowed(4, 0) == 0  # the next probe is 4 s away
        clock[0] += 4.0
        assert link.transfers_allowed(4, 1) == 0  # a probe is in flight
        assert link.transfers_allowed(4, 0) == 1
        clock[0] += 100.0
        assert link.reached() is True
        assert link.reached() is False
    assert link.transfers_allowed(4, 0) == 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "link summit-base down (refused)" in warnings[0]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == ["Destination dbb: link summit-base up again after 104 s down; draining its backlog"]


@pytest.mark.integration  # a real S3 server, stopped and started
async def test_thirty_images_through_an_outage_reach_the_base_once_and_the_summit_at_once(
    s3_bucket: str,
    seaweedfs: TemporarySeaweedFS,
    tmp_path: Path,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
    recorded_log: tuple[logging.Logger, RecordingHandler],
) -> None:
    log, handler = recorded_log
    (tmp_path / "oods").mkdir()
    exposures = [exposure_factory(seq_num=n, detectors=["R22_S11"]) for n in range(1, 31)]
    # Two attempts would fail an item within a second, were the outage counted.
    retry = {"max_attempts": 2, "initial_delay": 0.05, "max_delay": 0.5}
    destinations = [
        destination("oods", "oods", str(tmp_path / "oods")),
        destination(
            "dbb",
            "dbb",
            f"s3://{s3_bucket}/raw",
            link="summit-base",
            lease=600,
            retry=retry,
            butler={"repo": str(tmp_path / "repo-dbb"), "ingest_mode": "copy"},
        ),
    ]

    def messages(level: int) -> list[str]:
        return [r.getMessage() for r in handler.records if r.levelno == level]

    seaweedfs.stop()
    try:
        with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
            async with make_service(runner, destinations, results, log=log) as service:
                for exposure in exposures:
                    await submit(service, exposure)
                # The Summit destination gets every image during the outage ...
                await wait_until(lambda: len(results["oods"]) == 30, what="30 imageInOODS during the outage")
                # ... while the Base is probed again and again, past its retry budget
                # (each probe takes seconds: boto retries a refused connection itself).
                await wait_until(
                    lambda: sum("still down" in m for m in messages(logging.DEBUG)) >= 2,
                    what="two more failed probes of the link",
                )
                dbb = ledger.deliveries(destination="dbb")
                assert {d.stage for d in dbb} == {DeliveryStage.TRANSFER}
                assert max(d.attempts for d in dbb) <= 1  # only a probe in flight counts
                assert results["archived"] == []
                await asyncio.to_thread(seaweedfs.start)
                await service.wait_until_idle(180)
            deliveries = ledger.deliveries()
    finally:
        seaweedfs.start()
    assert {(d.destination, d.stage) for d in deliveries} == {
        ("oods", DeliveryStage.DONE),
        ("dbb", DeliveryStage.DONE),
    }
    listing = seaweedfs.client().list_objects_v2(Bucket=s3_bucket, MaxKeys=1000)
    assert len(listing.get("Contents", [])) == 30 * 3  # each image's file, sidecar and manifest
    delivered = Counter((f.obsid, f.item, f.destination) for f in results["files"])  # reported once each
    assert len(delivered) == 30 * 2 * 2 and set(delivered.values()) == {1}
    assert sorted(a.obsid for a in results["archived"]) == sorted(e.obsid for e in exposures)
    assert {a.status_code for a in results["archived"]} == {0}
    butler = open_repository(tmp_path / "repo-dbb", writeable=False)
    try:
        refs = butler.query_datasets("raw", collections=raw_run("LSSTComCam"), instrument="LSSTComCam")
    finally:
        butler.close()
    assert len({ref.dataId["exposure"] for ref in refs}) == len(refs) == 30  # each image once
    assert sum("link summit-base down" in m for m in messages(logging.WARNING)) == 1
    assert sum("link summit-base up again" in m for m in messages(logging.INFO)) == 1
