"""SalInfo: one component + index on a Domain; owns the transport channel."""

from __future__ import annotations

__all__ = [
    "MAX_HISTORY_READ",
    "SalInfo",
    "get_max_history_for_indexed_component",
]

import asyncio
import logging
import os
import time
import types
import typing

import yaml

from .enums import SalRetCode
from .interface import BaseSample, ComponentInfo, TopicKind, get_component_info
from .tai import current_tai
from .transport import Channel, ReadTopicSpec

if typing.TYPE_CHECKING:
    from .domain import Domain
    from .topics.read_topic import ReadTopic
    from .topics.remote_command import CommandInfo
    from .topics.write_topic import WriteTopic

#: Default history depth for readers of an indexed component.
MAX_HISTORY_READ = 500


def get_max_history_for_indexed_component(name: str) -> int:
    """History depth for readers of an indexed component.

    ``$LSST_HISTORY_READ_CONFIG`` (a YAML file mapping component name to
    depth) wins, then ``$LSST_MAX_HISTORY_READ``, then `MAX_HISTORY_READ`.

    Raises
    ------
    ValueError
        If a configured value is not a non-negative integer.
    """
    config_path = os.environ.get("LSST_HISTORY_READ_CONFIG", "")
    if config_path:
        with open(config_path) as f:
            config = yaml.safe_load(f) or {}
        if name in config:
            value = int(config[name])
            if value < 0:
                raise ValueError(f"{config_path}: history depth {value} for {name} must be >= 0")
            return value
    env_value = os.environ.get("LSST_MAX_HISTORY_READ", "")
    if env_value:
        value = int(env_value)
        if value < 0:
            raise ValueError(f"$LSST_MAX_HISTORY_READ={env_value} must be >= 0")
        return value
    return MAX_HISTORY_READ


class SalInfo:
    """A SAL component and index on a domain: topics, identity and channel.

    Parameters
    ----------
    domain : `Domain`
        The domain.
    name : `str`
        SAL component name.
    index : `int` or `None`
        SAL index; None or 0 for a non-indexed component, or to read all
        indices of an indexed one.
    write_only : `bool`
        If True, no read topics may be added.
    discard_out_of_order_events, discard_out_of_order_telemetry : `bool`
        Drop (non-history) event/telemetry samples whose ``private_sndStamp``
        is older than the last one seen for that topic and ``salIndex``.

    Attributes
    ----------
    component_info : `ComponentInfo`
        Interface of the component.
    identity : `str`
        Identity written as ``private_identity`` and used to route acks.
        Defaults to ``domain.default_identity``; a Controller sets it to
        ``Name[:index]`` before start.
    start_task : `asyncio.Future`
        Done when `start` has finished (history read).
    done_task : `asyncio.Future`
        Done when closed.
    log : `logging.Logger`
        Logger; a Controller replaces it with its own (whose records become
        logMessage events) before adding topics.

    Raises
    ------
    UnknownComponentError
        If the component name is unknown.
    ValueError
        If a non-zero index is given for a non-indexed component.
    """

    def __init__(
        self,
        domain: Domain,
        name: str,
        index: int | None = 0,
        *,
        write_only: bool = False,
        discard_out_of_order_events: bool = True,
        discard_out_of_order_telemetry: bool = True,
    ) -> None:
        self.domain = domain
        self.name = name
        self.index = int(index or 0)
        self.component_info: ComponentInfo = get_component_info(name)
        if not self.component_info.indexed and self.index != 0:
            raise ValueError(f"Component {name} is not indexed; index must be 0 or None, not {index}")
        self.write_only = write_only
        self.discard_out_of_order_events = discard_out_of_order_events
        self.discard_out_of_order_telemetry = discard_out_of_order_telemetry
        self.identity = domain.default_identity
        self.log = logging.getLogger("lsst.ts.salkit.SalInfo").getChild(self.name_index)
        self.isopen = True
        self.start_called = False
        #: True if `start` has been scheduled (e.g. by ``Remote(start=True)``);
        #: ``Controller.start`` waits for such SalInfos of its domain.
        self.start_pending = False
        loop = asyncio.get_running_loop()
        self.start_task: asyncio.Future[None] = loop.create_future()
        self.done_task: asyncio.Future[None] = loop.create_future()
        self._read_topics: dict[str, ReadTopic] = {}
        self._write_topics: dict[str, WriteTopic] = {}
        self._last_snd_stamps: dict[tuple[str, int], float] = {}
        #: private_seqNum: CommandInfo of commands this SalInfo is waiting on
        self._running_cmds: dict[int, CommandInfo] = {}
        self._channel: Channel | None = None
        domain.add_salinfo(self)

    # --- names -------------------------------------------------------------

    @property
    def name_index(self) -> str:
        """``Name`` or ``Name:index`` (non-zero index)."""
        return f"{self.name}:{self.index}" if self.index else self.name

    @property
    def indexed(self) -> bool:
        """Is the component indexed?"""
        return self.component_info.indexed

    @property
    def sal_topic_names(self) -> list[str]:
        """All SAL topic names of the component, sorted."""
        return self.component_info.sal_topic_names

    @property
    def command_names(self) -> tuple[str, ...]:
        """Command names without prefix, sorted."""
        return tuple(sorted(self.component_info.commands))

    @property
    def event_names(self) -> tuple[str, ...]:
        """Event names without prefix, sorted."""
        return tuple(sorted(self.component_info.events))

    @property
    def telemetry_names(self) -> tuple[str, ...]:
        """Telemetry topic names, sorted."""
        return tuple(sorted(self.component_info.telemetry))

    @property
    def started(self) -> bool:
        """Has `start` finished?"""
        return (
            self.start_task.done() and not self.start_task.cancelled() and self.start_task.exception() is None
        )

    @property
    def read_topics(self) -> dict[str, ReadTopic]:
        """SAL topic name: read topic (do not modify)."""
        return self._read_topics

    @property
    def write_topics(self) -> dict[str, WriteTopic]:
        """SAL topic name: write topic (do not modify)."""
        return self._write_topics

    # --- topic registration (called by topic constructors) -----------------

    def add_reader(self, topic: ReadTopic) -> None:
        """Register a read topic; must be called before `start`.

        Raises
        ------
        RuntimeError
            If started, write-only, or the topic is already registered.
        """
        if self.start_called:
            raise RuntimeError(f"Cannot add reader {topic.sal_name} to {self.name_index}: already started")
        if self.write_only:
            raise RuntimeError(f"Cannot add reader {topic.sal_name} to write-only {self.name_index}")
        if topic.sal_name in self._read_topics:
            raise RuntimeError(f"{self.name_index} already has a reader for {topic.sal_name}")
        self._read_topics[topic.sal_name] = topic

    def add_writer(self, topic: WriteTopic) -> None:
        """Register a write topic; must be called before `start`.

        Raises
        ------
        RuntimeError
            If started or the topic is already registered.
        """
        if self.start_called:
            raise RuntimeError(f"Cannot add writer {topic.sal_name} to {self.name_index}: already started")
        if topic.sal_name in self._write_topics:
            raise RuntimeError(f"{self.name_index} already has a writer for {topic.sal_name}")
        self._write_topics[topic.sal_name] = topic

    # --- lifecycle -----------------------------------------------------------

    def _history_depth(self, topic: ReadTopic) -> int:
        if topic.max_history <= 0 or topic.topic_info.kind is not TopicKind.EVENT:
            return 0
        if self.indexed:
            return get_max_history_for_indexed_component(self.name)
        return 1

    async def start(self) -> None:
        """Connect to the transport: subscribe read topics, read history.

        Returns after the history of every read topic has been queued.

        Raises
        ------
        RuntimeError
            If already started or closed.
        """
        if self.start_called:
            raise RuntimeError(f"{self.name_index} already started")
        if not self.isopen:
            raise RuntimeError(f"{self.name_index} is closed")
        self.start_called = True
        t0 = time.monotonic()
        try:
            self._channel = self.domain.transport.make_channel(
                component_info=self.component_info,
                index=self.index,
                identity=self.identity,
                receiver=self._receive,
                log=self.log,
            )
            read_specs = [
                ReadTopicSpec(topic.topic_info, self._history_depth(topic))
                for topic in self._read_topics.values()
            ]
            write_infos = [topic.topic_info for topic in self._write_topics.values()]
            await self._channel.start(read_specs, write_infos)
        except BaseException as e:
            if not self.start_task.done():
                self.start_task.set_exception(e)
                self.start_task.exception()  # mark retrieved
            raise
        self.log.debug(f"Started in {time.monotonic() - t0:0.3f} s")
        if not self.start_task.done():
            self.start_task.set_result(None)

    def _receive(self, sal_name: str, data: dict[str, typing.Any], is_history: bool) -> None:
        """Handle one sample from the channel (see `SampleReceiver`)."""
        topic = self._read_topics.get(sal_name)
        if topic is None or not self.isopen:
            return
        sal_index = data.get("salIndex", 0)
        kind = topic.topic_info.kind
        if (kind is TopicKind.EVENT and self.discard_out_of_order_events) or (
            kind is TopicKind.TELEMETRY and self.discard_out_of_order_telemetry
        ):
            key = (sal_name, sal_index)
            snd_stamp = data.get("private_sndStamp", 0.0)
            last = self._last_snd_stamps.get(key)
            if last is not None and snd_stamp < last and not is_history:
                self.log.warning(
                    f"Discarding out-of-order {sal_name} sample: private_sndStamp={snd_stamp} < {last}"
                )
                return
            self._last_snd_stamps[key] = snd_stamp
        if self.index != 0 and sal_index != self.index:
            return
        data["private_rcvStamp"] = current_tai()
        try:
            sample = topic.DataType(**data)
        except TypeError:
            sample = topic.DataType.from_vars(data)
        topic._queue_data(sample, is_history=is_history)

    async def write_data(self, topic: WriteTopic, data: BaseSample) -> None:
        """Send a sample whose private fields are filled in (used by topics).

        Raises
        ------
        RuntimeError
            If not started ("Not started") or closed.
        """
        if not self.isopen:
            raise RuntimeError(f"{self.name_index} is closed; cannot write {topic.sal_name}")
        if self._channel is None or not self.start_task.done():
            raise RuntimeError(f"Not started: {self.name_index} cannot write {topic.sal_name} before start")
        await self._channel.write(topic.sal_name, data.get_vars())

    def make_ackcmd(
        self,
        private_seqNum: int,
        ack: SalRetCode | int,
        error: int = 0,
        result: str = "",
        timeout: float = 0.0,
    ) -> BaseSample:
        """Make an ackcmd sample (the caller fills identity/origin/cmdtype)."""
        return self.component_info.ackcmd.DataType(  # type: ignore[call-arg]
            private_seqNum=private_seqNum, ack=int(ack), error=error, result=result, timeout=timeout
        )

    async def close(self) -> None:
        """Close topics and the channel; forget pending commands. Idempotent."""
        if not self.isopen:
            return
        self.isopen = False
        try:
            for topic in list(self._read_topics.values()):
                topic.close()
            for cmd_info in list(self._running_cmds.values()):
                cmd_info.close()
            self._running_cmds.clear()
            if self._channel is not None:
                await self._channel.close()
        finally:
            self.domain.remove_salinfo(self)
            if not self.start_task.done():
                self.start_task.cancel()
            if not self.done_task.done():
                self.done_task.set_result(None)

    async def __aenter__(self) -> SalInfo:
        if not self.start_called:
            await self.start()
        return self

    async def __aexit__(
        self,
        type: type[BaseException] | None,
        value: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"SalInfo({self.name_index}, identity={self.identity!r})"
