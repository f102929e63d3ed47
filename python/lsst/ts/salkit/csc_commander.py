"""CscCommander: an interactive command-line client of a CSC."""

from __future__ import annotations

__all__ = [
    "DEFAULT_COMMAND_TIMEOUT",
    "EXIT_UNREACHABLE",
    "KAFKA_HINT",
    "CscCommander",
    "CscUnreachableError",
    "format_tai_iso",
    "is_tai_field",
    "patient_signals",
]

import argparse
import asyncio
import collections
import contextlib
import datetime
import enum
import functools
import os
import re
import shlex
import sys
import threading
import typing

from .base_csc import add_signal_callback, remove_signal_callback
from .csc_utils import set_summary_state
from .domain import Domain
from .enums import SalRetCode, State
from .errors import AckError, AckTimeoutError
from .interface import PRIVATE_FIELD_NAMES
from .remote import Remote
from .tai import utc_from_tai_unix
from .transport import TRANSPORT_ENV_VAR

#: Values accepted for a boolean command argument.
_BOOL_VALUES = {"0": False, "1": True, "f": False, "t": True, "false": False, "true": True}

#: Seconds a command may go without its final acknowledgement (extended by
#: the CSC's in-progress acknowledgements); also the limit for connecting
#: and for ``--enable``.
DEFAULT_COMMAND_TIMEOUT = 60.0

#: Exit status of a command-line commander that cannot reach its CSC.
EXIT_UNREACHABLE = 2

#: How to put the CSC and the commander on Kafka (run from the source tree's root).
KAFKA_HINT = (
    "make kafka-up                                  # once: local Kafka broker + schema registry\n"
    '    eval "$(bin/salkit_kafka --dir .kafka env)"    # in every terminal, the CSC\'s too: '
    "sets LSST_SALKIT_TRANSPORT=kafka"
)

#: Float fields holding a TAI time (unix seconds): ``private_sndStamp``,
#: ``timestamp``, ``timestampAcquisitionStart``, ``dateObs``, ...
_TAI_FIELD = re.compile(r"(.*Stamp|timestamp.*|date([A-Z].*)?)")


def is_tai_field(name: str) -> bool:
    """Is a float field of this name a TAI time in unix seconds?

    True for names ending in ``Stamp`` (``private_sndStamp``), starting
    with ``timestamp`` (``timestamp``, ``timestampEndOfReadout``) or
    ``date`` followed by a capital (``dateObs``), as ts_xml names them.
    """
    return _TAI_FIELD.fullmatch(name) is not None


def format_tai_iso(tai: float) -> str:
    """Format TAI unix seconds as UTC ISO-8601 with milliseconds and ``Z``,
    e.g. ``2026-12-02T12:34:56.789Z``."""
    utc = datetime.datetime.fromtimestamp(utc_from_tai_unix(tai), tz=datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class CscUnreachableError(RuntimeError):
    """The commander cannot reach its CSC (the message says how to fix it)."""


def _is_public(name: str) -> bool:
    return name not in PRIVATE_FIELD_NAMES and not name.startswith("private_") and name != "salIndex"


def _round(value: typing.Any, digits: int) -> typing.Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list):
        return [_round(item, digits) for item in value]
    return value


class CscCommander:
    """Send commands to a CSC and print its events and telemetry.

    Events are printed as ``<sndStamp>: <name>: k=v, ...`` (heartbeats
    are not); telemetry only when a public value changes (floats rounded
    to ``telemetry_fields_compare_digits`` digits). Times (``sndStamp``
    and float fields that `is_tai_field` recognizes, when positive) are
    printed in UTC as ``2026-12-02T12:34:56.789Z``. At `start` the last
    sample of each event written before the commander started (late
    joiner history) is printed in the order the CSC sent them.

    A command line is ``<command> arg1 arg2 ...`` with the command's
    public fields in order (arrays as comma-separated values); ``start``
    may omit its override. A command waits at most ``command_timeout``
    seconds for its final acknowledgement (the CSC's in-progress
    acknowledgements extend that), then says so. ``help`` lists the
    commands; ``exit``, end of input and (from `amain`) Ctrl-C quit.

    Subclasses may add ``do_<command>(args)`` methods (run instead of the
    generic command handling), entries in ``help_dict`` and
    ``evt_<name>_callback(data)`` / ``tel_<name>_callback(data)`` methods.

    Parameters
    ----------
    name : `str`
        SAL component name.
    index : `int` or `None`
        SAL index.
    enable : `bool`
        Command the CSC to ENABLED at `start`.
    exclude : iterable of `str` or `None`
        Events and telemetry not to read (heartbeat is never read).
    exclude_commands : iterable of `str`
        Commands not offered.
    fields_to_ignore : iterable of `str`
        Fields never printed.
    telemetry_fields_to_not_compare : iterable of `str`
        Telemetry fields ignored when deciding whether a sample changed.
    telemetry_fields_compare_digits : `int`
        Digits floats are rounded to for that comparison.
    testing : `bool`
        If True, output goes to `output_queue` instead of stdout.
    command_timeout : `float`
        Seconds to wait for a command's final acknowledgement (extended by
        in-progress acknowledgements), to connect, and to ``enable``.

    Attributes
    ----------
    domain : `Domain`
        The domain (owned).
    remote : `Remote`
        The Remote of the CSC.
    output_queue : `collections.deque` [`str`]
        Output lines, if ``testing``.
    help_dict : `dict` [`str`, `str`]
        Command name: argument help, for subclass commands.
    """

    def __init__(
        self,
        name: str,
        index: int | None = 0,
        enable: bool = False,
        exclude: typing.Iterable[str] | None = None,
        exclude_commands: typing.Iterable[str] = (),
        fields_to_ignore: typing.Iterable[str] = ("ignored", "value"),
        telemetry_fields_to_not_compare: typing.Iterable[str] = ("timestamp",),
        telemetry_fields_compare_digits: int = 2,
        testing: bool = False,
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        self.enable = enable
        self.command_timeout = command_timeout
        self.fields_to_ignore = frozenset(fields_to_ignore)
        self.telemetry_fields_to_not_compare = frozenset(telemetry_fields_to_not_compare)
        self.telemetry_fields_compare_digits = telemetry_fields_compare_digits
        self.testing = testing
        self.output_queue: collections.deque[str] = collections.deque()
        self.help_dict: dict[str, str] = {}
        self.domain = Domain()
        # Heartbeats are never printed, so not read either.
        self.remote = Remote(self.domain, name, index, exclude={"heartbeat"} | set(exclude or ()))
        self._previous_telemetry: dict[str, dict[str, typing.Any]] = {}
        self.command_dict: dict[str, typing.Any] = {
            cmd_name: getattr(self.remote, f"cmd_{cmd_name}")
            for cmd_name in self.remote.salinfo.command_names
            if cmd_name not in set(exclude_commands)
        }
        # Callbacks are set by `start`, after the history is printed in order.

    def same_process_hint(self) -> str:
        """Say how to run the CSC and this commander in one process
        (the last line of the `CscUnreachableError` message)."""
        return "Or start the CSC and a CscCommander in one Python process (as the tests do)"

    def _event_callback(self, evt_name: str) -> typing.Callable[[typing.Any], typing.Awaitable[None]]:
        custom = getattr(self, f"evt_{evt_name}_callback", None)
        return custom if custom is not None else functools.partial(self.event_callback, name=evt_name)

    def _set_callbacks(self) -> None:
        for evt_name in self.remote.salinfo.event_names:
            topic = getattr(self.remote, f"evt_{evt_name}", None)
            if topic is not None:
                topic.callback = self._event_callback(evt_name)
        for tel_name in self.remote.salinfo.telemetry_names:
            topic = getattr(self.remote, f"tel_{tel_name}", None)
            if topic is None:
                continue
            custom = getattr(self, f"tel_{tel_name}_callback", None)
            topic.callback = (
                custom if custom is not None else functools.partial(self.telemetry_callback, name=tel_name)
            )

    async def _replay_history(self) -> None:
        """Print the queued event samples (the history read at start) by send time."""
        queued: list[tuple[float, int, str, typing.Any]] = []
        for evt_name in self.remote.salinfo.event_names:
            topic = getattr(self.remote, f"evt_{evt_name}", None)
            while topic is not None and (data := topic.get_oldest()) is not None:
                queued.append((data.private_sndStamp, len(queued), evt_name, data))
        for _, _, evt_name, data in sorted(queued, key=lambda item: item[:2]):
            try:
                await self._event_callback(evt_name)(data)
            except Exception as e:
                self.output(f"Could not print {evt_name}: {e!r}")

    # --- output ---------------------------------------------------------------

    def output(self, msg: str) -> None:
        """Print a line, or queue it if ``testing``."""
        if self.testing:
            self.output_queue.append(msg)
        else:
            print(msg, flush=True)

    def format_time(self, tai: float) -> str:
        """Format a TAI time for output (UTC ISO, see `format_tai_iso`)."""
        return format_tai_iso(tai)

    def format_item(self, key: str, value: typing.Any) -> str:
        """Format one field as ``key=value`` (floats with 4 significant
        digits; positive TAI times, see `is_tai_field`, as UTC ISO)."""
        if isinstance(value, float) and value > 0 and is_tai_field(key):
            return f"{key}={self.format_time(value)}"
        if isinstance(value, float):
            return f"{key}={value:0.4g}"
        if isinstance(value, list) and value and isinstance(value[0], float):
            return f"{key}=[{', '.join(f'{item:0.4g}' for item in value)}]"
        return f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"

    def get_public_data(self, data: typing.Any) -> dict[str, typing.Any]:
        """Return the public fields of a sample (without ignored fields)."""
        return {
            name: value
            for name, value in data.get_vars().items()
            if _is_public(name) and name not in self.fields_to_ignore
        }

    def format_dict(self, data: dict[str, typing.Any]) -> str:
        """Format fields as ``k=v, k=v``."""
        return ", ".join(self.format_item(key, value) for key, value in data.items())

    def format_data(self, data: typing.Any) -> str:
        """Format the public fields of a sample as ``k=v, k=v``."""
        return self.format_dict(self.get_public_data(data))

    async def event_callback(self, data: typing.Any, name: str) -> None:
        """Print an event (logMessage and summaryState in a short form)."""
        if name == "logMessage":
            fields = {"name": data.name, "level": data.level, "message": data.message}
            if data.traceback:
                fields["traceback"] = data.traceback
            text = self.format_dict(fields)
        elif name == "summaryState":
            try:
                state: typing.Any = State(data.summaryState)
            except ValueError:
                state = data.summaryState
            text = f"summaryState={state!r}"
        else:
            text = self.format_data(data)
        self.output(f"{self.format_time(data.private_sndStamp)}: {name}: {text}")

    async def telemetry_callback(self, data: typing.Any, name: str) -> None:
        """Print telemetry if a compared public value changed."""
        public = self.get_public_data(data)
        compared = {
            key: _round(value, self.telemetry_fields_compare_digits)
            for key, value in public.items()
            if key not in self.telemetry_fields_to_not_compare
        }
        if self._previous_telemetry.get(name) == compared:
            return
        self._previous_telemetry[name] = compared
        self.output(f"{self.format_time(data.private_sndStamp)}: {name}: {self.format_dict(public)}")

    # --- commands --------------------------------------------------------------

    def command_fields(self, command_name: str) -> list[str]:
        """Public field names of a command, in order."""
        topic = self.command_dict[command_name]
        return [name for name in topic.DataType.field_names if _is_public(name)]

    def get_help(self) -> str:
        """Return the help text."""
        lines = ["Commands (arguments in order; arrays as comma-separated values):"]
        for command_name in sorted(set(self.command_dict) | set(self.help_dict)):
            if command_name in self.help_dict:
                args = self.help_dict[command_name]
            elif command_name == "start":
                args = "[configurationOverride]"
            else:
                args = " ".join(self.command_fields(command_name))
            lines.append(f"  {command_name} {args}".rstrip())
        lines += ["  help", "  exit"]
        return "\n".join(lines)

    def parse_value(self, topic: typing.Any, field_name: str, text: str) -> typing.Any:
        """Parse a command argument with the type of the field's default.

        Raises
        ------
        ValueError
            If the text cannot be parsed.
        """
        default = getattr(topic.DataType(), field_name)
        if isinstance(default, list):
            items = [item for item in text.split(",") if item.strip()]
            item_default = default[0] if default else ""
            return [self._parse_scalar(field_name, item.strip(), item_default) for item in items]
        return self._parse_scalar(field_name, text, default)

    @staticmethod
    def _parse_scalar(field_name: str, text: str, default: typing.Any) -> typing.Any:
        if isinstance(default, bool):
            try:
                return _BOOL_VALUES[text.lower()]
            except KeyError:
                raise ValueError(
                    f"{field_name}={text!r} is not a boolean; use one of {sorted(_BOOL_VALUES)}"
                ) from None
        try:
            return type(default)(text)
        except ValueError:
            raise ValueError(f"{field_name}={text!r} is not a valid {type(default).__name__}") from None

    async def run_command_topic(self, command_name: str, args: typing.Sequence[str]) -> None:
        """Send a command with arguments in field order and print the outcome.

        Raises
        ------
        ValueError
            If the number of arguments is wrong or one cannot be parsed.
        """
        topic = self.command_dict[command_name]
        if command_name == "start" and not args:
            args = [""]
        await self.send_command(command_name, topic, self.parse_command_args(topic, args))

    def parse_command_args(self, topic: typing.Any, args: typing.Sequence[str]) -> dict[str, typing.Any]:
        """Parse the arguments of a command (any `RemoteCommand`), one per
        public field, in order.

        Raises
        ------
        ValueError
            If the number of arguments is wrong or one cannot be parsed.
        """
        fields = [name for name in topic.DataType.field_names if _is_public(name)]
        if len(args) != len(fields):
            raise ValueError(
                f"{topic.attr_name.removeprefix('cmd_')} needs {len(fields)} argument(s): "
                f"{' '.join(fields)}; got {len(args)}"
            )
        return {name: self.parse_value(topic, name, text) for name, text in zip(fields, args, strict=True)}

    async def send_command(self, command_name: str, topic: typing.Any, values: dict[str, typing.Any]) -> None:
        """Send a command (any `RemoteCommand`) and print its outcome,
        waiting at most ``command_timeout`` for its final acknowledgement.

        Raises
        ------
        AckError
            If the command fails (the CSC's reason is in the message).
        """
        try:
            ackcmd = await topic.set_start(**values, timeout=self.command_timeout)
        except AckTimeoutError as e:
            target = topic.salinfo.name_index
            if e.ackcmd.ack == SalRetCode.CMD_NOACK:
                self.output(
                    f"{command_name}: no reply from {target} within {self.command_timeout:g} s; "
                    "is it running, on the same SAL transport and topic sub-name?"
                )
            else:
                self.output(
                    f"{command_name}: {target} did not finish it within the allowed time "
                    f"(last acknowledgement: {e.ackcmd.result or SalRetCode(e.ackcmd.ack).name})"
                )
            return
        self.output(f"{command_name} done: {ackcmd.result}")

    async def run_command(self, line: str) -> bool:
        """Run one command line; return False if it was ``exit``.

        Errors are printed, never raised.
        """
        try:
            tokens = shlex.split(line)
        except ValueError as e:
            self.output(f"Could not parse {line!r}: {e}")
            return True
        if not tokens:
            return True
        command_name, args = tokens[0], tokens[1:]
        if command_name == "exit":
            return False
        try:
            if command_name == "help":
                self.output(self.get_help())
            elif hasattr(self, f"do_{command_name}"):
                await getattr(self, f"do_{command_name}")(args)
            elif command_name in self.command_dict:
                await self.run_command_topic(command_name, args)
            else:
                self.output(f"Unknown command {command_name!r}; type help for the list")
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.output(f"Command {command_name} failed: {e}")
        return True

    # --- lifecycle --------------------------------------------------------------

    async def start(self, require_csc: bool = False) -> None:
        """Connect, print the history in send order, then print samples as
        they come; if ``enable``, command the CSC to ENABLED.

        Parameters
        ----------
        require_csc : `bool`
            Raise `CscUnreachableError` (before enabling) if the transport
            is the in-memory one and no instance of the CSC runs in this
            process; with another transport, print a note if the CSC has
            not reported its summary state yet.

        Raises
        ------
        CscUnreachableError
            If connecting takes longer than ``command_timeout``, if
            ``enable`` and the CSC reports no summary state in that time, or
            see ``require_csc``.
        AckError
            If ``enable`` and a state command fails or times out.
        """
        try:
            await asyncio.wait_for(asyncio.shield(self.remote.start_task), self.command_timeout)
        except TimeoutError:
            raise CscUnreachableError(
                f"Could not connect to the SAL transport {self.domain.transport.name!r} "
                f"within {self.command_timeout:g} s"
            ) from None
        if require_csc:
            self.check_csc_reachable()
        await self._replay_history()
        self._set_callbacks()
        if self.enable:
            name = self.remote.salinfo.name_index
            self.output(f"Commanding {name} to ENABLED (waiting up to {self.command_timeout:g} s per step)")
            try:
                await set_summary_state(self.remote, State.ENABLED, timeout=self.command_timeout)
            except TimeoutError:
                raise CscUnreachableError(
                    f"{name} did not report its summary state within {self.command_timeout:g} s; "
                    "is it running, on the same SAL transport and topic sub-name?"
                ) from None

    def check_csc_reachable(self) -> None:
        """Refuse to run on the in-memory transport if no instance of the CSC
        runs in this process (it is the only place that transport reaches).

        Call after the Remote started (its history is read by then: every
        CSC writes ``summaryState`` at start).

        Raises
        ------
        CscUnreachableError
            With what to do instead.
        """
        summary_state = getattr(self.remote, "evt_summaryState", None)
        if summary_state is None or summary_state.has_data:
            return
        name = self.remote.salinfo.name_index
        if self.domain.transport.name != "memory":
            self.output(f"{name} has not reported its summary state yet (not started?); waiting for it")
            return
        raise CscUnreachableError(
            f"Cannot reach {name}: the SAL transport is the in-memory one (${TRANSPORT_ENV_VAR} is "
            f"{os.environ.get(TRANSPORT_ENV_VAR) or 'unset'}), which only connects components in one "
            f"process, and no {name} runs in this one.\n"
            "To command a CSC running in another process, use Kafka (from the source tree's root):\n"
            f"    {KAFKA_HINT}\n"
            f"{self.same_process_hint()}."
        )

    async def close(self) -> None:
        """Close the Remote and the domain."""
        await self.remote.close()
        await self.domain.close()

    async def __aenter__(self) -> CscCommander:
        await self.start()
        return self

    async def __aexit__(self, *args: typing.Any) -> None:
        await self.close()

    async def run_interactive(self, stream: typing.TextIO | None = None) -> None:
        """Read command lines from ``stream`` (None: stdin) until ``exit`` or end of input."""
        if stream is None:
            stream = sys.stdin
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()
        fd = stream.fileno()
        pending = bytearray()

        def on_readable() -> None:
            # Read what is there (not stream.readline: its buffer would hide
            # further lines from the event loop's readiness check).
            chunk = os.read(fd, 65536)
            if not chunk:
                if pending:
                    lines.put_nowait(pending.decode(errors="replace") + "\n")
                    pending.clear()
                lines.put_nowait("")
                loop.remove_reader(fd)
                return
            pending.extend(chunk)
            *complete, rest = pending.split(b"\n")
            for line in complete:
                lines.put_nowait(line.decode(errors="replace") + "\n")
            pending[:] = rest

        try:
            loop.add_reader(fd, on_readable)
            selectable = True
        except (OSError, ValueError):
            # A regular file or /dev/null cannot be polled: read it in a thread
            # (a daemon, so a blocked read never holds up the exit).
            selectable = False
            threading.Thread(
                target=_read_lines, args=(fd, loop, lines), name="commander input", daemon=True
            ).start()
        try:
            self.output(
                f"{self.remote.salinfo.name_index} commander; type help for the commands, exit to quit"
            )
            while True:
                line = await lines.get()
                if not line:  # end of input
                    break
                if not await self.run_command(line):
                    break
        finally:
            if selectable:
                loop.remove_reader(fd)

    async def run_session(self, require_csc: bool = True) -> int:
        """Run a command-line session: `start`, read commands from stdin
        until ``exit``, end of input, Ctrl-C or SIGTERM, then `close`.

        Prints no traceback for the expected ways a session ends.

        Parameters
        ----------
        require_csc : `bool`
            See `start`.

        Returns
        -------
        exit_status : `int`
            0, or `EXIT_UNREACHABLE` if the CSC cannot be reached (the
            reason and the fix are printed on stderr).
        """
        session = asyncio.ensure_future(self._session(require_csc))
        add_signal_callback(session.cancel)
        try:
            await session
            return 0
        except asyncio.CancelledError:
            if not session.cancelled():
                raise
            self.output("Interrupted; quitting")
            return 0
        except CscUnreachableError as e:
            print(f"{self.remote.salinfo.name_index} commander: {e}", file=sys.stderr)
            return EXIT_UNREACHABLE
        except AckError as e:
            print(f"{self.remote.salinfo.name_index} commander: {e}: {e.ackcmd.result}", file=sys.stderr)
            return 1
        finally:
            remove_signal_callback(session.cancel)
            with patient_signals():
                await self.close()

    async def _session(self, require_csc: bool) -> None:
        await self.start(require_csc=require_csc)
        await self.run_interactive()

    @classmethod
    async def amain(
        cls,
        index: int | bool | type[enum.IntEnum] | None,
        args: typing.Sequence[str] | None = None,
        **kwargs: typing.Any,
    ) -> None:
        """Run an interactive commander from the command line.

        Parameters
        ----------
        index : `int`, `bool`, `enum.IntEnum` subclass or `None`
            True or an IntEnum: a positional ``index`` argument (0 for all).
            None or 0: not indexed.
        args : sequence of `str` or `None`
            Arguments; None: ``sys.argv[1:]``.
        **kwargs
            Constructor arguments (e.g. ``name``).

        Raises
        ------
        SystemExit
            With status `EXIT_UNREACHABLE` (2) and the fix on stderr if the
            CSC cannot be reached (the in-memory transport and no CSC in
            this process), 1 if ``--enable`` fails.
        """
        parser = argparse.ArgumentParser(description=f"Command {kwargs.get('name', 'a CSC')} interactively")
        if index is True or (isinstance(index, type) and issubclass(index, enum.IntEnum)):
            parser.add_argument("index", type=int, help="SAL index.")
        parser.add_argument("-e", "--enable", action="store_true", help="Enable the CSC first.")
        parsed = parser.parse_args(args)
        if hasattr(parsed, "index"):
            kwargs["index"] = parsed.index
        elif isinstance(index, int) and not isinstance(index, bool):
            kwargs["index"] = index
        commander = cls(enable=parsed.enable, **kwargs)
        status = await commander.run_session()
        if status:
            raise SystemExit(status)


@contextlib.contextmanager
def patient_signals() -> typing.Iterator[None]:
    """While closing: SIGINT and SIGTERM only print that the program is
    still shutting down (no ``KeyboardInterrupt`` traceback half-way
    through a close), besides the handling of the CSCs of this process.

    Does nothing outside the main thread.
    """

    def say_wait() -> None:
        print("Still shutting down; please wait", file=sys.stderr, flush=True)

    add_signal_callback(say_wait)
    try:
        yield
    finally:
        remove_signal_callback(say_wait)


def _read_lines(fd: int, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str]) -> None:
    """Read lines from a file descriptor that cannot be polled and queue
    them on ``loop`` ("" at end of input)."""

    def put(line: str) -> None:
        try:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        except RuntimeError:
            pass  # the loop closed already

    with os.fdopen(os.dup(fd), "rb", buffering=0) as stream:
        pending = b""
        while chunk := stream.read(65536):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                put(line.decode(errors="replace") + "\n")
        if pending:
            put(pending.decode(errors="replace") + "\n")
    put("")
