"""The consumer of one channel (one SalInfo), in its own consumer group,
running in its own thread.

The thread polls librdkafka, decodes values (resolving the writer's schema),
applies the history rules of `~lsst.ts.salkit.kafka.history` and hands
batches of samples to the event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

__all__ = ["ChannelConsumer", "ReadTopic"]

import asyncio
import atexit
import dataclasses
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from .codec import DecodeFailureLog, TopicCodec, WriterSchemaSource
from .config import KafkaConfig
from .history import OFFSET_BEGINNING, PartitionReadState, plan_resume, plan_start
from .producer import LIBRDKAFKA_LOG, BrokerConnectionMonitor

#: Longest wait of one poll; also how quickly the thread notices `stop`.
POLL_TIMEOUT = 0.1

#: Most messages taken from librdkafka at once after the first one.
DRAIN_BATCH = 500

#: Consecutive consumer errors (not broker-down) after which reading stops
#: (salobj: more than 2).
MAX_SEQUENTIAL_READ_ERRORS = 3

Delivery = tuple[str, dict[str, Any], bool]

_running: weakref.WeakSet[ChannelConsumer] = weakref.WeakSet()


@atexit.register
def _stop_running_consumers() -> None:
    """Stop consumer threads still running at interpreter exit (a Domain
    that was never closed): librdkafka must not be polled while Python
    finalizes."""
    consumers = list(_running)
    for consumer in consumers:
        consumer.stop()
    for consumer in consumers:
        consumer.join(2.0)


@dataclasses.dataclass
class ReadTopic:
    """A topic the consumer reads.

    Attributes
    ----------
    sal_name : `str`
        SAL topic name.
    codec : `TopicCodec`
        Codec (with our schema, registered).
    history_depth : `int`
        0: no history; N: look N messages back for each writer's last one.
    """

    sal_name: str
    codec: TopicCodec
    history_depth: int


class ChannelConsumer:
    """Consumer thread of one channel.

    Parameters
    ----------
    config : `KafkaConfig`
        Consumer settings.
    group_id : `str`
        Consumer group (unique to this channel).
    topics : `dict` [`str`, `ReadTopic`]
        Kafka topic name: what to read there.
    schemas : `WriterSchemaSource`
        Writer schemas by id (the registry client).
    loop : `asyncio.AbstractEventLoop`
        Loop in which ``deliver`` is called.
    deliver : callable
        Called in ``loop`` with a list of (sal_name, data, is_history).
    log : `logging.Logger`
        Logger.
    name : `str`
        ``Name[:index]`` of the channel, for messages.
    ensure_topics : callable, optional
        Blocking call that creates missing topics; used when the broker comes
        back after an outage without our topics (a broker with memory storage).
    """

    def __init__(
        self,
        *,
        config: KafkaConfig,
        group_id: str,
        topics: dict[str, ReadTopic],
        schemas: WriterSchemaSource,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[list[Delivery]], None],
        log: logging.Logger,
        name: str,
        ensure_topics: Callable[[list[str]], object] | None = None,
    ) -> None:
        self.group_id = group_id
        self.ensure_topics = ensure_topics
        self.topics = topics
        self.schemas = schemas
        self.loop = loop
        self.deliver = deliver
        self.log = log
        self.name = name
        self.monitor = BrokerConnectionMonitor(f"consumer of {name}", config.broker_addr, log)
        settings = config.consumer_config(group_id)
        settings["error_cb"] = self.monitor.on_error
        settings.setdefault("logger", LIBRDKAFKA_LOG)
        self._consumer = Consumer(settings)
        self._decode_failures = DecodeFailureLog(log)
        self._states: dict[str, PartitionReadState] = {}
        self._history_pending: set[str] = set()
        self._lost_topics: set[str] = set()
        self._assigned = threading.Event()
        self._history_done = threading.Event()
        self._ready_signalled = False
        #: Done (in ``loop``) once partitions are assigned and all history has
        #: been handed to ``deliver`` (or reading failed: see `failure`).
        self.ready: asyncio.Future[None] = loop.create_future()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"salkit-kafka-read-{name}", daemon=True)
        self.failure: BaseException | None = None

    # --- control (any thread) -------------------------------------------

    def start(self) -> None:
        """Subscribe and start the thread."""
        self._consumer.subscribe(
            list(self.topics),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self._thread.start()
        _running.add(self)

    def status(self) -> str:
        """Describe where start-up is (for error messages)."""
        if not self._assigned.is_set():
            return "no partitions assigned by the group coordinator yet"
        if self._history_pending:
            return f"history still being read on {sorted(self._history_pending)[:3]}"
        if self.failure is not None:
            return f"read loop failed: {self.failure}"
        return "ready"

    def finish_history_now(self) -> None:
        """Give up waiting for history (called after a time-out)."""
        self._stop_history_wait = True

    def stop(self) -> None:
        """Ask the thread to stop; it closes the consumer (leaving the group)."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        """Wait for the thread to end (blocking)."""
        if self._thread.is_alive():
            self._thread.join(timeout)

    # --- the thread -------------------------------------------------------

    _stop_history_wait = False

    def _run(self) -> None:
        sequential_errors = 0
        try:
            while not self._stop.is_set():
                if self._stop_history_wait and self._history_pending:
                    self._abandon_history()
                if self.monitor.down_since is not None:
                    self._check_broker_back()
                message = self._consumer.poll(POLL_TIMEOUT)
                if message is None:
                    continue
                messages = [message]
                more = self._consumer.consume(num_messages=DRAIN_BATCH, timeout=0)
                if more:
                    messages.extend(more)
                deliveries: list[Delivery] = []
                received = False
                for item in messages:
                    error = item.error()
                    if error is not None:
                        if self._is_benign(error):
                            continue
                        sequential_errors += 1
                        self._log_read_error(error)
                        if sequential_errors >= MAX_SEQUENTIAL_READ_ERRORS and not error.retriable():
                            raise KafkaException(error)
                        continue
                    sequential_errors = 0
                    received = True
                    self._handle(item, deliveries)
                if received:
                    self.monitor.on_success()
                if deliveries:
                    self._send(deliveries)
                if self._history_done.is_set():
                    self._signal_ready()
        except BaseException as e:
            self.failure = e
            self.log.exception("Kafka read loop of %s stopped: %s", self.name, e)
            self._assigned.set()
            self._history_done.set()
            self._signal_ready()
        finally:
            try:
                self._consumer.close()
            except Exception as e:
                self.log.warning("Closing the Kafka consumer of %s: %s", self.name, e)

    def _check_broker_back(self) -> None:
        """While the broker is unreachable, probe it about once a second;
        when it answers, recreate any of our topics it lost and refresh
        metadata so the subscription picks them up again."""
        now = time.monotonic()
        if now < self._next_probe:
            return
        self._next_probe = now + 1.0
        try:
            metadata = self._consumer.list_topics(timeout=0.5)
        except KafkaException:
            return
        self.monitor.on_success()
        missing = sorted(set(self.topics) - set(metadata.topics))
        if not missing:
            return
        self.log.warning(
            "%s: the broker lost %d of our topics (e.g. %s; it may have restarted without persistent "
            "storage); recreating them and reading them from their beginning",
            self.name,
            len(missing),
            missing[0],
        )
        for topic in missing:
            self._lost_topics.add(topic)
        if self.ensure_topics is not None:
            try:
                self.ensure_topics(missing)
            except Exception as e:
                self.log.warning("%s: could not recreate topics: %s", self.name, e)
        try:
            self._consumer.list_topics(timeout=2.0)
        except KafkaException:
            pass

    _next_probe = 0.0
    _last_error_text = ""
    _last_error_time = 0.0

    def _log_read_error(self, error: KafkaError) -> None:
        """Log a read error; the same error again only once a minute."""
        text = error.str()
        now = time.monotonic()
        if text == self._last_error_text and now - self._last_error_time < 60.0:
            return
        self._last_error_text, self._last_error_time = text, now
        self.log.warning("Kafka consumer of %s: %s", self.name, text)

    @staticmethod
    def _is_benign(error: KafkaError) -> bool:
        return error.code() in (KafkaError._PARTITION_EOF,)

    def _handle(self, message: Message, deliveries: list[Delivery]) -> None:
        topic = message.topic()
        if topic is None:
            return
        read_topic = self.topics.get(topic)
        state = self._states.get(topic)
        if read_topic is None or state is None:
            return
        offset = message.offset() or 0
        try:
            data = read_topic.codec.decode(message.value(), self.schemas)
        except Exception as e:
            self._decode_failures.report(topic, offset, e)
            state.next_offset = offset + 1
            data = None
        timestamp_type, timestamp_ms = message.timestamp()
        key = message.key() or b""
        fetched_high = None
        if state.in_history:
            low_high = self._consumer.get_watermark_offsets(TopicPartition(topic, 0), cached=True)
            if low_high is not None and low_high[1] >= 0:
                fetched_high = low_high[1]
        history, live = state.on_message(
            offset, timestamp_ms if timestamp_type else None, key, data, fetched_high
        )
        for item in history:
            if item is not None:
                deliveries.append((read_topic.sal_name, item, True))
        for item in live:
            if item is not None:
                deliveries.append((read_topic.sal_name, item, False))
        if history or (not state.in_history and topic in self._history_pending):
            self._history_finished(topic)

    def _history_finished(self, topic: str) -> None:
        self._history_pending.discard(topic)
        if not self._history_pending:
            self._history_done.set()

    def _abandon_history(self) -> None:
        deliveries: list[Delivery] = []
        for topic in sorted(self._history_pending):
            state = self._states[topic]
            self.log.warning(
                "Gave up waiting for the history of %s (no message arrived up to its end); "
                "delivering what was read.",
                topic,
            )
            for item in state.finish_history():
                if item is not None:
                    deliveries.append((self.topics[topic].sal_name, item, True))
        self._history_pending.clear()
        self._history_done.set()
        if deliveries:
            self._send(deliveries)
        self._signal_ready()

    def _signal_ready(self) -> None:
        """Resolve `ready` in the loop, after the deliveries sent so far
        (``call_soon_threadsafe`` keeps the order)."""
        if self._ready_signalled:
            return
        self._ready_signalled = True
        if self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self._resolve_ready)
        except RuntimeError:
            pass  # loop closed meanwhile

    def _resolve_ready(self) -> None:
        if not self.ready.done():
            self.ready.set_result(None)

    def _send(self, deliveries: list[Delivery]) -> None:
        if self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self.deliver, deliveries)
        except RuntimeError:
            pass  # loop closed meanwhile

    # --- rebalance callbacks (run inside poll, in this thread) ------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        first_time = not self._assigned.is_set()
        for partition in partitions:
            topic = partition.topic
            read_topic = self.topics.get(topic)
            if read_topic is None:
                continue
            now_ms = int(time.time() * 1000)
            try:
                low, high = consumer.get_watermark_offsets(partition, timeout=10.0)
            except KafkaException as e:
                self.log.warning(
                    "%s: cannot read the offsets of %s (%s); reading it from its start", self.name, topic, e
                )
                low, high = 0, 0
            previous = self._states.get(topic)
            if topic in self._lost_topics:
                # The topic was recreated: all it holds was written after the outage.
                self._lost_topics.discard(topic)
                state = PartitionReadState(start_offset=OFFSET_BEGINNING)
            elif previous is None:
                state = plan_start(low, high, read_topic.history_depth, now_ms)
            elif previous.in_history:
                state = previous
                if previous.next_offset is not None:
                    state.start_offset = previous.next_offset
            else:
                state = plan_resume(previous.next_offset, low, high, now_ms)
            self._states[topic] = state
            if state.in_history:
                self._history_pending.add(topic)
            partition.offset = state.start_offset
            self.log.debug(
                "%s: assigned %s, watermarks %d..%d, starting at %d%s",
                self.name,
                topic,
                low,
                high,
                state.start_offset,
                " (reading history)" if state.in_history else "",
            )
        consumer.assign(partitions)
        if not first_time:
            self.log.info(
                "%s: partitions re-assigned (%d); continuing without re-reading history",
                self.name,
                len(partitions),
            )
        self._assigned.set()
        if not self._history_pending:
            self._history_done.set()
            self._signal_ready()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if not self._stop.is_set():
            self.log.info("%s: %d partitions revoked by the group coordinator", self.name, len(partitions))
        consumer.unassign()

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.log.warning(
            "%s: %d partitions lost (consumer group session expired, e.g. the broker was unreachable); "
            "they will be re-assigned and reading continues where it stopped",
            self.name,
            len(partitions),
        )
        consumer.unassign()
