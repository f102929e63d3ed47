"""Recovery through SAL: ``retryImage`` redoes what finally failed (a delivery, a capture),
``imageArchived`` is written again with the new counts, ``archiverHealth.failedItems``
counts what is left, and ``catchUp`` retries images with failed parts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsst.daf.butler import Butler
from lsst.ts import salkit

from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.ledger import CaptureState, Ledger
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, wait_until, write_config_dir

NAME = "AT_O_20261123_000061"
OTHER = "AT_O_20261123_000062"
DBB_SLOT = 1  # destinations in configuration order: oods, dbb

GENERATOR = PixelGenerator(cosmic_rays=0, saturated_spots=0)


def config(tmp_path: Path, **overrides: Any) -> Path:
    """A LATISS Archiver whose DAQ waits 2 s for a missing image."""
    return write_config_dir("ATArchiver", tmp_path, daq={"wait_timeout": 2.0}, **overrides)


async def add_to_daq(tmp_path: Path, *names: str) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    try:
        for name in names:
            await asyncio.to_thread(store.add_image, name, generator=GENERATOR)
    finally:
        store.close()


def break_dbb(tmp_path: Path) -> Path:
    """Put a plain file where the DBB buffer directory is: every transfer to it fails."""
    buffer = tmp_path / "dbb-buffer"
    if buffer.is_dir():
        buffer.rmdir()
    buffer.write_text("not a directory")
    return buffer


def repair_dbb(buffer: Path) -> None:
    buffer.unlink()
    buffer.mkdir()


def raw_count(repo: Path) -> int:
    """Datasets of LATISS raws in a Butler repository."""
    butler = Butler.from_config(str(repo), collections=["LATISS/raw/all"])
    try:
        return len(list(butler.query_datasets("raw", instrument="LATISS", limit=None, explain=False)))
    finally:
        butler.close()


class HealthLog:
    """Every ``archiverHealth`` sample a Remote receives."""

    def __init__(self, remote: salkit.Remote) -> None:
        self.samples: list[Any] = []
        remote.tel_archiverHealth.callback = self.samples.append  # type: ignore[attr-defined]

    async def wait_for_failed_at_dbb(self, condition: Any, what: str) -> Any:
        def latest() -> Any:
            if self.samples and condition(self.samples[-1].failedItems[DBB_SLOT]):
                return self.samples[-1]
            return None

        return await wait_until(latest, what=what)


class LogMessages:
    """Every ``logMessage`` a Remote receives."""

    def __init__(self, remote: salkit.Remote) -> None:
        self.messages: list[Any] = []
        remote.evt_logMessage.callback = self.messages.append  # type: ignore[attr-defined]

    async def wait_for(self, text: str) -> Any:
        def found() -> Any:
            return next((m for m in self.messages if text in m.message), None)

        return await wait_until(found, what=f"a logMessage with {text!r}")


@pytest.mark.integration  # a whole Archiver, end to end
async def test_a_delivery_that_finally_failed_at_the_dbb_is_retried_and_archived_once(tmp_path: Path) -> None:
    await add_to_daq(tmp_path, NAME)
    config_dir = config(tmp_path)
    buffer = break_dbb(tmp_path)
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        health = HealthLog(remote)
        logs = LogMessages(remote)
        await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)
        [failed] = await log.wait_for("evt_imageArchived", 1)
        assert (failed.statusCode, failed.archivedSensors, failed.missingSensors) == (1, 0, "R00_S00")
        # The file and the manifest finally failed at the DBB.
        sample = await health.wait_for_failed_at_dbb(lambda n: n == 2, "archiverHealth.failedItems[dbb] = 2")
        assert list(sample.failedItems) == [0, 2] + [0] * 6
        repair_dbb(buffer)

        await remote.cmd_retryImage.set_start(imageName=NAME, destination="dbb", timeout=STD_TIMEOUT)
        failed, archived = await log.wait_for("evt_imageArchived", 2)
        assert (archived.obsid, archived.statusCode) == (NAME, 0), archived.description
        assert (archived.expectedSensors, archived.archivedSensors, archived.missingSensors) == (1, 1, "")
        await health.wait_for_failed_at_dbb(lambda n: n == 0, "archiverHealth.failedItems[dbb] back to 0")
        message = await logs.wait_for(f"{NAME}: 2 item(s) at dbb")
        assert "retried" in message.message

        # Once complete, nothing is left to retry there; the command says so.
        with pytest.raises(salkit.AckError, match=f"{NAME} has nothing that finally failed at dbb"):
            await remote.cmd_retryImage.set_start(imageName=NAME, destination="dbb", timeout=STD_TIMEOUT)
        with pytest.raises(salkit.AckError, match="it is archived, status 0"):
            await remote.cmd_retryImage.set_start(imageName=NAME, destination="", timeout=STD_TIMEOUT)
        # The OODS part was not retried: one file in the OODS, one capture.
        assert [s.statusCode for s in log.of("evt_imageInOODS")] == [0]
        assert len(log.of("evt_imageRetrievalForArchiving")) == 1
    assert await asyncio.to_thread(raw_count, tmp_path / "repo-dbb") == 1
    assert await asyncio.to_thread(raw_count, tmp_path / "repo-oods") == 1
    assert len(list((tmp_path / "dbb-buffer").rglob("*.fits"))) == 1
    assert len(log.of("evt_imageArchived")) == 2


@pytest.mark.integration  # a whole Archiver, end to end
async def test_a_failed_capture_is_captured_again_once_the_image_is_in_the_daq(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "daq", "lat").close()
    async with running_archiver("ATArchiver", config(tmp_path)) as (csc, remote, log):
        await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)
        [failed] = await log.wait_for("evt_imageArchived", 1)
        assert (failed.statusCode, failed.missingSensors) == (1, "R00_S00")
        [not_found] = log.of("evt_imageRetrievalForArchiving")
        assert not_found.statusCode == 1  # IMAGE_NOT_FOUND
        # A failed capture is not a delivery: naming a destination does not retry it.
        with pytest.raises(salkit.AckError, match="what failed: capture of R00_S00"):
            await remote.cmd_retryImage.set_start(imageName=NAME, destination="oods", timeout=STD_TIMEOUT)
        await add_to_daq(tmp_path, NAME)

        await remote.cmd_retryImage.set_start(imageName=NAME, destination="", timeout=STD_TIMEOUT)
        not_found, written = await log.wait_for("evt_imageRetrievalForArchiving", 2)
        assert written.statusCode == 0, written.description
        failed, archived = await log.wait_for("evt_imageArchived", 2)
        assert (archived.statusCode, archived.archivedSensors, archived.missingSensors) == (0, 1, "")
        [in_oods] = await log.wait_for("evt_imageInOODS", 1)
        assert in_oods.statusCode == 0
        # focalPlaneCapture once per archiving: first IMAGE_NOT_FOUND, then the written file.
        first, second = await log.wait_for("tel_focalPlaneCapture", 2)
        assert (first.status, first.bytesWritten) == (1, 0)
        assert second.status == 0 and second.bytesWritten > 70_000_000
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}") as ledger:
        [detector] = ledger.detectors(NAME)
        assert (detector.state, detector.status, detector.attempts) == (CaptureState.WRITTEN, 0, 2)
        assert ledger.image(NAME).archive_status == 0
    assert await asyncio.to_thread(raw_count, tmp_path / "repo-dbb") == 1


async def test_bad_retry_image_commands_fail_with_the_reason(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "daq", "lat").close()
    async with running_archiver("ATArchiver", config(tmp_path)) as (csc, remote, log):
        for name, destination, reason in (
            ("not-a-name", "", "image name"),
            ("CC_O_20261123_000001", "", "is not a LATISS image"),
            (NAME, "", f"{NAME} is not in the ledger, so nothing of it failed; archive it with archiveImage"),
            (NAME, "nowhere", r"No enabled destination named 'nowhere' \(enabled: oods, dbb\)"),
        ):
            with pytest.raises(salkit.AckError, match=reason) as failed:
                await remote.cmd_retryImage.set_start(
                    imageName=name, destination=destination, timeout=STD_TIMEOUT
                )
            assert failed.value.ackcmd.ack == salkit.SalRetCode.CMD_FAILED
        await remote.cmd_disable.start(timeout=STD_TIMEOUT)
        with pytest.raises(salkit.AckError, match="retryImage not allowed in state"):
            await remote.cmd_retryImage.set_start(imageName=NAME, destination="", timeout=STD_TIMEOUT)


@pytest.mark.integration  # a whole Archiver, end to end
async def test_catch_up_retries_an_image_with_a_failed_part_and_skips_archived_ones(tmp_path: Path) -> None:
    await add_to_daq(tmp_path, NAME, OTHER)
    config_dir = config(tmp_path, catch_up={"rate": 600.0, "priority": -10})
    buffer = break_dbb(tmp_path)
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        logs = LogMessages(remote)
        await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)
        [failed] = await log.wait_for("evt_imageArchived", 1, obsid=NAME)
        assert failed.statusCode == 1
        repair_dbb(buffer)
        await remote.cmd_archiveImage.set_start(imageName=OTHER, priority=0, timeout=STD_TIMEOUT)
        [archived] = await log.wait_for("evt_imageArchived", 1, obsid=OTHER)
        assert archived.statusCode == 0

        await remote.cmd_catchUp.set_start(startDate="20261123", endDate="20261123", timeout=STD_TIMEOUT)
        await logs.wait_for(
            "catchUp of day_obs 20261123–20261123: 0 image(s) to archive, 1 to retry, "
            "0 to deliver to the archive again, 0 found archived"
        )
        failed, retried = await log.wait_for("evt_imageArchived", 2, obsid=NAME)
        assert retried.statusCode == 0, retried.description
        await logs.wait_for("Catch-up: 0 image(s) queued, 1 retried, 0 delivered to the archive again")
        status = await remote.evt_catchUpStatus.next(flush=False, timeout=STD_TIMEOUT)
        assert (status.oldestMissing or NAME) == NAME
        while status.backlogImages:  # the retried image, until it is archived again
            status = await remote.evt_catchUpStatus.next(flush=False, timeout=STD_TIMEOUT)
        assert (status.oldestMissing, status.timeToEmpty, status.archiveReachable) == ("", 0.0, True)
        assert status.rate > 0
        assert len(log.of("evt_imageArchived", OTHER)) == 1
        # Retried, not captured again: the file was written the first time.
        assert len(log.of("evt_imageRetrievalForArchiving", NAME)) == 1
    assert await asyncio.to_thread(raw_count, tmp_path / "repo-dbb") == 2
