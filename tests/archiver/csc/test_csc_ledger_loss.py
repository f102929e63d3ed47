"""The ledger is the truth, so its loss is a FAULT: a ledger deleted, made
read-only or whose database server stops while ENABLED sends the Archiver to
FAULT with ``LEDGER_UNAVAILABLE`` (a Remote sees ``errorCode`` 5801 with the
reason), and once the ledger is back the usual recovery (standby, start,
enable) resumes the image it had left unfinished.

Each test starts a real ATArchiver in this process with one image already
in its ledger and not yet in the DAQ (as a previous run would leave it), so
the image is unfinished when the ledger is lost; the image is written to the
DAQ store before the recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsst.ts import salkit

from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.error_codes import ErrorCode
from lsst.ts.archiver.ledger import Ledger, Trigger
from lsst.ts.archiver.testing import (
    STD_TIMEOUT,
    EventLog,
    TemporaryPostgres,
    running_archiver,
    wait_until,
    write_config_dir,
)

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

NAME = "AT_O_20261123_000081"


def leave_unfinished(ledger_url: str) -> None:
    """Record ``NAME`` with its one detector still to capture, as a stopped Archiver leaves it."""
    with Ledger(ledger_url) as ledger:
        ledger.register_image(
            NAME, camera="LATISS", day_obs=20261123, expected={"R00_S00": 0}, trigger=Trigger.LIVE
        )


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` read-only as the kernel sees it, for this process.

    The tests run as root, which permission bits do not stop
    (CAP_DAC_OVERRIDE: ``chmod a-w`` changes nothing for SQLite), so the file
    is made immutable with ``chattr +i``, which root obeys too: new
    connections cannot write it and ``access(W_OK)`` is false. (SQLite's open
    connections would still append to the write-ahead log; the ledger's own
    check is what stops them.) A user other than root gets ``chmod a-w``.
    """
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", os.fspath(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", os.fspath(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)


class Archiver:
    """A running ATArchiver whose ledger is about to be lost."""

    def __init__(self, csc: Any, remote: salkit.Remote, log: EventLog, tmp_path: Path) -> None:
        self.csc = csc
        self.remote = remote
        self.log = log
        self.tmp_path = tmp_path
        self.error_codes: list[Any] = []
        remote.evt_errorCode.callback = self.error_codes.append  # type: ignore[attr-defined]
        self.health: list[Any] = []
        remote.tel_archiverHealth.callback = self.health.append  # type: ignore[attr-defined]

    async def wait_image_pending(self) -> None:
        """Wait until health shows the unfinished image (the ledger is in use)."""
        await wait_until(
            lambda: any(s.imagesPending == 1 for s in self.health),
            what="an archiverHealth sample with the unfinished image pending",
        )

    async def wait_ledger_fault(self) -> Any:
        """Wait for FAULT with LEDGER_UNAVAILABLE; return the errorCode sample."""
        [fault] = await wait_until(
            lambda: [e for e in self.error_codes if e.errorCode == ErrorCode.LEDGER_UNAVAILABLE],
            what="errorCode LEDGER_UNAVAILABLE (5801)",
        )
        await wait_until(
            lambda: self.csc.summary_state == salkit.State.FAULT and self.csc.runtime is None,
            what="FAULT with the runtime closed",
        )
        return fault

    async def recover_and_archive(self) -> Any:
        """Put the image in the DAQ, recover (standby, start, enable); return its imageArchived."""
        store = EmulatedDaqStore(self.tmp_path / "daq", "lat")
        await asyncio.to_thread(store.add_image, NAME, generator=PixelGenerator(cosmic_rays=0))
        store.close()
        await salkit.set_summary_state(self.remote, salkit.State.ENABLED, timeout=STD_TIMEOUT)
        [archived] = await self.log.wait_for("evt_imageArchived", 1, obsid=NAME)
        return archived


@contextlib.asynccontextmanager
async def archiver_with_unfinished_image(tmp_path: Path, ledger_url: str) -> AsyncIterator[Archiver]:
    """An ENABLED ATArchiver on ``ledger_url`` whose ledger has ``NAME`` unfinished."""
    EmulatedDaqStore(tmp_path / "daq", "lat").close()
    leave_unfinished(ledger_url)
    # The resumed image waits for the DAQ far longer than the test takes to lose the ledger.
    config_dir = write_config_dir(
        "ATArchiver", tmp_path, ledger_url=ledger_url, daq={"wait_timeout": 10 * STD_TIMEOUT}
    )
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        archiver = Archiver(csc, remote, log, tmp_path)
        await archiver.wait_image_pending()
        yield archiver


def sqlite_files(path: Path) -> list[Path]:
    """The ledger file and SQLite's write-ahead log and shared-memory files."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def backup(path: Path, to: Path) -> None:
    """A consistent copy of an SQLite database in use (SQLite's backup API)."""
    with contextlib.closing(sqlite3.connect(path)) as source, contextlib.closing(sqlite3.connect(to)) as copy:
        source.backup(copy)


async def test_a_deleted_sqlite_ledger_is_a_fault_and_recovery_from_its_backup_resumes_the_image(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.sqlite3"
    async with archiver_with_unfinished_image(tmp_path, f"sqlite:///{path}") as archiver:
        saved = tmp_path / "ledger-backup.sqlite3"
        await asyncio.to_thread(backup, path, saved)
        for file in sqlite_files(path):
            file.unlink(missing_ok=True)
        fault = await archiver.wait_ledger_fault()
        assert "was deleted" in fault.errorReport and str(path) in fault.errorReport
        assert not path.exists(), "the Archiver made no new, empty ledger in its place"
        saved.rename(path)  # the operator restores the ledger
        archived = await archiver.recover_and_archive()
    assert (archived.statusCode, archived.archivedSensors) == (0, 1)


async def test_a_read_only_sqlite_ledger_is_a_fault_and_recovery_resumes_the_image(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    async with archiver_with_unfinished_image(tmp_path, f"sqlite:///{path}") as archiver:
        with read_only(path):
            fault = await archiver.wait_ledger_fault()
        assert "not writable" in fault.errorReport and str(path) in fault.errorReport
        archived = await archiver.recover_and_archive()
    assert (archived.statusCode, archived.archivedSensors) == (0, 1)


async def test_a_stopped_postgresql_ledger_is_a_fault_and_recovery_resumes_the_image(tmp_path: Path) -> None:
    with TemporaryPostgres() as server:
        ledger_url = server.create_database("ledger")
        async with archiver_with_unfinished_image(tmp_path, ledger_url) as archiver:
            await asyncio.to_thread(server.pause, "immediate")
            try:
                fault = await archiver.wait_ledger_fault()
            finally:
                await asyncio.to_thread(server.resume)
            assert "unavailable" in fault.errorReport
            archived = await archiver.recover_and_archive()
    assert (archived.statusCode, archived.archivedSensors) == (0, 1)
