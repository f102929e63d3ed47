"""The ledger lost while ENABLED (doc/reliability.rst): its PostgreSQL server
stopped, or its SQLite file deleted. Either is a FAULT with
``LEDGER_UNAVAILABLE`` (5801) within seconds; once the ledger is back,
``standby``, ``start``, ``enable`` resume the image it had left unfinished,
and it is archived once.

The image is unfinished because its DAQ readout is still running (the
image is in the DAQ catalog, its source not written yet) when the ledger
is lost; the source is written before the recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from fault_support import Observer, Site, assert_archived_once, assert_confined
from lsst.ts import salkit

from lsst.ts.archiver.error_codes import ErrorCode
from lsst.ts.archiver.testing import STD_TIMEOUT, TemporaryPostgres, running_archiver, wait_until

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

FAULT_WITHIN = 10.0
"""Seconds within which a lost ledger must be a FAULT (health checks it every second)."""


async def wait_unfinished(observer: Observer, csc: Any, name: str) -> None:
    """Wait until the image is registered and waiting for its DAQ readout."""
    await wait_until(lambda: csc.runtime.pipeline.is_active(name), what=f"{name} being archived")
    await observer.wait_health(lambda s: s.imagesPending == 1, "the image pending")


async def wait_ledger_fault(observer: Observer, csc: Any, lost_at: float) -> Any:
    """Wait for FAULT with LEDGER_UNAVAILABLE within `FAULT_WITHIN` s of ``lost_at``; return the errorCode."""
    fault = await observer.wait_error_code(ErrorCode.LEDGER_UNAVAILABLE, timeout=FAULT_WITHIN)
    assert time.monotonic() - lost_at < FAULT_WITHIN
    await wait_until(lambda: csc.summary_state == salkit.State.FAULT and csc.runtime is None, what="FAULT")
    return fault


async def recover(site: Site, remote: salkit.Remote, log: Any, name: str) -> Any:
    """Finish the DAQ readout, then standby, start, enable; return the image's imageArchived."""
    await site.write_sources(name)
    await salkit.set_summary_state(remote, salkit.State.ENABLED, timeout=STD_TIMEOUT)
    [archived] = await log.wait_for("evt_imageArchived", 1, obsid=name)
    await log.wait_for("evt_imageInOODS", 1, obsid=name)
    return archived


async def test_stopped_postgresql_ledger_is_a_fault_within_seconds_and_recovery_archives_the_image_once(
    site: Site,
) -> None:
    name = site.name(61)
    with TemporaryPostgres() as server:
        ledger_url = server.create_database("ledger")
        config_dir = site.write_config(ledger_url=ledger_url, daq={"wait_timeout": 10 * STD_TIMEOUT})
        await site.start_image(name)
        async with running_archiver(site.component, config_dir) as (csc, remote, log):
            observer = Observer(remote)
            await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
            await wait_unfinished(observer, csc, name)
            await asyncio.to_thread(server.pause, "immediate")
            try:
                fault = await wait_ledger_fault(observer, csc, time.monotonic())
            finally:
                await asyncio.to_thread(server.resume)
            assert "unavailable" in fault.errorReport.lower()
            archived = await recover(site, remote, log, name)
        assert archived.statusCode == 0, archived.description
        assert len(log.of("evt_imageArchived")) == 1
        await assert_archived_once(site, {name: ["R00_S00"]}, ledger_url=ledger_url)
    assert_confined(site)


def sqlite_files(path: Path) -> list[Path]:
    """An SQLite database and its write-ahead log and shared-memory files."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def backup(path: Path, to: Path) -> None:
    """A consistent copy of an SQLite database in use (SQLite's backup API)."""
    with contextlib.closing(sqlite3.connect(path)) as source, contextlib.closing(sqlite3.connect(to)) as copy:
        source.backup(copy)


async def test_deleted_sqlite_ledger_is_a_fault_within_seconds_and_recovery_from_a_backup_archives_once(
    site: Site,
) -> None:
    name = site.name(62)
    config_dir = site.write_config(daq={"wait_timeout": 10 * STD_TIMEOUT})
    await site.start_image(name)
    async with running_archiver(site.component, config_dir) as (csc, remote, log):
        observer = Observer(remote)
        await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
        await wait_unfinished(observer, csc, name)
        saved = site.inputs / "ledger-backup.sqlite3"
        await asyncio.to_thread(backup, site.ledger_path, saved)
        for file in sqlite_files(site.ledger_path):
            file.unlink(missing_ok=True)
        fault = await wait_ledger_fault(observer, csc, time.monotonic())
        assert "was deleted" in fault.errorReport and str(site.ledger_path) in fault.errorReport
        assert not site.ledger_path.exists(), "a new, empty ledger was made in its place"
        saved.rename(site.ledger_path)  # the operator restores the ledger
        archived = await recover(site, remote, log, name)
    assert archived.statusCode == 0, archived.description
    await assert_archived_once(site, {name: ["R00_S00"]})
    assert_confined(site)
