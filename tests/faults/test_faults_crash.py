"""The Archiver killed with SIGKILL (doc/reliability.rst), in its own process
(``fault_child.py``, with its capture workers, all in one process group):
in the middle of an image's capture, and in the middle of a delivery. The
restarted Archiver completes the image from the ledger, each dataset once in
every repository, nothing captured or transferred twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from fault_support import Site, assert_archived_once, assert_confined, write_locked

from lsst.ts.archiver.butler import create_repository
from lsst.ts.archiver.ledger import CaptureState, DeliveryStage, LedgerError
from lsst.ts.archiver.testing import STD_TIMEOUT, wait_until

pytestmark = pytest.mark.integration  # Archivers in their own processes, end to end

CHILD = Path(__file__).with_name("fault_child.py")


class ArchivingChild:
    """An Archiver process archiving one image (`archiving_child`)."""

    def __init__(self, process: subprocess.Popen[bytes], output: Path) -> None:
        self.process = process
        self.output = output

    def check_alive(self) -> None:
        """Raise (with its output) if the process has exited."""
        if self.process.poll() is not None:
            raise AssertionError(
                f"the Archiver process exited with {self.process.returncode}:\n{self.output.read_text()[-3000:]}"
            )

    def kill(self) -> None:
        """SIGKILL the process and its capture workers (its process group); wait for it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(STD_TIMEOUT)


@contextlib.asynccontextmanager
async def archiving_child(site: Site, name: str) -> AsyncIterator[ArchivingChild]:
    """An Archiver process archiving ``name``; killed at the end if still running."""
    output = site.inputs / "archiving-child.log"  # a file: a full pipe would block the child
    with open(output, "wb") as stream:
        process = subprocess.Popen(
            [sys.executable, str(CHILD), str(site.root), site.component, "archive", name],
            start_new_session=True,  # its capture workers in its process group
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    child = ArchivingChild(process, output)
    try:
        yield child
    finally:
        child.kill()


async def wait_in_ledger(
    child: ArchivingChild, site: Site, condition: Callable[[Any], Any], what: str
) -> Any:
    """Wait for ``condition(ledger)`` on the site's ledger (read from this process) while the child runs."""

    def check() -> Any:
        child.check_alive()
        if not site.ledger_path.exists():
            return None
        try:
            with site.ledger() as ledger:
                return condition(ledger)
        except LedgerError:
            return None  # the child is still creating it, or the image is not registered yet

    return await wait_until(lambda: asyncio.to_thread(check), what=what)


async def resume(site: Site, *names: str) -> None:
    """Run a restarted Archiver until the images are archived (fails with its output otherwise)."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(CHILD), str(site.root), site.component, "resume", *names],
        timeout=2 * STD_TIMEOUT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


async def test_sigkill_mid_capture_then_restart_captures_the_rest_and_archives_each_dataset_once(
    comcam_site: Site,
) -> None:
    site = comcam_site
    name = site.name(81)
    # Two REB sources; the second is still being read out, so its detectors
    # are retried (SOURCE_INCOMPLETE) while the first's are written.
    site.write_config(daq={"wait_timeout": 1.0}, capture_attempts=20)
    first, second = await site.start_image(name, locations=["R22/Reb0", "R22/Reb1"])
    await site.write_sources(name, [first])
    async with archiving_child(site, name) as child:

        def mid_capture(ledger: Any) -> Any:
            detectors = ledger.detectors(name)
            states = [d.state for d in detectors]
            if states.count(CaptureState.WRITTEN) == 3 and states.count(CaptureState.PENDING) == 3:
                return {d.name: d.path for d in detectors if d.state is CaptureState.WRITTEN}
            return None

        written = await wait_in_ledger(
            child, site, mid_capture, "3 files written, 3 detectors still to capture"
        )
        child.kill()
    assert child.process.returncode == -signal.SIGKILL
    before = {n: os.stat(p).st_mtime_ns for n, p in written.items()}
    await site.write_sources(name, [second])  # the readout ends while the Archiver is down

    await resume(site, name)
    expected = [
        d.name for d in site.camera.detectors if str(site.camera.reb_for(d.name).location) in (first, second)
    ]
    assert len(expected) == 6
    await assert_archived_once(site, {name: expected})
    with site.ledger() as ledger:
        assert ledger.image(name).archive_status == 0, ledger.image(name).archive_description
        detectors = {d.name: d for d in ledger.detectors(name)}
    assert {n: os.stat(detectors[n].path).st_mtime_ns for n in written} == before, "captured again"
    assert_confined(site)


async def test_sigkill_mid_delivery_then_restart_delivers_each_file_once(site: Site) -> None:
    name = site.name(82)
    site.write_config()
    await asyncio.to_thread(
        lambda: create_repository(site.repo("dbb"), instruments=[site.instrument]).close()
    )
    await site.add_image(name)
    # The DBB ingest waits on its locked registry, so the Archiver is killed
    # with the raw at the DBB (transferred) but not ingested there.
    with write_locked(site.repo("dbb") / "gen3.sqlite3"):
        async with archiving_child(site, name) as child:

            def transferred_not_ingested(ledger: Any) -> Any:
                items = {(d.destination, d.item): d for d in ledger.deliveries(image=name)}
                oods, dbb = items.get(("oods", "R00_S00")), items.get(("dbb", "R00_S00"))
                if oods and dbb and oods.stage is DeliveryStage.DONE and dbb.stage is DeliveryStage.INGEST:
                    return dbb
                return None

            at_kill = await wait_in_ledger(
                child, site, transferred_not_ingested, "the DBB ingest in progress"
            )
            child.kill()
        assert child.process.returncode == -signal.SIGKILL
    await resume(site, name)
    await assert_archived_once(site, {name: ["R00_S00"]})
    with site.ledger() as ledger:
        [dbb] = [d for d in ledger.deliveries(image=name, destination="dbb") if d.item == "R00_S00"]
        assert ledger.image(name).archive_status == 0
        [detector] = ledger.detectors(name)
    assert dbb.transferred_at == at_kill.transferred_at, "transferred again"
    assert detector.attempts == 1, "captured again"
    assert_confined(site)
