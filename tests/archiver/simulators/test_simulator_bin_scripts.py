"""bin/run_camera_simulator and bin/run_header_service_simulator in their own processes, over Kafka."""

from __future__ import annotations

import asyncio
import hashlib
import pathlib
import sys
import tempfile
import typing
import unittest

import pytest
from lsst.resources import ResourcePath
from lsst.ts import salkit

from lsst.ts.archiver.daq import EmulatedDaqStore
from lsst.ts.archiver.fits import parse_header_file
from lsst.ts.archiver.simulators import CameraSimulatorCsc
from lsst.ts.archiver.testing import STD_TIMEOUT, LocalKafka, kafka_environ, local_kafka
from lsst.ts.salkit.base_csc_test_case import run_bin_script_version

pytestmark = pytest.mark.integration  # bin scripts in their own processes, over tansu

BIN_DIR = pathlib.Path(__file__).resolve().parents[3] / "bin"
RUN_CAMERA = BIN_DIR / "run_camera_simulator"
RUN_HEADER_SERVICE = BIN_DIR / "run_header_service_simulator"


class SimulatorBinScriptTestCase(salkit.BaseCscTestCase, unittest.IsolatedAsyncioTestCase):
    kafka: LocalKafka

    @classmethod
    def setUpClass(cls) -> None:
        cls.kafka = cls.enterClassContext(local_kafka())

    def setUp(self) -> None:
        self.enterContext(kafka_environ(self.kafka))
        self.work_dir = tempfile.TemporaryDirectory()

    def tearDown(self) -> None:
        self.work_dir.cleanup()

    def basic_make_csc(
        self,
        initial_state: salkit.State | int | None,
        config_dir: str | pathlib.Path | None,
        simulation_mode: int,
        **kwargs: typing.Any,
    ) -> salkit.BaseCsc:
        raise NotImplementedError("not used here")

    async def test_camera_simulator_script_starts_and_quits(self) -> None:
        # Default state (STANDBY): the simulator is not a ConfigurableCsc, so it
        # writes no configurationApplied, which check_bin_script wants in ENABLED.
        await self.check_bin_script(
            name="CCCamera",
            index=None,
            exe_name=str(RUN_CAMERA),
            cmdline_args=["CCCamera", "--daq-root", self.work_dir.name, "--small-amplifiers"],
        )
        # The store was created for the camera's partition.
        with EmulatedDaqStore(self.work_dir.name, "comcam", create=False) as store:
            assert store.list_images() == []

    async def test_header_service_simulator_script_starts_and_quits(self) -> None:
        await self.check_bin_script(
            name="MTHeaderService",
            index=None,
            exe_name=str(RUN_HEADER_SERVICE),
            initial_state=salkit.State.ENABLED,
            cmdline_args=[
                "MTHeaderService",
                "--header-root",
                self.work_dir.name,
                "--drop-probability",
                "0.1",
            ],
        )

    async def test_version_option_prints_the_package_version(self) -> None:
        assert await asyncio.to_thread(run_bin_script_version, str(RUN_CAMERA)) == CameraSimulatorCsc.version

    async def test_take_images_across_processes(self) -> None:
        """Camera and Header Service simulators as scripts; a Remote here takes two images."""
        root = pathlib.Path(self.work_dir.name)
        common = ["--state", "enabled"]
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable, str(RUN_CAMERA), "CCCamera", "--daq-root", str(root / "daq"),
                "--small-amplifiers", "--time-scale", "0.05", *common,
            ),
            await asyncio.create_subprocess_exec(
                sys.executable, str(RUN_HEADER_SERVICE), "CCHeaderService", "--header-root",
                str(root / "headers"), *common,
            ),
        ]  # fmt: skip
        try:
            async with salkit.Domain() as domain:
                camera = salkit.Remote(domain, "CCCamera", include=["summaryState", "endOfImageTelemetry"])
                header_service = salkit.Remote(
                    domain, "CCHeaderService", include=["summaryState", "largeFileObjectAvailable"]
                )
                await asyncio.gather(camera.start_task, header_service.start_task)
                for remote in (camera, header_service):
                    while (
                        await remote.evt_summaryState.next(flush=False, timeout=STD_TIMEOUT)
                    ).summaryState != salkit.State.ENABLED:
                        pass
                await camera.cmd_takeImages.set_start(
                    numImages=2, expTime=0.1, shutter=True, sensors="", keyValueMap="imageType: FLAT",
                    obsNote="", timeout=STD_TIMEOUT,
                )  # fmt: skip
                names = [
                    (await camera.evt_endOfImageTelemetry.next(flush=False, timeout=STD_TIMEOUT)).imageName
                    for _ in range(2)
                ]
                headers = [
                    await header_service.evt_largeFileObjectAvailable.next(flush=False, timeout=STD_TIMEOUT)
                    for _ in range(2)
                ]
                assert sorted(h.id for h in headers) == sorted(names)
                for header in headers:
                    data = ResourcePath(header.url).read()
                    assert hashlib.md5(data).hexdigest() == header.checkSum
                    assert parse_header_file(data).obsid == header.id
                with EmulatedDaqStore(root / "daq", "comcam", create=False) as store:
                    assert [image.name for image in store.list_images()] == names
                for remote in (camera, header_service):
                    await salkit.set_summary_state(remote, salkit.State.OFFLINE, timeout=STD_TIMEOUT)
            for process in processes:
                assert await asyncio.wait_for(process.wait(), STD_TIMEOUT) == 0
        finally:
            for process in processes:
                if process.returncode is None:
                    process.terminate()
                    await process.wait()
