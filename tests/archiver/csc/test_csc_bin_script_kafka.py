"""bin/run_ccarchiver in its own process over Kafka (a real tansu broker on a free
loopback port): comes up ENABLED with its configuration, archives an image
commanded from this process, and quits on exitControl."""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
import tempfile
import unittest
from typing import Any

import pytest
from lsst.ts import salkit

from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.testing import (
    STD_TIMEOUT,
    EventLog,
    LocalKafka,
    kafka_environ,
    local_kafka,
    result_remote,
    write_config_dir,
)

pytestmark = pytest.mark.integration  # a CSC in its own process, tansu

RUN_ATARCHIVER = pathlib.Path(__file__).resolve().parents[3] / "bin" / "run_atarchiver"
NAME = "AT_O_20261123_000061"


class ArchiverBinScriptTestCase(salkit.BaseCscTestCase, unittest.IsolatedAsyncioTestCase):
    kafka: LocalKafka

    @classmethod
    def setUpClass(cls) -> None:
        cls.kafka = cls.enterClassContext(local_kafka())

    def setUp(self) -> None:
        self.enterContext(kafka_environ(self.kafka))
        self.work = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.work.name)

    def tearDown(self) -> None:
        self.work.cleanup()

    def basic_make_csc(self, initial_state: Any, config_dir: Any, simulation_mode: int, **kwargs: Any) -> Any:
        raise NotImplementedError("the CSC runs in its own process here")

    async def test_run_atarchiver_over_kafka(self) -> None:
        store = EmulatedDaqStore(self.root / "daq", "lat")
        await asyncio.to_thread(store.add_image, NAME, generator=PixelGenerator(cosmic_rays=0))
        store.close()
        config_dir = write_config_dir("ATArchiver", self.root)
        args = [sys.executable, str(RUN_ATARCHIVER), "--state", "enabled", "--configdir", str(config_dir)]
        async with salkit.Domain() as domain:
            remote = salkit.Remote(domain, "ATArchiver", include=["summaryState", "configurationApplied"])
            results = result_remote(domain, "ATArchiver")
            await asyncio.gather(remote.start_task, results.start_task)
            log = EventLog(results)
            process = await asyncio.create_subprocess_exec(*args, env=dict(os.environ))
            try:
                for state in (salkit.State.STANDBY, salkit.State.DISABLED, salkit.State.ENABLED):
                    await self.assert_next_summary_state(state, remote=remote, timeout=STD_TIMEOUT)
                applied = await remote.evt_configurationApplied.aget(timeout=STD_TIMEOUT)  # type: ignore[attr-defined]
                assert "_init.yaml" in applied.configurations and "_test.yaml" in applied.configurations
                await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)  # type: ignore[attr-defined]
                [archived] = await log.wait_for("evt_imageArchived", 1)
                assert (archived.obsid, archived.statusCode) == (NAME, 0)
                [in_oods] = await log.wait_for("evt_imageInOODS", 1)
                assert in_oods.statusCode == 0
                await salkit.set_summary_state(remote, salkit.State.OFFLINE, timeout=STD_TIMEOUT)
                assert await asyncio.wait_for(process.wait(), STD_TIMEOUT) == 0
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
