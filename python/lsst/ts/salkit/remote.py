"""Remote: the side of a SAL component that talks to it (commands it, reads it)."""

from __future__ import annotations

__all__ = ["Remote"]

import types
import typing

from .domain import Domain
from .sal_info import SalInfo
from .topics import DEFAULT_QUEUE_LEN, AckCmdReader, RemoteCommand, RemoteEvent, RemoteTelemetry


class Remote:
    """Talk to a SAL component: send commands, read events and telemetry.

    Attributes ``cmd_<name>`` (`RemoteCommand`), ``evt_<name>``
    (`RemoteEvent`) and ``tel_<name>`` (`RemoteTelemetry`) are added.

    Parameters
    ----------
    domain : `Domain`
        Domain to use (not owned: not closed by `close`).
    name : `str`
        SAL component name.
    index : `int` or `None`
        SAL index; 0/None reads all indices of an indexed component (and
        commands with salIndex 0).
    readonly : `bool`
        If True, no commands (no ``cmd_`` attributes, no ack reader).
    include : iterable of `str` or `None`
        Names (without prefix) of the events and telemetry to read; None: all.
    exclude : iterable of `str` or `None`
        Names of events and telemetry not to read. Not with ``include``.
    evt_max_history : `int`
        History for events: 1 (default) gets each event's last value
        written before start; 0 none.
    start : `bool`
        If True, start now (`start_task`); else call `start` yourself.
    evt_queue_len, tel_queue_len : `int`
        Queue lengths.
    discard_out_of_order_events, discard_out_of_order_telemetry : `bool`
        See `SalInfo`.

    Attributes
    ----------
    salinfo : `SalInfo`
        The SalInfo.
    start_task : `asyncio.Future`
        Done when started (same as ``salinfo.start_task``).

    Raises
    ------
    ValueError
        If both ``include`` and ``exclude`` are given, or they name
        unknown topics.
    """

    def __init__(
        self,
        domain: Domain,
        name: str,
        index: int | None = None,
        *,
        readonly: bool = False,
        include: typing.Iterable[str] | None = None,
        exclude: typing.Iterable[str] | None = None,
        evt_max_history: int = 1,
        start: bool = True,
        evt_queue_len: int = DEFAULT_QUEUE_LEN,
        tel_queue_len: int = DEFAULT_QUEUE_LEN,
        discard_out_of_order_events: bool = True,
        discard_out_of_order_telemetry: bool = True,
    ) -> None:
        if include is not None and exclude is not None:
            raise ValueError("Specify at most one of include and exclude")
        self.salinfo = SalInfo(
            domain,
            name,
            index,
            discard_out_of_order_events=discard_out_of_order_events,
            discard_out_of_order_telemetry=discard_out_of_order_telemetry,
        )
        try:
            names = set(self.salinfo.event_names) | set(self.salinfo.telemetry_names)
            include_set = set(include) if include is not None else None
            exclude_set = set(exclude) if exclude is not None else set()
            unknown = ((include_set or set()) | exclude_set) - names
            if unknown:
                raise ValueError(
                    f"include/exclude name unknown events or telemetry of {name}: {sorted(unknown)}"
                )

            def wanted(topic_name: str) -> bool:
                if include_set is not None:
                    return topic_name in include_set
                return topic_name not in exclude_set

            if not readonly:
                for cmd_name in self.salinfo.command_names:
                    setattr(self, "cmd_" + cmd_name, RemoteCommand(self.salinfo, cmd_name))
                if self.salinfo.command_names:
                    self._ackcmd_reader: AckCmdReader | None = AckCmdReader(self.salinfo)
            for evt_name in self.salinfo.event_names:
                if wanted(evt_name):
                    setattr(
                        self,
                        "evt_" + evt_name,
                        RemoteEvent(
                            self.salinfo, evt_name, max_history=evt_max_history, queue_len=evt_queue_len
                        ),
                    )
            for tel_name in self.salinfo.telemetry_names:
                if wanted(tel_name):
                    setattr(
                        self,
                        "tel_" + tel_name,
                        RemoteTelemetry(self.salinfo, tel_name, queue_len=tel_queue_len),
                    )
        except BaseException:
            domain.remove_salinfo(self.salinfo)
            raise
        self.start_task = self.salinfo.start_task
        if start:
            self.salinfo.start_pending = True
            self._start_task = self.salinfo.start_task.get_loop().create_task(self.start())
            # The error (if any) is reported through start_task; do not warn twice.
            self._start_task.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def start(self) -> None:
        """Start the SalInfo (read history); call only if made with start=False."""
        await self.salinfo.start()

    async def close(self) -> None:
        """Close the SalInfo (not the domain)."""
        await self.salinfo.close()

    async def __aenter__(self) -> Remote:
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
        return f"Remote({self.salinfo.name_index}, identity={self.salinfo.identity!r})"
