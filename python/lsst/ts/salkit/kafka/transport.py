"""The Kafka transport: ts_salobj v8's wire format behind salkit's
`~lsst.ts.salkit.transport.Transport` interface.

One `KafkaTransport` per Domain owns the registry client, the topic admin
and one producer; each SalInfo gets a `KafkaChannel` with its own consumer
in its own consumer group (deleted on close).
"""

from __future__ import annotations

__all__ = ["KafkaChannel", "KafkaTransport"]

import asyncio
import concurrent.futures
import dataclasses
import logging
import os
import secrets
import string
import typing

from ..interface import ComponentInfo, TopicInfo
from ..transport.base import Channel, ReadTopicSpec, SampleReceiver, Transport, TransportError
from ..transport.factory import register_transport
from .admin import TopicAdmin, TopicAdminError
from .codec import TopicCodec
from .config import KafkaConfig
from .consumer import ChannelConsumer, Delivery, ReadTopic
from .naming import kafka_topic_name, message_key
from .producer import SharedProducer
from .registry_client import SchemaRegistryClient, SchemaRegistryError

#: How long `KafkaChannel.start` waits for partition assignment and history.
START_TIMEOUT = 60.0

#: How long history may take before we stop waiting for it.
HISTORY_TIMEOUT = 20.0

#: How long closing waits for the consumer thread (salobj: 0.5 s per loop).
CLOSE_TIMEOUT = 5.0

_GROUP_ALPHABET = string.ascii_letters + string.digits


def make_group_id(identity: str, name_index: str) -> str:
    """Return a new consumer group id for a SalInfo, as salobj builds it:
    ``{identity}-{Name[:index]}-{16 random characters}``, or
    ``{Name[:index]}-{random}`` when the identity is ``Name[:index]``."""
    suffix = "".join(secrets.choice(_GROUP_ALPHABET) for _ in range(16))
    if identity == name_index:
        return f"{name_index}-{suffix}"
    return f"{identity}-{name_index}-{suffix}"


class KafkaTransport(Transport):
    """Kafka + Avro + Confluent schema registry, wire-compatible with
    ts_salobj v8. Configured from the environment (`KafkaConfig`).

    Parameters
    ----------
    topic_subname : `str` or `None`
        Topic sub-name; None: ``$LSST_TOPIC_SUBNAME`` (required).
    config : `KafkaConfig` or `None`
        Configuration; None: read the environment.
    """

    name = "kafka"

    #: Closing the transport flushes the producer (waiting for the broker's
    #: acknowledgements), so a closing Controller need not wait long.
    shutdown_delay = 0.1

    def __init__(self, topic_subname: str | None = None, config: KafkaConfig | None = None) -> None:
        if config is None:
            environ = dict(os.environ)
            if topic_subname:
                environ["LSST_TOPIC_SUBNAME"] = topic_subname
            config = KafkaConfig.from_environ(environ)
        elif topic_subname and topic_subname != config.topic_subname:
            config = dataclasses.replace(config, topic_subname=topic_subname)
        super().__init__(config.topic_subname)
        self.config = config
        self.log = logging.getLogger("lsst.ts.salkit.kafka")
        self.registry = SchemaRegistryClient(config.schema_registry_url)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="salkit-kafka"
        )
        self._admin: TopicAdmin | None = None
        self._producer: SharedProducer | None = None
        self._known_topics: set[str] = set()
        self._channels: set[KafkaChannel] = set()
        self._setup_lock = asyncio.Lock()
        self._closed = False

    def kafka_topic(self, topic_info: TopicInfo) -> str:
        """Return the Kafka topic name of a SAL topic."""
        return kafka_topic_name(self.topic_subname, topic_info.component_name, topic_info.sal_name)

    def make_channel(
        self,
        *,
        component_info: ComponentInfo,
        index: int,
        identity: str,
        receiver: SampleReceiver,
        log: logging.Logger,
    ) -> Channel:
        if self._closed:
            raise TransportError("Cannot make a channel: the Kafka transport is closed")
        channel = KafkaChannel(
            transport=self,
            component_info=component_info,
            index=index,
            identity=identity,
            receiver=receiver,
            log=log,
        )
        self._channels.add(channel)
        return channel

    async def run_blocking(self, func: typing.Callable[..., typing.Any], *args: typing.Any) -> typing.Any:
        """Run a blocking call in the transport's thread pool."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def prepare_topics(self, codecs: list[TopicCodec]) -> None:
        """Create missing topics and register the schemas of ``codecs``
        (setting their ids). Blocking work runs in threads."""
        async with self._setup_lock:
            if self._admin is None:
                self._admin = TopicAdmin(self.config, self.log)
            admin = self._admin
            new_names = sorted({codec.kafka_topic for codec in codecs} - self._known_topics)
            if new_names:
                try:
                    await self.run_blocking(admin.create_missing_topics, new_names)
                except TopicAdminError as e:
                    raise TransportError(str(e)) from e
                self._known_topics.update(new_names)
        try:
            ids = await asyncio.gather(
                *[
                    self.run_blocking(self.registry.register, codec.subject, codec.avro_schema)
                    for codec in codecs
                ]
            )
        except SchemaRegistryError as e:
            raise TransportError(f"Cannot register schemas: {e}") from e
        for codec, schema_id in zip(codecs, ids, strict=True):
            codec.schema_id = schema_id

    def ensure_topics_blocking(self, kafka_topics: list[str]) -> None:
        """Create missing topics (blocking; for the consumer threads)."""
        admin = self._admin or TopicAdmin(self.config, self.log)
        admin.create_missing_topics(kafka_topics)

    async def get_producer(self, write_topics: list[str]) -> SharedProducer:
        """Return the shared producer (made on first use), warmed up for
        ``write_topics``."""
        async with self._setup_lock:
            if self._producer is None:
                self._producer = await self.run_blocking(SharedProducer, self.config, self.log)
            producer = self._producer
        if write_topics:
            await self.run_blocking(producer.warm_up, write_topics)
        return producer

    async def delete_consumer_group(self, group_id: str) -> None:
        """Delete a consumer group, logging (not raising) failures."""
        if self._admin is None:
            return
        try:
            await self.run_blocking(self._admin.delete_consumer_group, group_id)
        except Exception as e:
            self.log.warning("Could not delete consumer group %s: %s", group_id, e)

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything written so far has been acknowledged by
        the broker (writes themselves never wait).

        Raises
        ------
        TransportError
            If messages are still undelivered after ``timeout`` seconds.
        """
        if self._producer is None:
            return
        undelivered = await self.run_blocking(self._producer.flush, timeout)
        if undelivered:
            raise TransportError(
                f"{undelivered} messages still undelivered after {timeout} s (broker {self.config.broker_addr})"
            )

    def forget_channel(self, channel: KafkaChannel) -> None:
        """Called by a channel when it closes."""
        self._channels.discard(channel)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Domain closes its SalInfos (hence channels) first; close any left.
        for channel in list(self._channels):
            await channel.close()
        if self._producer is not None:
            await self.run_blocking(self._producer.close)
        self._admin = None
        self.registry.close()
        self._executor.shutdown(wait=False)


class KafkaChannel(Channel):
    """Channel of the Kafka transport (one SalInfo). See `Channel`."""

    transport: KafkaTransport

    def __init__(self, **kwargs: typing.Any) -> None:
        super().__init__(**kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._write_codecs: dict[str, TopicCodec] = {}
        self._write_topics: dict[str, tuple[str, str]] = {}  # sal_name: (kafka topic, key)
        self._producer: SharedProducer | None = None
        self._consumer: ChannelConsumer | None = None
        self._started = False
        self._closed = False
        self.group_id = make_group_id(self.identity, self.name_index)

    async def start(
        self, read_topics: typing.Sequence[ReadTopicSpec], write_topics: typing.Sequence[TopicInfo]
    ) -> None:
        if self._started:
            raise TransportError(f"Kafka channel for {self.name_index} already started")
        if self._closed:
            raise TransportError(f"Kafka channel for {self.name_index} is closed")
        self._started = True
        self._loop = asyncio.get_running_loop()
        transport = self.transport
        read_codecs = {
            spec.topic_info.sal_name: TopicCodec(
                transport.kafka_topic(spec.topic_info), spec.topic_info.avro_schema
            )
            for spec in read_topics
        }
        for info in write_topics:
            codec = read_codecs.get(info.sal_name) or TopicCodec(
                transport.kafka_topic(info), info.avro_schema
            )
            self._write_codecs[info.sal_name] = codec
            key = message_key(
                self.component_info.name, self.index, info.sal_name, self.component_info.indexed
            )
            self._write_topics[info.sal_name] = (codec.kafka_topic, key)
        codecs = list(
            {id(codec): codec for codec in [*read_codecs.values(), *self._write_codecs.values()]}.values()
        )
        await transport.prepare_topics(codecs)
        self._producer = await transport.get_producer(
            [codec.kafka_topic for codec in self._write_codecs.values()]
        )
        if read_topics:
            await self._start_consumer(read_topics, read_codecs)

    async def _start_consumer(
        self, read_topics: typing.Sequence[ReadTopicSpec], read_codecs: dict[str, TopicCodec]
    ) -> None:
        assert self._loop is not None
        transport = self.transport
        topics = {
            read_codecs[spec.topic_info.sal_name].kafka_topic: ReadTopic(
                spec.topic_info.sal_name, read_codecs[spec.topic_info.sal_name], spec.history_depth
            )
            for spec in read_topics
        }
        consumer = ChannelConsumer(
            config=transport.config,
            group_id=self.group_id,
            topics=topics,
            schemas=transport.registry,
            loop=self._loop,
            deliver=self._deliver,
            log=self.log,
            name=self.name_index,
            ensure_topics=transport.ensure_topics_blocking,
        )
        self._consumer = consumer
        await transport.run_blocking(consumer.start)
        ready = await _wait_done(consumer.ready, HISTORY_TIMEOUT)
        if not ready and consumer.status().startswith("history"):
            consumer.finish_history_now()
            ready = await _wait_done(consumer.ready, 5.0)
        if not ready:
            ready = await _wait_done(consumer.ready, START_TIMEOUT - HISTORY_TIMEOUT)
        if consumer.failure is not None or not ready:
            status = consumer.status()
            await self.close()
            raise TransportError(
                f"Kafka channel for {self.name_index} did not start within {START_TIMEOUT} s: {status} "
                f"(broker {transport.config.broker_addr})"
            )

    def _deliver(self, deliveries: list[Delivery]) -> None:
        if self._closed:
            return
        for sal_name, data, is_history in deliveries:
            try:
                self.receiver(sal_name, data, is_history)
            except Exception:
                self.log.exception("Receiver of %s failed on a %s sample", self.name_index, sal_name)

    async def write(self, sal_name: str, data: dict[str, typing.Any]) -> None:
        if self._closed:
            raise TransportError(f"Cannot write {self.name_index} {sal_name}: channel closed")
        target = self._write_topics.get(sal_name)
        if target is None or self._producer is None:
            raise TransportError(
                f"Cannot write {self.name_index} {sal_name}: not a write topic of this channel "
                "(or the channel is not started)"
            )
        kafka_topic, key = target
        try:
            value = self._write_codecs[sal_name].encode(data)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise TransportError(f"Cannot serialize {self.name_index} {sal_name}: {e!r}") from e
        if not self._producer.try_produce(kafka_topic, key, value):
            # The librdkafka queue is full: wait in a thread rather than block the loop.
            await self.transport.run_blocking(self._producer.produce, kafka_topic, key, value)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.transport.forget_channel(self)
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.stop()
            await asyncio.get_running_loop().run_in_executor(None, consumer.join, CLOSE_TIMEOUT)
            await self.transport.delete_consumer_group(self.group_id)


async def _wait_done(future: asyncio.Future[None], timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``future``; return whether it is done."""
    try:
        await asyncio.wait_for(asyncio.shield(future), timeout)
    except TimeoutError:
        return False
    return True


def _make_kafka_transport(topic_subname: str | None = None) -> KafkaTransport:
    return KafkaTransport(topic_subname=topic_subname)


register_transport("kafka", _make_kafka_transport)
