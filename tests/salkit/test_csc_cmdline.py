"""The CSC command line (``make_from_cmd_line``, ``amain``) and the
``bin/run_test_csc`` script (sal-wire.md §2.8, check_bin_script of §2.11).

The script runs in another process, so those tests use the Kafka
transport on a tansu broker and development schema registry started here.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import pathlib
import signal
import sys
import typing
import unittest

import pytest
from lsst.ts import salkit

from lsst.ts.salkit import STD_TIMEOUT
from lsst.ts.salkit.base_csc_test_case import run_bin_script_version
from lsst.ts.salkit.kafka.local_stack import LocalKafka, kafka_environ, local_kafka
from lsst.ts.salkit.test_csc import TestCsc

REPO_DIR = pathlib.Path(__file__).resolve().parents[2]
CONFIG_PKG_DIR = REPO_DIR / "tests" / "data" / "config"
CONFIG_DIR = CONFIG_PKG_DIR / "Test" / "v1"
RUN_TEST_CSC = REPO_DIR / "bin" / "run_test_csc"


class CmdLineTestCase(salkit.BaseCscTestCase, unittest.IsolatedAsyncioTestCase):
    """make_from_cmd_line and amain in this process (memory transport)."""

    def basic_make_csc(
        self,
        initial_state: salkit.State | int | None,
        config_dir: str | pathlib.Path | None,
        simulation_mode: int,
        **kwargs: typing.Any,
    ) -> salkit.BaseCsc:
        raise NotImplementedError("not used here")

    async def test_options_reach_the_constructor(self) -> None:
        csc = TestCsc.make_from_cmd_line(
            index=True,
            args=[
                "7",
                "--state",
                "enabled",
                "--override",
                "all_fields.yaml",
                "--configdir",
                str(CONFIG_DIR),
                "--simulate",
                "--loglevel",
                "10",
            ],
        )
        try:
            await asyncio.wait_for(csc.start_task, STD_TIMEOUT)
            assert csc.salinfo.index == 7
            assert csc.summary_state == salkit.State.ENABLED
            assert csc.config.int0 == -2  # type: ignore[attr-defined]
            assert csc.simulation_mode == 1
            assert csc.log.level == logging.DEBUG
            assert csc.config_dir == CONFIG_DIR
        finally:
            await csc.close()

    async def test_defaults_without_options(self) -> None:
        os.environ["TS_CONFIG_OCS_DIR"] = str(CONFIG_PKG_DIR)
        try:
            csc = TestCsc.make_from_cmd_line(index=True, args=["3"])
        finally:
            del os.environ["TS_CONFIG_OCS_DIR"]
        try:
            await asyncio.wait_for(csc.start_task, STD_TIMEOUT)
            assert csc.summary_state == salkit.State.STANDBY
            assert csc.simulation_mode == 0
            assert not csc.check_if_duplicate
        finally:
            await csc.close()

    async def test_index_enum_and_simulation_choices(self) -> None:
        class Telescope(enum.IntEnum):
            MAIN = 1
            AUX = 2

        class ManyModesCsc(TestCsc):
            valid_simulation_modes = (0, 1, 2)

        cmdline = salkit.CscCommandLine(ManyModesCsc, Telescope)
        help_text = cmdline.parser.format_help()
        assert "SAL index, one of: 1: main, 2: aux" in help_text
        with self.assertRaises(SystemExit):
            cmdline.parser.parse_args(["3"])
        parsed = cmdline.parser.parse_args(["2", "--simulate", "2"])
        assert (parsed.index, parsed.simulate) == (2, 2)

    async def test_amain_runs_until_exit_control(self) -> None:
        argv = sys.argv
        sys.argv = ["run_test_csc", "4", "--configdir", str(CONFIG_DIR)]
        try:
            task = asyncio.create_task(TestCsc.amain(index=True))
            async with salkit.Domain() as domain, salkit.Remote(domain, "Test", 4) as remote:
                data = await remote.evt_summaryState.next(flush=False, timeout=STD_TIMEOUT)
                assert data.summaryState == salkit.State.STANDBY
                await remote.cmd_exitControl.start(timeout=STD_TIMEOUT)
                await asyncio.wait_for(task, STD_TIMEOUT)
        finally:
            sys.argv = argv

    async def test_amain_quits_on_sigterm(self) -> None:
        argv = sys.argv
        sys.argv = ["run_test_csc", "5", "--configdir", str(CONFIG_DIR)]
        try:
            task = asyncio.create_task(TestCsc.amain(index=True))
            async with salkit.Domain() as domain, salkit.Remote(domain, "Test", 5) as remote:
                await remote.evt_summaryState.next(flush=False, timeout=STD_TIMEOUT)
                os.kill(os.getpid(), signal.SIGTERM)
                await asyncio.wait_for(task, STD_TIMEOUT)
        finally:
            sys.argv = argv

    async def test_amain_exits_cleanly_if_another_instance_runs(self) -> None:
        async with salkit.Domain() as domain, salkit.Remote(domain, "Test", 6) as remote:
            other = TestCsc(index=6, config_dir=CONFIG_DIR)
            try:
                await other.start_task
                await remote.evt_heartbeat.next(flush=False, timeout=STD_TIMEOUT)
                with self.assertRaises(SystemExit) as cm:
                    await self._run_amain(["6", "--configdir", str(CONFIG_DIR)])
                assert cm.exception.code == 1
            finally:
                await other.close()

    async def test_amain_exits_cleanly_on_a_bad_override_or_site(self) -> None:
        with self.assertRaises(SystemExit) as cm:
            await self._run_amain(
                ["8", "--configdir", str(CONFIG_DIR), "--state", "enabled", "--override", "nope.yaml"]
            )
        assert cm.exception.code == 1
        del os.environ["LSST_SITE"]
        with self.assertRaises(SystemExit) as cm:
            await self._run_amain(["9", "--configdir", str(CONFIG_DIR)])
        assert cm.exception.code == 1

    async def _run_amain(self, args: list[str]) -> None:
        argv = sys.argv
        sys.argv = ["run_test_csc", *args]
        try:
            await asyncio.wait_for(TestCsc.amain(index=True), STD_TIMEOUT)
        finally:
            sys.argv = argv

    @pytest.mark.integration  # runs bin/run_test_csc
    async def test_version_option_prints_the_csc_version(self) -> None:
        output = await asyncio.to_thread(run_bin_script_version, str(RUN_TEST_CSC))
        assert output == TestCsc.version

    async def test_check_bin_script_needs_a_cross_process_transport(self) -> None:
        with self.assertRaisesRegex(RuntimeError, "LSST_SALKIT_TRANSPORT=kafka"):
            await self.check_bin_script(name="Test", index=1, exe_name=str(RUN_TEST_CSC))


@pytest.mark.integration  # bin/run_test_csc in its own process, over tansu
class BinScriptTestCase(salkit.BaseCscTestCase, unittest.IsolatedAsyncioTestCase):
    """bin/run_test_csc in its own process, over Kafka."""

    kafka: LocalKafka

    @classmethod
    def setUpClass(cls) -> None:
        cls.kafka = cls.enterClassContext(local_kafka())

    def setUp(self) -> None:
        self.enterContext(kafka_environ(self.kafka, TS_CONFIG_OCS_DIR=str(CONFIG_PKG_DIR)))

    def basic_make_csc(
        self,
        initial_state: salkit.State | int | None,
        config_dir: str | pathlib.Path | None,
        simulation_mode: int,
        **kwargs: typing.Any,
    ) -> salkit.BaseCsc:
        raise NotImplementedError("not used here")

    async def test_bin_script_default_state(self) -> None:
        await self.check_bin_script(name="Test", index=1, exe_name=str(RUN_TEST_CSC))

    async def test_bin_script_enabled_with_override(self) -> None:
        await self.check_bin_script(
            name="Test",
            index=2,
            exe_name=str(RUN_TEST_CSC),
            initial_state=salkit.State.ENABLED,
            override="some_fields.yaml",
        )
