"""salkit's CSC test helpers (BaseCscTestCase) work unchanged on the Kafka
transport: the demonstration TestCsc and its Remote over tansu."""

from __future__ import annotations

import pathlib
import typing
import unittest

import pytest
from lsst.ts import salkit

from lsst.ts.salkit.test_csc import TestCsc

CONFIG_DIR = pathlib.Path(__file__).resolve().parents[2] / "data" / "config" / "Test" / "v1"


@pytest.mark.usefixtures("kafka_env")
class KafkaCscTestCase(salkit.BaseCscTestCase, unittest.IsolatedAsyncioTestCase):
    def basic_make_csc(
        self,
        initial_state: salkit.State | int | None,
        config_dir: str | pathlib.Path | None,
        simulation_mode: int,
        **kwargs: typing.Any,
    ) -> salkit.BaseCsc:
        return TestCsc(
            index=self.next_index(),
            initial_state=salkit.State.STANDBY if initial_state is None else initial_state,
            config_dir=CONFIG_DIR if config_dir is None else config_dir,
            simulation_mode=simulation_mode,
            **kwargs,
        )

    async def test_standard_state_transitions_over_kafka(self) -> None:
        async with self.make_csc(initial_state=salkit.State.STANDBY):
            assert self.csc.domain.transport.name == "kafka"
            await self.check_standard_state_transitions(
                enabled_commands=("fault", "setArrays", "setScalars", "wait"), override="all_fields.yaml"
            )
            assert self.csc.summary_state == salkit.State.OFFLINE
