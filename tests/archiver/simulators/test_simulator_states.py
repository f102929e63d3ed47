"""Both simulator CSCs pass salkit's standard state-transition checks."""

from __future__ import annotations

import pathlib
import tempfile
import typing
import unittest

from lsst.ts import salkit

from lsst.ts.archiver.simulators import (
    SMALL_AMPLIFIER_REGISTERS,
    CameraSimulatorCsc,
    HeaderServiceSimulatorCsc,
)


class CameraSimulatorStateTestCase(salkit.BaseCscTestCase, unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self._tmp.cleanup)

    def basic_make_csc(
        self,
        initial_state: salkit.State | int | None,
        config_dir: str | pathlib.Path | None,
        simulation_mode: int,
        **kwargs: typing.Any,
    ) -> salkit.BaseCsc:
        return CameraSimulatorCsc(
            "CCCamera",
            self._tmp.name,
            initial_state=salkit.State(initial_state or salkit.State.STANDBY),
            simulation_mode=simulation_mode,
            registers=SMALL_AMPLIFIER_REGISTERS,
        )

    async def test_standard_state_transitions(self) -> None:
        async with self.make_csc(initial_state=salkit.State.STANDBY):
            await self.check_standard_state_transitions(enabled_commands=("takeImages",))


class HeaderServiceSimulatorStateTestCase(salkit.BaseCscTestCase, unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self._tmp.cleanup)

    def basic_make_csc(
        self,
        initial_state: salkit.State | int | None,
        config_dir: str | pathlib.Path | None,
        simulation_mode: int,
        **kwargs: typing.Any,
    ) -> salkit.BaseCsc:
        return HeaderServiceSimulatorCsc(
            "MTHeaderService",
            self._tmp.name,
            initial_state=salkit.State(initial_state or salkit.State.STANDBY),
            simulation_mode=simulation_mode,
        )

    async def test_standard_state_transitions(self) -> None:
        async with self.make_csc(initial_state=salkit.State.STANDBY):
            await self.check_standard_state_transitions(enabled_commands=())
