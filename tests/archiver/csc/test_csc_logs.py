"""The Archiver's library logs reach SAL: a destination failure is a ``logMessage``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, wait_until, write_config_dir

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

NAME = "AT_O_20261123_000051"


async def test_a_destination_failure_reaches_a_remote_as_log_messages(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    await asyncio.to_thread(store.add_image, NAME, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    config_dir = write_config_dir("ATArchiver", tmp_path)
    # The DBB buffer is a plain file, so every transfer to it fails.
    buffer = tmp_path / "dbb-buffer"
    if buffer.is_dir():
        buffer.rmdir()
    buffer.write_text("not a directory")
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        messages: list[Any] = []
        remote.evt_logMessage.callback = messages.append  # type: ignore[attr-defined]
        await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)

        def about_dbb(level: int) -> list[Any]:
            return [
                m
                for m in messages
                if m.level >= level and "dbb" in m.message and f"{NAME} R00_S00" in m.message
            ]

        await wait_until(lambda: about_dbb(20), what="a logMessage about the DBB transfer retry")
        await wait_until(lambda: about_dbb(40), what="an ERROR logMessage: the DBB transfer finally failed")
        [archived] = await log.wait_for("evt_imageArchived", 1)
    [retry, *_] = about_dbb(20)
    assert retry.name.startswith(csc.log.name), "the delivery logger is a child of the CSC's"
    assert "retry in" in retry.message and "does not exist" in retry.message
    assert archived.statusCode == 1 and archived.missingSensors == "R00_S00"


async def test_archiver_health_is_written_while_disabled_without_error_messages(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "daq", "lat").close()
    config_dir = write_config_dir("ATArchiver", tmp_path)
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        messages: list[Any] = []
        remote.evt_logMessage.callback = messages.append  # type: ignore[attr-defined]
        await remote.cmd_disable.start(timeout=STD_TIMEOUT)  # delivery stops, the runtime stays open
        samples: list[Any] = []
        remote.tel_archiverHealth.callback = samples.append  # type: ignore[attr-defined]
        await wait_until(lambda: len(samples) >= 3, what="3 archiverHealth samples while DISABLED")
    assert all(s.imagesPending == 0 and s.freeSpace > 0 for s in samples)
    errors = [m.message for m in messages if m.level >= 30]
    assert errors == []
