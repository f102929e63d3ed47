"""CscCommander: an interactive command-line client of a CSC."""

from __future__ import annotations

__all__ = ["CscCommander"]

import argparse
import asyncio
import collections
import enum
import functools
import os
import shlex
import sys
import typing

from .csc_utils import set_summary_state
from .domain import Domain
from .enums import State
from .interface import PRIVATE_FIELD_NAMES
from .remote import Remote

#: Values accepted for a boolean command argument.
_BOOL_VALUES = {"0": False, "1": True, "f": False, "t": True, "false": False, "true": True}


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

    Events are printed as ``<sndStamp:.3f>: <name>: k=v, ...`` (heartbeats
    are not); telemetry only when a public value changes (floats rounded
    to ``telemetry_fields_compare_digits`` digits). A command line is
    ``<command> arg1 arg2 ...`` with the command's public fields in order
    (arrays as comma-separated values); ``start`` may omit its override.
    ``help`` lists the commands, ``exit`` quits.

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
    ) -> None:
        self.enable = enable
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
        for evt_name in self.remote.salinfo.event_names:
            topic = getattr(self.remote, f"evt_{evt_name}", None)
            if topic is None:
                continue
            custom = getattr(self, f"evt_{evt_name}_callback", None)
            topic.callback = (
                custom if custom is not None else functools.partial(self.event_callback, name=evt_name)
            )
        for tel_name in self.remote.salinfo.telemetry_names:
            topic = getattr(self.remote, f"tel_{tel_name}", None)
            if topic is None:
                continue
            custom = getattr(self, f"tel_{tel_name}_callback", None)
            topic.callback = (
                custom if custom is not None else functools.partial(self.telemetry_callback, name=tel_name)
            )

    # --- output ---------------------------------------------------------------

    def output(self, msg: str) -> None:
        """Print a line, or queue it if ``testing``."""
        if self.testing:
            self.output_queue.append(msg)
        else:
            print(msg, flush=True)

    def format_item(self, key: str, value: typing.Any) -> str:
        """Format one field as ``key=value`` (floats with 4 significant digits)."""
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
        self.output(f"{data.private_sndStamp:0.3f}: {name}: {text}")

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
        self.output(f"{data.private_sndStamp:0.3f}: {name}: {self.format_dict(public)}")

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
        fields = self.command_fields(command_name)
        if command_name == "start" and not args:
            args = [""]
        if len(args) != len(fields):
            raise ValueError(
                f"{command_name} needs {len(fields)} argument(s): {' '.join(fields)}; got {len(args)}"
            )
        values = {name: self.parse_value(topic, name, text) for name, text in zip(fields, args, strict=True)}
        ackcmd = await topic.set_start(**values)
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

    async def start(self) -> None:
        """Wait for the Remote; if ``enable``, command the CSC to ENABLED."""
        await self.remote.start_task
        if self.enable:
            await set_summary_state(self.remote, State.ENABLED)

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

        loop.add_reader(fd, on_readable)
        try:
            self.output(f"{self.remote.salinfo.name_index} commander; type help for the commands")
            while True:
                line = await lines.get()
                if not line:  # end of input
                    break
                if not await self.run_command(line):
                    break
        finally:
            loop.remove_reader(fd)

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
        try:
            await commander.start()
            await commander.run_interactive()
        finally:
            await commander.close()
