"""In-memory transport: any number of Domains in one process.

Topics live in a process-wide `MemoryBus`, keyed by (topic sub-name,
component, SAL topic name), so Domains using different
``$LSST_TOPIC_SUBNAME`` values never see each other's data (as with Kafka).
Events keep, per writer key (the writing SalInfo's index), the last sample
and its offset; that is what Kafka's compaction keeps, so late joiners get
the same history they would get from Kafka. Samples are copied for every
reader; delivery is asynchronous (scheduled on the reader's event loop), in
write order. By default every written sample is validated against the
topic's Avro schema, so a value Kafka could not serialize (a str in an int
field, an int beyond 32 bits in a SAL long, a numpy integer) fails here too.
"""

from __future__ import annotations

__all__ = ["MemoryBus", "MemoryChannel", "MemoryTransport", "get_memory_bus"]

import asyncio
import dataclasses
import logging
import typing

import fastavro
from fastavro.validation import ValidationError, validate

from ..interface import ComponentInfo, TopicInfo, TopicKind
from .base import Channel, ReadTopicSpec, SampleReceiver, Transport, TransportError
from .factory import register_transport


def copy_sample(data: dict[str, typing.Any]) -> dict[str, typing.Any]:
    """Copy a sample dict, including its lists (values are scalars or lists)."""
    return {key: list(value) if isinstance(value, list) else value for key, value in data.items()}


@dataclasses.dataclass
class _TopicLog:
    """State of one topic on the bus."""

    is_event: bool
    subscribers: list[MemoryChannel] = dataclasses.field(default_factory=list)
    next_offset: int = 0
    # writer index: (offset, sample); kept only for events
    last_by_key: dict[int, tuple[int, dict[str, typing.Any]]] = dataclasses.field(default_factory=dict)


class MemoryBus:
    """Process-wide store of in-memory topics."""

    def __init__(self) -> None:
        self._topics: dict[tuple[str, str, str], _TopicLog] = {}

    def get_topic(self, subname: str, topic_info: TopicInfo) -> _TopicLog:
        """Return the log of a topic, creating it if needed."""
        key = (subname, topic_info.component_name, topic_info.sal_name)
        log = self._topics.get(key)
        if log is None:
            log = _TopicLog(is_event=topic_info.kind is TopicKind.EVENT)
            self._topics[key] = log
        return log

    def delete_topics(self, subname: str) -> None:
        """Forget every topic (and its history) of a topic sub-name."""
        for key in [key for key in self._topics if key[0] == subname]:
            del self._topics[key]

    def topic_names(self, subname: str) -> list[str]:
        """Return ``Component.sal_name`` of every topic of a sub-name."""
        return sorted(f"{key[1]}.{key[2]}" for key in self._topics if key[0] == subname)


_BUS = MemoryBus()


def get_memory_bus() -> MemoryBus:
    """Return the process-wide in-memory bus."""
    return _BUS


class MemoryChannel(Channel):
    """Channel of the in-memory transport. See `Channel`."""

    transport: MemoryTransport

    def __init__(self, **kwargs: typing.Any) -> None:
        super().__init__(**kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._read_logs: dict[str, _TopicLog] = {}
        self._write_logs: dict[str, _TopicLog] = {}
        self._write_schemas: dict[str, typing.Any] = {}
        self._started = False
        self._closed = False

    async def start(
        self, read_topics: typing.Sequence[ReadTopicSpec], write_topics: typing.Sequence[TopicInfo]
    ) -> None:
        if self._started:
            raise TransportError(f"Channel for {self.name_index} already started")
        if self._closed:
            raise TransportError(f"Channel for {self.name_index} is closed")
        self._started = True
        self._loop = asyncio.get_running_loop()
        bus = self.transport.bus
        subname = self.transport.topic_subname
        for topic_info in write_topics:
            self._write_logs[topic_info.sal_name] = bus.get_topic(subname, topic_info)
            if self.transport.validate:
                self._write_schemas[topic_info.sal_name] = fastavro.parse_schema(topic_info.avro_schema)
        history: list[tuple[int, str, dict[str, typing.Any]]] = []
        for spec in read_topics:
            log = bus.get_topic(subname, spec.topic_info)
            self._read_logs[spec.topic_info.sal_name] = log
            log.subscribers.append(self)
            if spec.history_depth > 0 and log.is_event:
                window_start = log.next_offset - spec.history_depth
                history += [
                    (offset, spec.topic_info.sal_name, sample)
                    for offset, sample in log.last_by_key.values()
                    if offset >= window_start
                ]
        for _, sal_name, sample in sorted(history, key=lambda item: item[0]):
            self.receiver(sal_name, copy_sample(sample), True)

    async def write(self, sal_name: str, data: dict[str, typing.Any]) -> None:
        if self._closed:
            raise TransportError(f"Cannot write {self.name_index} {sal_name}: channel closed")
        log = self._write_logs.get(sal_name)
        if log is None:
            raise TransportError(
                f"Cannot write {self.name_index} {sal_name}: not a write topic of this channel "
                "(or the channel is not started)"
            )
        schema = self._write_schemas.get(sal_name)
        if schema is not None:
            try:
                validate(data, schema, raise_errors=True)
            except ValidationError as e:
                raise TransportError(
                    f"Cannot write {self.name_index} {sal_name}: data do not match its Avro schema: {e}"
                ) from e
        sample = copy_sample(data)
        offset = log.next_offset
        log.next_offset += 1
        if log.is_event:
            log.last_by_key[self.index] = (offset, sample)
        for reader in log.subscribers:
            reader._deliver(sal_name, sample)

    def _deliver(self, sal_name: str, sample: dict[str, typing.Any]) -> None:
        """Schedule delivery of a (shared, never mutated) sample to this reader."""
        loop = self._loop
        if loop is None or self._closed:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.call_soon(self._receive, sal_name, sample)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._receive, sal_name, sample)

    def _receive(self, sal_name: str, sample: dict[str, typing.Any]) -> None:
        if self._closed:
            return
        try:
            self.receiver(sal_name, copy_sample(sample), False)
        except Exception:
            self.log.exception(f"Receiver of {self.name_index} failed on {sal_name}")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for log in self._read_logs.values():
            if self in log.subscribers:
                log.subscribers.remove(self)
        self._read_logs.clear()
        self._write_logs.clear()


class MemoryTransport(Transport):
    """In-memory transport (one process). See `Transport`.

    Parameters
    ----------
    topic_subname : `str` or `None`
        Topic sub-name; None: ``$LSST_TOPIC_SUBNAME``, else ``sal``.
    bus : `MemoryBus` or `None`
        Bus to use; None: the process-wide bus.
    validate : `bool`
        Validate each written sample against its topic's Avro schema.
    """

    name = "memory"

    #: Seconds a closing Controller waits so final messages get out.
    shutdown_delay = 0.01

    def __init__(
        self, topic_subname: str | None = None, bus: MemoryBus | None = None, validate: bool = True
    ) -> None:
        super().__init__(topic_subname=topic_subname)
        self.bus = bus if bus is not None else _BUS
        self.validate = validate

    def make_channel(
        self,
        *,
        component_info: ComponentInfo,
        index: int,
        identity: str,
        receiver: SampleReceiver,
        log: logging.Logger,
    ) -> MemoryChannel:
        return MemoryChannel(
            transport=self,
            component_info=component_info,
            index=index,
            identity=identity,
            receiver=receiver,
            log=log,
        )

    async def close(self) -> None:
        pass


register_transport(MemoryTransport.name, MemoryTransport)
