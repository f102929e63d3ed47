"""BaseCsc: a Commandable SAL Component with the standard summary-state machine."""

from __future__ import annotations

__all__ = ["HEARTBEAT_INTERVAL", "BaseCsc", "add_signal_callback", "remove_signal_callback"]

import asyncio
import enum
import functools
import importlib.metadata
import logging
import os
import signal
import sys
import typing

from .controller import Controller
from .csc_cmdline import CscCommandLine
from .csc_utils import make_state_transition_dict
from .domain import Domain
from .enums import State
from .errors import ExpectedError
from .remote import Remote
from .transport import TRANSPORT_ENV_VAR, make_transport

#: Seconds between heartbeat events.
HEARTBEAT_INTERVAL = 1.0

#: Number of heartbeat intervals the duplicate-instance check listens.
DUPLICATE_CHECK_INTERVALS = 3

#: Seconds to sleep between the commands that reach the initial state.
_INITIAL_STATE_COMMAND_DELAY = 0.001

#: State-change commands: allowed current states and the new state.
_STATE_COMMANDS: dict[str, tuple[frozenset[State], State]] = {
    "start": (frozenset({State.STANDBY}), State.DISABLED),
    "enable": (frozenset({State.DISABLED}), State.ENABLED),
    "disable": (frozenset({State.ENABLED}), State.DISABLED),
    "standby": (frozenset({State.DISABLED, State.FAULT}), State.STANDBY),
    "exitControl": (frozenset({State.STANDBY}), State.OFFLINE),
}


@functools.cache
def get_interface_version() -> str:
    """Version of the interface definitions (those of the installed
    distribution), written as ``softwareVersions.xmlVersion``; "" if unknown."""
    try:
        return importlib.metadata.version("ts_archiver")
    except importlib.metadata.PackageNotFoundError:
        return ""


class _SignalHandlers:
    """SIGINT/SIGTERM handlers shared by every open CSC of the event loop.

    ``loop.add_signal_handler`` keeps one handler per signal, so CSCs
    register here and the handler sets ``done_task`` of each of them.
    `BaseCsc.amain` holds the handlers for the whole run (`hold`), so a
    signal before the CSC has started, or a second one while it closes,
    is handled too (no ``KeyboardInterrupt`` traceback). Other parts of the
    process (a commander session) add callbacks (`add_signal_callback`)
    rather than handlers of their own, which would replace these.
    """

    def __init__(self) -> None:
        self.cscs: set[BaseCsc] = set()
        self.holders: set[asyncio.Future[int]] = set()
        self.callbacks: list[typing.Callable[[], object]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.installed = False

    def _install(self) -> None:
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            self.cscs.clear()
            self.holders.clear()
            self.callbacks.clear()
            self.loop = loop
            self.installed = False
        if self.installed:
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._handle, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                return  # not the main thread, or not supported
        self.installed = True

    def _uninstall_if_unused(self) -> None:
        if self.cscs or self.holders or self.callbacks or not self.installed:
            return
        self.installed = False
        if self.loop is not None and not self.loop.is_closed():
            for signum in (signal.SIGINT, signal.SIGTERM):
                try:
                    self.loop.remove_signal_handler(signum)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass

    def add(self, csc: BaseCsc) -> None:
        self._install()
        self.cscs.add(csc)

    def remove(self, csc: BaseCsc) -> None:
        self.cscs.discard(csc)
        self._uninstall_if_unused()

    def hold(self) -> asyncio.Future[int]:
        """Install the handlers until `release`; return a future set to the
        number of the first signal received."""
        self._install()
        received: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.holders.add(received)
        return received

    def release(self, received: asyncio.Future[int]) -> None:
        """Undo `hold`."""
        self.holders.discard(received)
        self._uninstall_if_unused()

    def add_callback(self, callback: typing.Callable[[], object]) -> None:
        self._install()
        self.callbacks.append(callback)

    def remove_callback(self, callback: typing.Callable[[], object]) -> None:
        if callback in self.callbacks:
            self.callbacks.remove(callback)
        self._uninstall_if_unused()

    def _handle(self, signum: int) -> None:
        name = signal.Signals(signum).name
        quitting = [csc for csc in self.cscs if not csc.done_task.done()]
        for csc in quitting:
            csc.log.info(f"Received signal {name}; quitting")
            csc.done_task.set_result(None)
        acted = bool(quitting)
        for received in self.holders:
            if not received.done():
                received.set_result(signum)
                acted = True
        for callback in list(self.callbacks):
            callback()
            acted = True
        if not acted:
            print(f"Received {name} again; still shutting down, please wait", file=sys.stderr, flush=True)


_signal_handlers = _SignalHandlers()


def add_signal_callback(callback: typing.Callable[[], object]) -> None:
    """Call ``callback()`` on SIGINT or SIGTERM, along with the handling of
    the CSCs of this event loop (call in the loop's main thread).

    A second ``loop.add_signal_handler`` would replace the CSCs' handling
    (and removing it would leave none); use this instead.
    """
    _signal_handlers.add_callback(callback)


def remove_signal_callback(callback: typing.Callable[[], object]) -> None:
    """Undo `add_signal_callback`."""
    _signal_handlers.remove_callback(callback)


class BaseCsc(Controller):
    """A Commandable SAL Component: summary states, heartbeat, faults.

    Subclasses define ``do_<command>`` for each CSC-specific command
    (calling `assert_enabled` first, usually), may override the hooks
    ``begin_<cmd>``/``end_<cmd>`` of the state commands start, enable,
    disable, standby and exitControl, `handle_summary_state`,
    `close_tasks`, `add_arguments` and `add_kwargs_from_args`, and must set
    the class attribute `version`.

    Parameters
    ----------
    name : `str`
        SAL component name; it needs the ``csc`` generic topics.
    index : `int` or `None`
        SAL index; 0 or None for a non-indexed component.
    check_if_duplicate : `bool`
        At start, listen for another instance's heartbeat for
        3 heartbeat intervals and quit (`done_task` fails) if one is seen.
    initial_state : `State` or `int` or `None`
        State to reach at start (via the state commands); None: the class
        attribute `default_initial_state`. Must not be FAULT.
    override : `str`
        ``configurationOverride`` used if the path to ``initial_state``
        includes the ``start`` command.
    simulation_mode : `int`
        Simulation mode; must be one of `valid_simulation_modes`.
    allow_missing_callbacks : `bool`
        Allow commands without a ``do_<command>`` method.
    extra_commands : iterable of `str`
        Names of ``do_<name>`` methods that have no command (allowed).
    discard_out_of_order_telemetry, discard_out_of_order_events : `bool`
        See `SalInfo`.

    Attributes
    ----------
    heartbeat_interval : `float`
        Seconds between heartbeats.

    Raises
    ------
    RuntimeError
        If the class has no `version`, or `valid_simulation_modes` is None.
    ValueError
        If ``initial_state`` is FAULT or not a state, or
        ``simulation_mode`` is not valid.
    TypeError
        If the ``do_`` methods do not match the commands (see `Controller`).
    """

    #: Version of the CSC, written as ``softwareVersions.cscVersion``; required.
    version: typing.ClassVar[str | None] = None

    #: Allowed simulation modes; 0 means real hardware.
    valid_simulation_modes: typing.ClassVar[typing.Sequence[int] | None] = (0,)

    #: Help for the ``--simulate`` command-line option (None: a generic text).
    simulation_help: typing.ClassVar[str | None] = None

    #: State the CSC starts in (before walking to ``initial_state``).
    default_initial_state: typing.ClassVar[State] = State.STANDBY

    #: Offer ``--state`` (and, if configurable, ``--override``) on the command line.
    enable_cmdline_state: typing.ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        index: int | None = None,
        check_if_duplicate: bool = False,
        initial_state: State | int | None = None,
        override: str = "",
        simulation_mode: int = 0,
        allow_missing_callbacks: bool = False,
        extra_commands: typing.Iterable[str] = (),
        discard_out_of_order_telemetry: bool = True,
        discard_out_of_order_events: bool = True,
    ) -> None:
        cls_name = type(self).__name__
        if self.version is None:
            raise RuntimeError(f"{cls_name} must set the class attribute 'version' (the CSC's version)")
        if self.valid_simulation_modes is None:
            raise RuntimeError(
                f"{cls_name}.valid_simulation_modes must be a sequence of ints (e.g. (0,)), not None"
            )
        if simulation_mode not in self.valid_simulation_modes:
            raise ValueError(
                f"simulation_mode={simulation_mode} not in {cls_name}.valid_simulation_modes="
                f"{tuple(self.valid_simulation_modes)}"
            )
        if initial_state is None:
            initial_state = self.default_initial_state
        try:
            initial_state = State(initial_state)
        except ValueError:
            raise ValueError(
                f"initial_state={initial_state!r} is not a State; use one of {[s.name for s in State]}"
            ) from None
        if initial_state == State.FAULT:
            raise ValueError("initial_state must not be FAULT; a CSC goes to FAULT only through fault()")
        self.check_if_duplicate = check_if_duplicate
        self.heartbeat_interval = HEARTBEAT_INTERVAL
        self._initial_state = initial_state
        self._override = override
        self._requested_simulation_mode = simulation_mode
        self._summary_state = State(self.default_initial_state)
        self._faulting = False
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._exit_task: asyncio.Task[None] | None = None
        super().__init__(
            name,
            index,
            do_callbacks=True,
            allow_missing_callbacks=allow_missing_callbacks,
            extra_commands=extra_commands,
            discard_out_of_order_events=discard_out_of_order_events,
            discard_out_of_order_telemetry=discard_out_of_order_telemetry,
        )
        for required in ("summaryState", "errorCode", "heartbeat", "simulationMode", "softwareVersions"):
            if required not in self.salinfo.component_info.events:
                raise RuntimeError(f"Component {name} has no {required} event; a CSC needs the csc generics")

    # --- properties ------------------------------------------------------------

    @property
    def summary_state(self) -> State:
        """The current summary state."""
        return self._summary_state

    @property
    def disabled_or_enabled(self) -> bool:
        """Is the summary state DISABLED or ENABLED?"""
        return self._summary_state in (State.DISABLED, State.ENABLED)

    @property
    def simulation_mode(self) -> int:
        """The simulation mode, as written in the simulationMode event."""
        return int(self.evt_simulationMode.data.mode)  # type: ignore[attr-defined]

    # --- start-up ----------------------------------------------------------------

    async def _run_start(self) -> None:
        try:
            await self.start()
            await self.start_phase2()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if isinstance(e, ExpectedError):
                self.log.error(f"Start failed: {e}")
            else:
                self.log.exception("Start failed")
            await self.close(exception=e, cancel_start=False)
            if self.done_task.done() and not self.done_task.cancelled():
                self.done_task.exception()  # reported by start_task too; do not warn if unread
            raise

    async def start(self) -> None:
        """Check for a duplicate, start the Controller and the heartbeat,
        write simulationMode and softwareVersions.

        Subclasses that override this must call ``await super().start()``.

        Raises
        ------
        ExpectedError
            If ``check_if_duplicate`` and another instance is running.
        """
        if self.check_if_duplicate:
            await self._assert_no_duplicate()
        _signal_handlers.add(self)
        await super().start()
        self._heartbeat_task = asyncio.create_task(self._heartbeat_loop())
        await self.set_simulation_mode(self._requested_simulation_mode)
        await self.evt_softwareVersions.set_write(  # type: ignore[attr-defined]
            salVersion="",
            xmlVersion=get_interface_version(),
            cscVersion=str(self.version),
            subsystemVersions="",
            force_output=True,
        )

    async def start_phase2(self) -> None:
        """Report the initial summary state, then walk to ``initial_state``."""
        await self.handle_summary_state()
        await self._report_summary_state()
        if self._initial_state == self._summary_state:
            return
        if self._initial_state == State.OFFLINE:
            # exitControl would quit; just report OFFLINE.
            self._summary_state = State.OFFLINE
            await self.handle_summary_state()
            await self._report_summary_state()
            return
        transitions = make_state_transition_dict()[(self._summary_state, self._initial_state)]
        for command, _ in transitions:
            cmd = getattr(self, f"cmd_{command}")
            data = cmd.DataType()
            if command == "start":
                data.configurationOverride = self._override
            await getattr(self, f"do_{command}")(data)
            await asyncio.sleep(_INITIAL_STATE_COMMAND_DELAY)

    async def _assert_no_duplicate(self) -> None:
        """Raise ExpectedError if another instance writes heartbeats."""
        window = DUPLICATE_CHECK_INTERVALS * self.heartbeat_interval
        transport = make_transport(self.domain.transport.name)
        async with Domain(transport=transport) as domain:
            remote = Remote(
                domain,
                self.salinfo.name,
                self.salinfo.index,
                readonly=True,
                include=["heartbeat"],
                evt_max_history=0,
            )
            await remote.start_task
            remote.evt_heartbeat.flush()  # type: ignore[attr-defined]
            try:
                data = await remote.evt_heartbeat.next(flush=False, timeout=window)  # type: ignore[attr-defined]
            except TimeoutError:
                return
        raise ExpectedError(
            f"quitting: found another instance of {self.salinfo.name_index} with origin={data.private_origin}"
        )

    async def _heartbeat_loop(self) -> None:
        """Write the heartbeat event every `heartbeat_interval`, on a fixed
        schedule (a late beat does not delay the following ones)."""
        loop = asyncio.get_running_loop()
        next_time = loop.time()
        while True:
            try:
                await self.evt_heartbeat.write()  # type: ignore[attr-defined]
            except Exception as e:
                if not self.isopen:
                    return
                self.log.warning(f"Could not write heartbeat: {e!r}")
            next_time += self.heartbeat_interval
            now = loop.time()
            if next_time < now:  # skip beats that are already too late
                next_time += ((now - next_time) // self.heartbeat_interval + 1) * self.heartbeat_interval
            await asyncio.sleep(next_time - now)

    async def set_simulation_mode(self, simulation_mode: int) -> None:
        """Write the simulationMode event (forced).

        Called once at start with the constructor's ``simulation_mode``.
        Override to start a simulator, calling ``await super().set_simulation_mode(...)``.
        """
        await self.evt_simulationMode.set_write(mode=simulation_mode, force_output=True)  # type: ignore[attr-defined]

    # --- shutdown ----------------------------------------------------------------

    async def close_tasks(self) -> None:
        """Stop the heartbeat; subclasses call ``await super().close_tasks()``."""
        _signal_handlers.remove(self)
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()

    # --- state machine -----------------------------------------------------------

    async def handle_summary_state(self) -> None:
        """Hook called after every summary-state change, including fault.

        Typical use: if `disabled_or_enabled`, connect to the hardware and
        start telemetry loops, else stop them.
        """

    def assert_enabled(self, action: str = "") -> None:
        """Raise ExpectedError unless the summary state is ENABLED.

        Parameters
        ----------
        action : `str`
            What is not allowed (e.g. the command name), for the message.
        """
        if self._summary_state == State.ENABLED:
            return
        what = f"{action} not allowed" if action else "Not allowed"
        if self._summary_state == State.FAULT:
            error = self.evt_errorCode.data  # type: ignore[attr-defined]
            raise ExpectedError(
                f"{what} in Fault state: errorCode={error.errorCode}, errorReport={error.errorReport!r}"
            )
        raise ExpectedError(f"{what} in state={self._summary_state!r}")

    async def fault(self, code: int | None, report: str, traceback: str = "") -> None:
        """Go to FAULT: write errorCode (forced), then summaryState.

        Does nothing if called while a fault is being handled, or once
        closed. Never raises (problems are logged). Only the ``standby``
        command leaves FAULT.

        Parameters
        ----------
        code : `int` or `None`
            Error code (CSC-specific); None (deprecated) writes no errorCode.
        report : `str`
            Description of the problem.
        traceback : `str`
            Traceback, if any.
        """
        if self._faulting or not self.isopen:
            return
        self._faulting = True
        try:
            self._summary_state = State.FAULT
            if code is not None:
                try:
                    await self.evt_errorCode.set_write(  # type: ignore[attr-defined]
                        errorCode=code, errorReport=report, traceback=traceback, force_output=True
                    )
                except Exception:
                    self.log.exception("fault: could not write errorCode")
            self.log.critical(f"Fault! errorCode={code}, errorReport={report!r}")
            try:
                await self._report_summary_state()
            except Exception:
                self.log.exception("fault: could not write summaryState")
            try:
                await self.handle_summary_state()
            except Exception:
                self.log.exception("fault: handle_summary_state failed")
        finally:
            self._faulting = False

    async def _report_summary_state(self) -> None:
        """Write summaryState and, outside FAULT, errorCode 0 (if changed)."""
        await self.evt_summaryState.set_write(summaryState=self._summary_state, force_output=True)  # type: ignore[attr-defined]
        if self._summary_state != State.FAULT:
            await self.evt_errorCode.set_write(errorCode=0, errorReport="", traceback="")  # type: ignore[attr-defined]

    async def _do_change_state(
        self, data: typing.Any, cmd_name: str, allowed_curr_states: typing.Collection[State], new_state: State
    ) -> None:
        """Run a state-change command: check, begin_, change, end_, report.

        If ``begin_<cmd>`` raises, the state is unchanged. If ``end_<cmd>``
        raises an ExpectedError the new state is kept, any other exception
        reverts to the old state (as salobj does). Either way the command fails.
        """
        curr_state = self._summary_state
        if curr_state not in allowed_curr_states:
            raise ExpectedError(f"{cmd_name} not allowed in state {curr_state!r}")
        await getattr(self, f"begin_{cmd_name}")(data)
        self._summary_state = new_state
        try:
            await getattr(self, f"end_{cmd_name}")(data)
        except ExpectedError:
            raise
        except Exception:
            self._summary_state = curr_state
            raise
        await self.handle_summary_state()
        await self._report_summary_state()

    async def _change_state_command(self, data: typing.Any, cmd_name: str) -> None:
        allowed, new_state = _STATE_COMMANDS[cmd_name]
        await self._do_change_state(data, cmd_name, allowed, new_state)

    async def do_start(self, data: typing.Any) -> None:
        """STANDBY -> DISABLED."""
        await self._change_state_command(data, "start")

    async def do_enable(self, data: typing.Any) -> None:
        """DISABLED -> ENABLED."""
        await self._change_state_command(data, "enable")

    async def do_disable(self, data: typing.Any) -> None:
        """ENABLED -> DISABLED."""
        await self._change_state_command(data, "disable")

    async def do_standby(self, data: typing.Any) -> None:
        """DISABLED or FAULT -> STANDBY."""
        await self._change_state_command(data, "standby")

    async def do_exitControl(self, data: typing.Any) -> None:
        """STANDBY -> OFFLINE, then close (after the ack is sent)."""
        await self._change_state_command(data, "exitControl")
        self._exit_task = asyncio.create_task(self.close())

    async def do_setLogLevel(self, data: typing.Any) -> None:
        """Set the log level of the CSC's logger (``subsystem`` blank) or of
        the logger named ``subsystem``; allowed in every state."""
        logger = logging.getLogger(data.subsystem) if data.subsystem else self.log
        logger.setLevel(data.level)
        await self.evt_logLevel.set_write(  # type: ignore[attr-defined]
            level=logger.getEffectiveLevel(), subsystem=data.subsystem
        )

    async def begin_start(self, data: typing.Any) -> None:
        """Hook run before the start command changes the state."""

    async def end_start(self, data: typing.Any) -> None:
        """Hook run after the start command changed the state."""

    async def begin_enable(self, data: typing.Any) -> None:
        """Hook run before the enable command changes the state."""

    async def end_enable(self, data: typing.Any) -> None:
        """Hook run after the enable command changed the state."""

    async def begin_disable(self, data: typing.Any) -> None:
        """Hook run before the disable command changes the state."""

    async def end_disable(self, data: typing.Any) -> None:
        """Hook run after the disable command changed the state."""

    async def begin_standby(self, data: typing.Any) -> None:
        """Hook run before the standby command changes the state."""

    async def end_standby(self, data: typing.Any) -> None:
        """Hook run after the standby command changed the state."""

    async def begin_exitControl(self, data: typing.Any) -> None:
        """Hook run before the exitControl command changes the state."""

    async def end_exitControl(self, data: typing.Any) -> None:
        """Hook run after the exitControl command changed the state."""

    # --- command line ------------------------------------------------------------

    @classmethod
    def add_arguments(cls, parser: typing.Any) -> None:
        """Hook: add CSC-specific options to the `argparse.ArgumentParser`."""

    @classmethod
    def add_kwargs_from_args(cls, args: typing.Any, kwargs: dict[str, typing.Any]) -> None:
        """Hook: add constructor arguments from the parsed options ``args``."""

    @classmethod
    def make_from_cmd_line(
        cls,
        index: int | bool | type[enum.IntEnum] | None,
        args: typing.Sequence[str] | None = None,
        **kwargs: typing.Any,
    ) -> BaseCsc:
        """Make the CSC from command-line arguments (call in an event loop).

        Parameters
        ----------
        index : `int`, `bool`, `enum.IntEnum` subclass or `None`
            None or 0: not indexed (no index argument). True: a positional
            ``index`` argument. An IntEnum class: a positional ``index``
            restricted to its values. Another int: that index, no argument.
        args : sequence of `str` or `None`
            Arguments; None: ``sys.argv[1:]``.
        **kwargs
            Further constructor arguments.
        """
        return CscCommandLine(cls, index).make_csc(args, **kwargs)

    @classmethod
    async def amain(cls, index: int | bool | type[enum.IntEnum] | None, **kwargs: typing.Any) -> None:
        """Run the CSC from the command line until exitControl or a signal.

        Parses ``sys.argv`` (see `make_from_cmd_line`), with the
        duplicate-instance check on, then waits for `done_task` (or
        SIGINT/SIGTERM: Ctrl-C ends the run cleanly, also before the CSC
        has started, and a second one while it closes only says to wait)
        and closes. On the in-memory transport a CSC not in simulation
        mode prints a warning that nothing outside its process can reach it.

        Raises
        ------
        SystemExit
            With code 1 and a one-line message on stderr (no traceback) if
            the CSC cannot be made (e.g. ``$LSST_SITE`` unset) or its start
            fails with an `ExpectedError` (e.g. another instance is running,
            or the ``--override`` configuration is invalid).
        """
        received = _signal_handlers.hold()
        try:
            try:
                csc = cls.make_from_cmd_line(index=index, check_if_duplicate=True, **kwargs)
            except (RuntimeError, ValueError) as e:
                print(f"{cls.__name__}: cannot start: {e}", file=sys.stderr)
                raise SystemExit(1) from None
            warning = _memory_transport_warning(csc)
            if warning:
                print(warning, file=sys.stderr, flush=True)
            try:
                ends: list[asyncio.Future[typing.Any]] = [csc.done_task, received]
                await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
                if csc.done_task.done():
                    csc.done_task.result()
            except ExpectedError as e:
                print(f"{cls.__name__}: {e}", file=sys.stderr)
                raise SystemExit(1) from None
            finally:
                await csc.close()
        finally:
            _signal_handlers.release(received)


def _memory_transport_warning(csc: BaseCsc) -> str:
    """The warning for a CSC run from the command line on the in-memory
    transport ("" if it uses another transport)."""
    if csc.domain.transport.name != "memory":
        return ""
    name = csc.salinfo.name_index
    if csc._requested_simulation_mode:
        return (
            f"NOTE: {name} uses the in-memory SAL transport: its simulators run in this process, "
            "but no commander in another process can reach it (for a shell, use Kafka: "
            'make kafka-up; eval "$(bin/salkit_kafka --dir .kafka env)" in each terminal).'
        )
    simulate = " Or run with --simulate for a self-contained system." if _has_simulate_option(csc) else ""
    return (
        f"WARNING: {name} uses the in-memory SAL transport (${TRANSPORT_ENV_VAR} is "
        f"{os.environ.get(TRANSPORT_ENV_VAR) or 'unset'}): nothing outside this process can reach it "
        "(no commander, camera or Header Service in another process). To connect processes, use "
        "Kafka in every terminal (from the source tree's root): make kafka-up; eval \"$(bin/salkit_kafka "
        f'--dir .kafka env)".{simulate}'
    )


def _has_simulate_option(csc: BaseCsc) -> bool:
    """Does the CSC's command line have ``--simulate`` (see `CscCommandLine`)?"""
    return len(tuple(csc.valid_simulation_modes or (0,))) > 1
