"""BaseCscTestCase: unit-test helpers for CSCs (mix with IsolatedAsyncioTestCase)."""

from __future__ import annotations

__all__ = ["BIN_SCRIPT_TIMEOUT", "BaseCscTestCase"]

import abc
import asyncio
import collections.abc
import contextlib
import enum
import os
import pathlib
import shutil
import subprocess
import sys
import typing

from .base_csc import BaseCsc
from .csc_utils import get_expected_summary_states, set_summary_state
from .domain import Domain
from .enums import SalRetCode, State
from .errors import AckError
from .remote import Remote
from .tai import current_tai
from .testutils import set_test_topic_subname
from .transport import TOPIC_SUBNAME_ENV_VAR
from .transport.memory import get_memory_bus
from .wait import STD_TIMEOUT

#: Timeout for `BaseCscTestCase.check_bin_script` (s).
BIN_SCRIPT_TIMEOUT = 40.0

#: Commands that change the summary state.
_STATE_COMMANDS = frozenset({"start", "enable", "disable", "standby", "exitControl", "enterControl"})


class BaseCscTestCase(metaclass=abc.ABCMeta):
    """Mixin for testing a CSC with `unittest.IsolatedAsyncioTestCase`.

    Works under unittest and pytest::

        class TestMyCsc(salkit.BaseCscTestCase, unittest.IsolatedAsyncioTestCase):
            def basic_make_csc(self, initial_state, config_dir, simulation_mode, **kwargs):
                return MyCsc(initial_state=initial_state, config_dir=config_dir,
                             simulation_mode=simulation_mode, **kwargs)

            async def test_standard_state_transitions(self):
                async with self.make_csc(initial_state=salkit.State.STANDBY):
                    await self.check_standard_state_transitions(enabled_commands=("move",))

    Each test runs with a new ``$LSST_TOPIC_SUBNAME`` and ``LSST_SITE=test``
    (both restored afterwards).

    Attributes
    ----------
    csc : `BaseCsc`
        The CSC made by `make_csc`.
    remote : `Remote`
        A Remote of the CSC on the CSC's domain, made by `make_csc`.
    csc_start_time : `float`
        TAI time just before the CSC was made; `assert_next_sample`
        ignores older samples.
    """

    csc: BaseCsc
    remote: Remote
    csc_start_time: float

    _index_counter = 0

    def run(self, result: typing.Any = None) -> typing.Any:
        """Run the test with its own topic sub-name and ``LSST_SITE=test``;
        afterwards forget that sub-name's in-memory topics."""
        saved = {name: os.environ.get(name) for name in (TOPIC_SUBNAME_ENV_VAR, "LSST_SITE")}
        subname = set_test_topic_subname()
        os.environ["LSST_SITE"] = "test"
        try:
            return super().run(result)  # type: ignore[misc]
        finally:
            get_memory_bus().delete_topics(subname)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    @abc.abstractmethod
    def basic_make_csc(
        self,
        initial_state: State | int | None,
        config_dir: str | pathlib.Path | None,
        simulation_mode: int,
        **kwargs: typing.Any,
    ) -> BaseCsc:
        """Make and return a CSC (do not wait for it to start)."""
        raise NotImplementedError()

    def next_index(self) -> int:
        """Return a new SAL index (1, 2, ...) for indexed components."""
        BaseCscTestCase._index_counter += 1
        return BaseCscTestCase._index_counter

    @contextlib.asynccontextmanager
    async def make_csc(
        self,
        initial_state: State | int | None = None,
        config_dir: str | pathlib.Path | None = None,
        simulation_mode: int = 0,
        log_level: int | None = None,
        timeout: float = STD_TIMEOUT,
        **kwargs: typing.Any,
    ) -> collections.abc.AsyncIterator[None]:
        """Make `csc` and `remote`, wait for both to start, close them at exit.

        The summary states the CSC passes through on its way to
        ``initial_state`` are consumed; the final one is left in the queue
        (check it with `assert_next_summary_state`).

        Parameters
        ----------
        initial_state : `State`, `int` or `None`
            Initial state; None: the CSC's default.
        config_dir, simulation_mode, **kwargs
            Passed to `basic_make_csc`.
        log_level : `int` or `None`
            If given, the CSC's log level.
        timeout : `float`
            Seconds to wait for the start.
        """
        self.csc_start_time = current_tai()
        csc = self.basic_make_csc(
            initial_state=initial_state, config_dir=config_dir, simulation_mode=simulation_mode, **kwargs
        )
        self.csc = csc
        try:
            if log_level is not None:
                csc.log.setLevel(log_level)
            # Made right after the CSC, on its domain: the CSC's start waits for it.
            self.remote = Remote(csc.domain, csc.salinfo.name, csc.salinfo.index)
            try:
                await asyncio.wait_for(asyncio.gather(csc.start_task, self.remote.start_task), timeout)
                default_state = csc.default_initial_state
                final_state = default_state if initial_state is None else State(initial_state)
                if final_state != default_state:
                    intermediate = [default_state] + get_expected_summary_states(default_state, final_state)
                    for state in intermediate[:-1]:
                        await self.assert_next_summary_state(state, timeout=timeout)
                yield
            finally:
                await self.remote.close()
        finally:
            await csc.close()

    async def assert_next_summary_state(
        self,
        state: State | int,
        flush: bool = False,
        timeout: float = STD_TIMEOUT,
        remote: Remote | None = None,
    ) -> None:
        """Assert the next summaryState sample (newer than the CSC start) is ``state``."""
        if remote is None:
            remote = self.remote
        await self.assert_next_sample(
            topic=remote.evt_summaryState,  # type: ignore[attr-defined]
            flush=flush,
            timeout=timeout,
            summaryState=State(state),
        )

    async def assert_next_sample(
        self,
        topic: typing.Any,
        flush: bool = False,
        timeout: float = STD_TIMEOUT,
        **kwargs: typing.Any,
    ) -> typing.Any:
        """Get the next sample of a read topic and check field values.

        Samples written before the CSC was made are skipped. Values given
        as an `enum.IntEnum` are compared as that enum. Floats and arrays
        of floats compare exactly.

        Returns
        -------
        data
            The sample.

        Raises
        ------
        AssertionError
            If a field differs.
        TimeoutError
            If no sample arrives in time.
        """
        data = await topic.next(flush=flush, timeout=timeout)
        start_time = getattr(self, "csc_start_time", 0.0)
        while data.private_sndStamp <= start_time:
            data = await topic.next(flush=False, timeout=timeout)
        for name, expected in kwargs.items():
            value = getattr(data, name)
            if isinstance(expected, enum.IntEnum):
                try:
                    value = type(expected)(value)
                except ValueError:
                    pass
            if value != expected:
                raise AssertionError(f"{topic.attr_name}.{name}={value!r} != expected {expected!r}")
        return data

    async def check_bad_commands(
        self,
        bad_commands: typing.Iterable[str] | None = None,
        good_commands: typing.Iterable[str] | None = None,
        timeout: float = STD_TIMEOUT,
    ) -> None:
        """Check that commands fail with CMD_FAILED in the current state.

        Parameters
        ----------
        bad_commands : iterable of `str` or `None`
            Commands to try; None: every command not in ``good_commands``.
        good_commands : iterable of `str` or `None`
            Commands not to try; None: start, enable, disable, standby,
            exitControl, enterControl and setLogLevel.
        """
        if good_commands is None:
            good_commands = _STATE_COMMANDS | {"setLogLevel"}
        good = set(good_commands)
        if bad_commands is None:
            bad_commands = self.remote.salinfo.command_names
        for command in bad_commands:
            if command in good:
                continue
            cmd = getattr(self.remote, f"cmd_{command}")
            try:
                await cmd.start(timeout=timeout)
            except AckError as e:
                if e.ackcmd.ack != SalRetCode.CMD_FAILED:
                    raise AssertionError(
                        f"{command} in state {self.csc.summary_state!r}: ack={e.ackcmd.ack}, expected CMD_FAILED"
                    ) from e
            else:
                raise AssertionError(
                    f"{command} succeeded in state {self.csc.summary_state!r}; expected CMD_FAILED"
                )

    async def check_standard_state_transitions(
        self,
        enabled_commands: typing.Iterable[str],
        skip_commands: typing.Iterable[str] | None = None,
        override: str = "",
        timeout: float = STD_TIMEOUT,
    ) -> None:
        """Walk STANDBY -> DISABLED -> ENABLED -> DISABLED -> STANDBY -> OFFLINE.

        Checks the summaryState after each command and that, in each state,
        the commands not allowed there fail with CMD_FAILED: in STANDBY all
        but start, exitControl and setLogLevel; in DISABLED all but enable,
        standby and setLogLevel; in ENABLED all but disable, setLogLevel and
        ``enabled_commands``. Call right after `make_csc` with the CSC in STANDBY.

        Parameters
        ----------
        enabled_commands : iterable of `str`
            CSC-specific commands allowed in ENABLED (not sent here).
        skip_commands : iterable of `str` or `None`
            Commands never to send (e.g. ones with side effects).
        override : `str`
            ``configurationOverride`` of the start command.
        timeout : `float`
            Seconds to wait for each command and state.
        """
        skip = set(skip_commands or ())
        enabled = set(enabled_commands)
        await self.assert_next_summary_state(State.STANDBY, timeout=timeout)
        await self.check_bad_commands(
            good_commands={"start", "exitControl", "setLogLevel"} | skip, timeout=timeout
        )

        await self.remote.cmd_start.set_start(configurationOverride=override, timeout=timeout)  # type: ignore[attr-defined]
        await self.assert_next_summary_state(State.DISABLED, timeout=timeout)
        await self.check_bad_commands(
            good_commands={"enable", "standby", "setLogLevel"} | skip, timeout=timeout
        )

        await self.remote.cmd_enable.start(timeout=timeout)  # type: ignore[attr-defined]
        await self.assert_next_summary_state(State.ENABLED, timeout=timeout)
        await self.check_bad_commands(
            good_commands={"disable", "setLogLevel"} | enabled | skip, timeout=timeout
        )

        await self.remote.cmd_disable.start(timeout=timeout)  # type: ignore[attr-defined]
        await self.assert_next_summary_state(State.DISABLED, timeout=timeout)
        await self.remote.cmd_standby.start(timeout=timeout)  # type: ignore[attr-defined]
        await self.assert_next_summary_state(State.STANDBY, timeout=timeout)
        await self.remote.cmd_exitControl.start(timeout=timeout)  # type: ignore[attr-defined]
        await self.assert_next_summary_state(State.OFFLINE, timeout=timeout)
        await asyncio.wait_for(self.csc.done_task, timeout)

    async def check_bin_script(
        self,
        name: str,
        index: int | None,
        exe_name: str,
        default_initial_state: State = State.STANDBY,
        initial_state: State | None = None,
        override: str | None = None,
        cmdline_args: typing.Sequence[str] = (),
        timeout: float = BIN_SCRIPT_TIMEOUT,
    ) -> None:
        """Run a CSC's command-line script and check it comes up and quits.

        Needs a transport that reaches other processes (``kafka``): the
        script inherits this process's environment. Checks the initial
        summary state(s), configurationApplied (if ENABLED/DISABLED and
        configurable), then commands the CSC to OFFLINE and waits for the
        process to exit with code 0.

        Parameters
        ----------
        name : `str`
            SAL component name.
        index : `int` or `None`
            SAL index, passed as the first argument if non-zero.
        exe_name : `str`
            Script: a path, or a name on ``$PATH``. Python scripts
            (``#!...python``) are run with this interpreter.
        default_initial_state : `State`
            The CSC's default initial state.
        initial_state : `State` or `None`
            If given, passed as ``--state``.
        override : `str` or `None`
            If given, passed as ``--override``.
        cmdline_args : sequence of `str`
            Further arguments.
        timeout : `float`
            Seconds for each step.

        Raises
        ------
        RuntimeError
            If the transport is the in-memory one, or the script is not found.
        AssertionError
            If a check fails.
        """
        async with Domain() as domain:
            if domain.transport.name == "memory":
                raise RuntimeError(
                    "check_bin_script needs a transport that reaches other processes: "
                    "set $LSST_SALKIT_TRANSPORT=kafka (the memory transport is in-process only)"
                )
            args = self._bin_script_command(exe_name)
            if index:
                args.append(str(index))
            if initial_state is not None:
                args += ["--state", State(initial_state).name.lower()]
            if override is not None:
                args += ["--override", override]
            args += list(cmdline_args)
            remote = Remote(domain, name, index)
            await asyncio.wait_for(remote.start_task, timeout)
            process = await asyncio.create_subprocess_exec(*args, env=dict(os.environ))
            try:
                final_state = default_initial_state if initial_state is None else State(initial_state)
                expected = [default_initial_state] + get_expected_summary_states(
                    default_initial_state, final_state
                )
                for state in expected:
                    data = await remote.evt_summaryState.next(flush=False, timeout=timeout)  # type: ignore[attr-defined]
                    if State(data.summaryState) != state:
                        raise AssertionError(
                            f"summaryState={State(data.summaryState)!r} != expected {state!r}"
                        )
                if final_state in (State.DISABLED, State.ENABLED) and hasattr(
                    remote, "evt_configurationApplied"
                ):
                    applied = await remote.evt_configurationApplied.aget(timeout=timeout)
                    if "_init.yaml" not in applied.configurations:
                        raise AssertionError(
                            f"configurationApplied.configurations={applied.configurations!r}"
                        )
                    if override and override.partition(":")[0] not in applied.configurations:
                        raise AssertionError(
                            f"override {override!r} not in configurationApplied.configurations={applied.configurations!r}"
                        )
                if final_state != State.OFFLINE:
                    await set_summary_state(remote, State.OFFLINE, timeout=timeout)
                return_code = await asyncio.wait_for(process.wait(), timeout)
                if return_code != 0:
                    raise AssertionError(f"{exe_name} exited with code {return_code}")
            finally:
                if process.returncode is None:
                    process.terminate()
                    try:
                        await asyncio.wait_for(process.wait(), timeout)
                    except TimeoutError:
                        process.kill()
                        await process.wait()

    @staticmethod
    def _bin_script_command(exe_name: str) -> list[str]:
        path = pathlib.Path(exe_name)
        if not path.is_file():
            found = shutil.which(exe_name)
            if found is None:
                raise RuntimeError(f"Script {exe_name!r} not found (neither a file nor on $PATH)")
            path = pathlib.Path(found)
        with open(path, "rb") as f:
            first_line = f.readline()
        if first_line.startswith(b"#!") and b"python" in first_line:
            return [sys.executable, str(path)]
        return [str(path)]


def run_bin_script_version(exe_name: str, timeout: float = BIN_SCRIPT_TIMEOUT) -> str:
    """Run ``<script> --version`` and return its output (stripped)."""
    args = BaseCscTestCase._bin_script_command(exe_name) + ["--version"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)
    return result.stdout.strip()
