"""TestCsc: a demonstration CSC of the ``Test`` component (as salobj's TestCsc).

Used by the salkit tests, ``bin/run_test_csc``, ``bin/command_test_csc``
and the end-to-end demonstration.
"""

from __future__ import annotations

__all__ = ["CONFIG_SCHEMA", "TestCsc", "command_test_csc", "run_test_csc"]

import asyncio
import pathlib
import types
import typing

import yaml

from .base_csc import get_interface_version
from .configurable_csc import ConfigurableCsc
from .csc_commander import CscCommander
from .enums import SalRetCode, State

CONFIG_SCHEMA = yaml.safe_load(
    """
$schema: http://json-schema.org/draft-07/schema#
$id: https://github.com/lsst-ts/ts_archiver/blob/main/python/lsst/ts/salkit/test_csc.py
title: Test v1
description: Configuration of the demonstration TestCsc.
type: object
properties:
  string0:
    description: A string.
    type: string
  bool0:
    description: A boolean.
    type: boolean
  int0:
    description: An integer.
    type: integer
  float0:
    description: A number.
    type: number
  intarr0:
    description: An array of integers.
    type: array
    items:
      type: integer
  multi_type:
    description: An integer, a string or null.
    anyOf:
      - type: integer
      - type: string
      - type: "null"
required: [string0, bool0, int0, float0, intarr0, multi_type]
additionalProperties: false
"""
)

#: Error code written by the fault command.
FAULT_COMMAND_ERROR_CODE = 1


class TestCsc(ConfigurableCsc):
    """Demonstration CSC for the ``Test`` component.

    Commands (all need ENABLED):

    * ``setScalars`` / ``setArrays``: write the ``scalars`` / ``arrays``
      event and telemetry with the command's values;
    * ``fault``: go to FAULT with errorCode 1;
    * ``wait``: wait ``duration`` seconds; ``ack`` selects what happens:
      CMD_INPROGRESS (301) first sends INPROGRESS with timeout ``duration``,
      CMD_FAILED (-302) then raises RuntimeError, CMD_TIMEOUT (-304) then
      raises TimeoutError; anything else just waits.

    Parameters
    ----------
    index : `int`
        SAL index (non-zero).
    config_dir : `str`, `pathlib.Path` or `None`
        Configuration directory; None: ``$TS_CONFIG_OCS_DIR/Test/v1``.
    check_if_duplicate, initial_state, override, simulation_mode
        As for `BaseCsc`.

    Attributes
    ----------
    config : `types.SimpleNamespace` or `None`
        The configuration applied by the last start command.
    """

    __test__ = False  # not a pytest test class, despite the name

    version = get_interface_version() or "0.0.0"
    valid_simulation_modes = (0, 1)
    simulation_help = "Run in simulation mode 1 (the TestCsc behaves the same)."
    enable_cmdline_state = True

    def __init__(
        self,
        index: int,
        config_dir: str | pathlib.Path | None = None,
        check_if_duplicate: bool = False,
        initial_state: State | int = State.STANDBY,
        override: str = "",
        simulation_mode: int = 0,
    ) -> None:
        self.config: types.SimpleNamespace | None = None
        super().__init__(
            "Test",
            index=index,
            config_schema=CONFIG_SCHEMA,
            config_dir=config_dir,
            check_if_duplicate=check_if_duplicate,
            initial_state=initial_state,
            override=override,
            simulation_mode=simulation_mode,
        )
        self.evt_configurationApplied.set(otherInfo="")  # type: ignore[attr-defined]

    @staticmethod
    def get_config_pkg() -> str:
        return "ts_config_ocs"

    async def configure(self, config: types.SimpleNamespace) -> None:
        self.config = config

    async def do_setScalars(self, data: typing.Any) -> None:
        """Write the scalars event and telemetry."""
        self.assert_enabled("setScalars")
        values = self._public_values(data)
        await self.evt_scalars.set_write(**values, force_output=True)  # type: ignore[attr-defined]
        await self.tel_scalars.set_write(**values)  # type: ignore[attr-defined]

    async def do_setArrays(self, data: typing.Any) -> None:
        """Write the arrays event and telemetry."""
        self.assert_enabled("setArrays")
        values = self._public_values(data)
        await self.evt_arrays.set_write(**values, force_output=True)  # type: ignore[attr-defined]
        await self.tel_arrays.set_write(**values)  # type: ignore[attr-defined]

    async def do_fault(self, data: typing.Any) -> None:
        """Go to FAULT with errorCode 1."""
        self.assert_enabled("fault")
        await self.fault(code=FAULT_COMMAND_ERROR_CODE, report="Fault command")

    async def do_wait(self, data: typing.Any) -> None:
        """Wait; optionally acknowledge INPROGRESS, or fail or time out after."""
        self.assert_enabled("wait")
        if data.duration < 0:
            raise ValueError(f"wait: duration={data.duration} must be >= 0")
        if data.ack == SalRetCode.CMD_INPROGRESS:
            await self.cmd_wait.ack_in_progress(data, timeout=data.duration)  # type: ignore[attr-defined]
        await asyncio.sleep(data.duration)
        if data.ack == SalRetCode.CMD_FAILED:
            raise RuntimeError(f"wait failed as requested (ack={data.ack})")
        if data.ack == SalRetCode.CMD_TIMEOUT:
            raise TimeoutError(f"wait timed out as requested (ack={data.ack})")

    def _public_values(self, data: typing.Any) -> dict[str, typing.Any]:
        return {name: value for name, value in data.get_vars().items() if not _is_private(name)}


def _is_private(name: str) -> bool:
    return name.startswith("private_") or name == "salIndex"


def run_test_csc() -> None:
    """Entry point of ``bin/run_test_csc``."""
    asyncio.run(TestCsc.amain(index=True))


def command_test_csc() -> None:
    """Entry point of ``bin/command_test_csc``."""
    asyncio.run(CscCommander.amain(index=True, name="Test"))
