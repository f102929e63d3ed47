"""Standard state transitions, the command line, and FAULT only when the Archiver cannot work."""

from __future__ import annotations

import asyncio
import tempfile
import unittest
from pathlib import Path
from typing import Any

import pytest
from lsst.ts import salkit

from lsst.ts.archiver.csc import ArchiverCsc
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.error_codes import ErrorCode
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, wait_until, write_config_dir
from lsst.ts.salkit.base_csc_test_case import run_bin_script_version

BIN = Path(__file__).resolve().parents[3] / "bin"


class TestArchiverCscStates(salkit.BaseCscTestCase, unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name)
        EmulatedDaqStore(self.root / "daq", "lat").close()
        self.config_dir = write_config_dir("ATArchiver", self.root)

    def tearDown(self) -> None:
        self._tmp.cleanup()

    def basic_make_csc(
        self, initial_state: Any, config_dir: Any, simulation_mode: int, **kwargs: Any
    ) -> salkit.BaseCsc:
        return ArchiverCsc(
            "ATArchiver",
            config_dir=config_dir or self.config_dir,
            initial_state=initial_state,
            simulation_mode=simulation_mode,
            **kwargs,
        )

    async def test_standard_state_transitions(self) -> None:
        async with self.make_csc(initial_state=salkit.State.STANDBY):
            await self.check_standard_state_transitions(enabled_commands=("archiveImage", "catchUp"))

    async def test_archiver_health_is_written_every_second(self) -> None:
        async with self.make_csc(initial_state=salkit.State.ENABLED):
            await self.assert_next_summary_state(salkit.State.ENABLED)
            first = await self.remote.tel_archiverHealth.next(flush=True, timeout=STD_TIMEOUT)  # type: ignore[attr-defined]
            second = await self.remote.tel_archiverHealth.next(flush=False, timeout=STD_TIMEOUT)  # type: ignore[attr-defined]
            assert 0.5 < second.private_sndStamp - first.private_sndStamp < 2.0
            assert second.imagesPending == 0 and second.workersAlive == 2
            assert second.freeSpace > 0.5 and list(second.queueDepth) == [0] * 8

    async def test_configuration_with_no_destination_is_rejected(self) -> None:
        async with self.make_csc(initial_state=salkit.State.STANDBY):
            await self.assert_next_summary_state(salkit.State.STANDBY)
            (self.config_dir / "nodest.yaml").write_text("destinations: []\n")
            with self.assertRaisesRegex(salkit.AckError, "No enabled destination"):
                await self.remote.cmd_start.set_start(  # type: ignore[attr-defined]
                    configurationOverride="nodest.yaml", timeout=STD_TIMEOUT
                )
            assert self.csc.summary_state == salkit.State.STANDBY

    @pytest.mark.integration  # runs the bin scripts
    async def test_bin_scripts_report_their_version(self) -> None:
        for script in ("run_atarchiver", "run_ccarchiver", "run_mtarchiver"):
            version = run_bin_script_version(str(BIN / script))
            assert version == ArchiverCsc.version


async def assert_fault(csc: ArchiverCsc, code: ErrorCode, text: str) -> None:
    await wait_until(lambda: csc.summary_state == salkit.State.FAULT, what=f"{csc.salinfo.name} in FAULT")
    error = csc.evt_errorCode.data  # type: ignore[attr-defined]
    assert error.errorCode == code, error.errorReport
    assert text in error.errorReport


@pytest.mark.integration  # archives an image end to end
async def test_missing_daq_store_is_a_fault_and_recovery_resumes(tmp_path: Path) -> None:
    config_dir = write_config_dir("ATArchiver", tmp_path)
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        await assert_fault(csc, ErrorCode.DAQ_STORE_UNAVAILABLE, str(tmp_path / "daq"))
        # The operator fixes the DAQ mount; an image is waiting there.
        store = EmulatedDaqStore(tmp_path / "daq", "lat")
        await asyncio.to_thread(
            store.add_image, "AT_O_20261123_000005", generator=PixelGenerator(cosmic_rays=0)
        )
        store.close()
        await salkit.set_summary_state(remote, salkit.State.ENABLED, timeout=STD_TIMEOUT)
        await remote.cmd_archiveImage.set_start(
            imageName="AT_O_20261123_000005", priority=0, timeout=STD_TIMEOUT
        )
        [archived] = await log.wait_for("evt_imageArchived", 1)
        assert archived.statusCode == 0


async def test_unreachable_ledger_is_a_fault(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "daq", "lat").close()
    (tmp_path / "not-a-dir").write_text("")
    config_dir = write_config_dir(
        "ATArchiver", tmp_path, ledger_url=f"sqlite:///{tmp_path / 'not-a-dir' / 'l.db'}"
    )
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        await assert_fault(csc, ErrorCode.LEDGER_UNAVAILABLE, "ledger")


async def test_unwritable_staging_is_a_fault(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "daq", "lat").close()
    (tmp_path / "staging").write_text("a file, not a directory")
    config_dir = write_config_dir("ATArchiver", tmp_path)
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        await assert_fault(csc, ErrorCode.STAGING_NOT_WRITABLE, "not writable")


async def test_full_staging_is_a_fault(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "daq", "lat").close()
    config_dir = write_config_dir("ATArchiver", tmp_path, staging={"min_free_space": 1e9})
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        await assert_fault(csc, ErrorCode.STAGING_FULL, "min_free_space")
        # Commands that need ENABLED say why they cannot run.
        try:
            await remote.cmd_archiveImage.set_start(
                imageName="AT_O_20261123_000001", priority=0, timeout=STD_TIMEOUT
            )
        except salkit.AckError as e:
            assert "Fault state" in e.ackcmd.result and str(int(ErrorCode.STAGING_FULL)) in e.ackcmd.result
        else:
            raise AssertionError("archiveImage succeeded in FAULT")
