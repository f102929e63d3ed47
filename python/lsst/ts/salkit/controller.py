"""Controller: the side of a SAL component that owns it (a CSC)."""

from __future__ import annotations

__all__ = ["Controller"]

import asyncio
import logging
import types
import typing

from .domain import Domain
from .sal_info import SalInfo
from .sal_log_handler import SalLogHandler
from .topics import ControllerCommand, ControllerEvent, ControllerTelemetry


class Controller:
    """Owns a SAL component: receives its commands, writes its events and telemetry.

    Creates its own `Domain` and a `SalInfo`, and sets both identities to
    ``Name[:index]`` (so Remotes made later on this domain command as this
    component). Attributes ``cmd_<name>`` (`ControllerCommand`),
    ``evt_<name>`` (`ControllerEvent`) and ``tel_<name>``
    (`ControllerTelemetry`) are added for every topic.

    Starting (`start_task`, created at construction): wait for the other
    SalInfos of the domain that are starting (e.g. Remotes made with
    ``start=True`` on ``self.domain``, even after this constructor), start the SalInfo, write ``logLevel``
    and buffered log messages, then `start_phase2` (a hook, for subclasses).

    Parameters
    ----------
    name : `str`
        SAL component name.
    index : `int` or `None`
        SAL index; 0 or None for a non-indexed component.
    do_callbacks : `bool`
        If True, every command must have a ``do_<name>`` method, which is
        set as the command's callback.
    write_only : `bool`
        If True, no commands are read (no ``cmd_`` attributes).
    allow_missing_callbacks : `bool`
        With ``do_callbacks``, tolerate commands without ``do_<name>``
        (they are not read, so their senders time out).
    discard_out_of_order_events, discard_out_of_order_telemetry : `bool`
        See `SalInfo` (only commands are read, so these rarely matter).
    extra_commands : `set` [`str`]
        With ``do_callbacks``, ``do_<name>`` methods allowed although no
        such command exists (e.g. for commands of another interface version).

    Attributes
    ----------
    domain : `Domain`
        The domain (owned: closed by `close`).
    salinfo : `SalInfo`
        The SalInfo.
    log : `logging.Logger`
        Logger; records are written as ``logMessage`` events.
    start_task : `asyncio.Task`
        Done when started.
    done_task : `asyncio.Future`
        Done when closed.

    Raises
    ------
    TypeError
        If ``do_callbacks`` and the ``do_`` methods do not match the commands.
    RuntimeError
        If the component lacks the logLevel or logMessage event.
    """

    def __init__(
        self,
        name: str,
        index: int | None = None,
        *,
        do_callbacks: bool = False,
        write_only: bool = False,
        allow_missing_callbacks: bool = False,
        extra_commands: typing.Iterable[str] = (),
        discard_out_of_order_events: bool = True,
        discard_out_of_order_telemetry: bool = True,
    ) -> None:
        self.isopen = True
        self.domain = Domain()
        try:
            self.salinfo = SalInfo(
                self.domain,
                name,
                index,
                write_only=write_only,
                discard_out_of_order_events=discard_out_of_order_events,
                discard_out_of_order_telemetry=discard_out_of_order_telemetry,
            )
            identity = self.salinfo.name_index
            self.salinfo.identity = identity
            self.domain.default_identity = identity
            self.log = logging.getLogger(identity)
            self.salinfo.log = self.log
            for required in ("logLevel", "logMessage"):
                if required not in self.salinfo.component_info.events:
                    raise RuntimeError(f"Component {name} has no {required} event; a Controller needs it")
            command_names = () if write_only else self.salinfo.command_names
            callbacks = self._find_callbacks(
                command_names, do_callbacks, allow_missing_callbacks, extra_commands
            )
            for cmd_name in command_names:
                if do_callbacks and cmd_name not in callbacks:
                    continue
                setattr(self, "cmd_" + cmd_name, ControllerCommand(self.salinfo, cmd_name))
            for evt_name in self.salinfo.event_names:
                setattr(self, "evt_" + evt_name, ControllerEvent(self.salinfo, evt_name))
            for tel_name in self.salinfo.telemetry_names:
                setattr(self, "tel_" + tel_name, ControllerTelemetry(self.salinfo, tel_name))
            self._callbacks = callbacks
            self._log_handler = SalLogHandler(self)
            self.log.addHandler(self._log_handler)
            if self.log.getEffectiveLevel() > logging.INFO:
                self.log.setLevel(logging.INFO)
        except BaseException:
            self.isopen = False
            asyncio.ensure_future(self.domain.close())
            raise
        self.done_task: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.start_task: asyncio.Task[None] = asyncio.create_task(self._run_start())

    def _find_callbacks(
        self,
        command_names: typing.Sequence[str],
        do_callbacks: bool,
        allow_missing_callbacks: bool,
        extra_commands: typing.Iterable[str],
    ) -> dict[str, typing.Callable[..., typing.Any]]:
        if not do_callbacks:
            return {}
        do_names = {name[3:] for name in dir(type(self)) if name.startswith("do_")}
        commands = set(command_names)
        extra = do_names - commands - set(extra_commands)
        if extra:
            raise TypeError(f"{type(self).__name__} has do_ methods for unknown commands: {sorted(extra)}")
        missing = commands - do_names
        if missing and not allow_missing_callbacks:
            raise TypeError(f"{type(self).__name__} lacks do_ methods for commands: {sorted(missing)}")
        return {name: getattr(self, "do_" + name) for name in sorted(commands & do_names)}

    async def _run_start(self) -> None:
        await self.start()
        await self.start_phase2()

    async def start(self) -> None:
        """Start the SalInfo, assign command callbacks, write logLevel.

        Subclasses that override this must call ``await super().start()``.
        """
        await asyncio.gather(
            *[
                s.start_task
                for s in self.domain.salinfo_set
                if s is not self.salinfo and (s.start_called or s.start_pending)
            ]
        )
        await self.salinfo.start()
        for cmd_name, func in self._callbacks.items():
            getattr(self, "cmd_" + cmd_name).callback = func
        await self.evt_logLevel.set_write(level=self.log.getEffectiveLevel())  # type: ignore[attr-defined]
        self._log_handler.flush_buffer()

    async def start_phase2(self) -> None:
        """Hook run after `start`; does nothing here (BaseCsc reports state)."""

    async def close_tasks(self) -> None:
        """Hook for subclasses: stop background tasks. Called first by `close`."""

    async def close(self, exception: BaseException | None = None, cancel_start: bool = True) -> None:
        """Shut down: `close_tasks`, remove the log handler, wait briefly so
        final messages get out (the transport's ``shutdown_delay``), close
        the domain. Idempotent.

        Parameters
        ----------
        exception : `BaseException` or `None`
            If given, ``done_task`` ends with this exception.
        cancel_start : `bool`
            Cancel `start_task` if it is still running.
        """
        if not self.isopen:
            return
        self.isopen = False
        try:
            if cancel_start and not self.start_task.done():
                self.start_task.cancel()
            await self.close_tasks()
        except Exception:
            self.log.exception("close_tasks failed; continuing to close")
        finally:
            self.log.removeHandler(self._log_handler)
            await asyncio.sleep(self.domain.transport.shutdown_delay)
            await self.domain.close()
            if not self.done_task.done():
                if exception is not None:
                    self.done_task.set_exception(exception)
                else:
                    self.done_task.set_result(None)

    async def __aenter__(self) -> Controller:
        await self.start_task
        return self

    async def __aexit__(
        self,
        type: type[BaseException] | None,
        value: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.salinfo.name_index})"
