"""The producer shared by the channels of one Kafka transport.

``produce`` only queues the message in librdkafka (linger 0, so its I/O
thread sends it at once); a background thread serves delivery reports every
25 ms, as salobj's flush loop does. Writers therefore never block the event
loop. Delivery failures are logged (first in full per topic, then one line
every 10), never silently dropped; connection loss and recovery are logged
once each.
"""

from __future__ import annotations

__all__ = ["BrokerConnectionMonitor", "SharedProducer"]

import logging
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from ..transport.base import TransportError
from .config import KafkaConfig

#: librdkafka's own log lines (connection failures, retries) go to this logger instead of
#: stderr, so they reach the CSC's log handling and can be filtered by level.
LIBRDKAFKA_LOG = logging.getLogger("lsst.ts.salkit.kafka.librdkafka")

#: How often delivery reports are served (salobj: 25 ms).
FLUSH_PERIOD = 0.025

#: How long a write waits for room in a full librdkafka queue.
QUEUE_FULL_TIMEOUT = 10.0

_DOWN_CODES = frozenset({KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE})


class BrokerConnectionMonitor:
    """Turn librdkafka's error callbacks into one "lost" and one
    "restored" log message per outage.

    Parameters
    ----------
    client_name : `str`
        What is connected ("producer", "consumer of Test:1").
    broker_addr : `str`
        The bootstrap servers (for the message).
    log : `logging.Logger`
        Where to log.
    """

    def __init__(self, client_name: str, broker_addr: str, log: logging.Logger) -> None:
        self.client_name = client_name
        self.broker_addr = broker_addr
        self.log = log
        self.down_since: float | None = None
        self.lock = threading.Lock()

    def on_error(self, error: KafkaError) -> None:
        """librdkafka ``error_cb``."""
        if error.code() in _DOWN_CODES:
            with self.lock:
                if self.down_since is not None:
                    return
                self.down_since = time.monotonic()
            self.log.warning(
                "Kafka %s lost its connection to the broker at %s (%s). It keeps retrying: "
                "reads resume and queued writes are sent when the broker is back "
                "(writes still undelivered after message.timeout.ms are reported as failed).",
                self.client_name,
                self.broker_addr,
                error.str(),
            )
        elif error.fatal():
            self.log.error("Kafka %s fatal error: %s", self.client_name, error.str())
        else:
            self.log.warning("Kafka %s error: %s", self.client_name, error.str())

    def on_success(self) -> None:
        """Call when something went through (a delivery, a fetched message)."""
        if self.down_since is None:
            return
        with self.lock:
            down_since, self.down_since = self.down_since, None
        if down_since is not None:
            self.log.warning(
                "Kafka %s is connected to the broker at %s again after %.1f s.",
                self.client_name,
                self.broker_addr,
                time.monotonic() - down_since,
            )


class SharedProducer:
    """One librdkafka producer plus its delivery-report thread.

    Parameters
    ----------
    config : `KafkaConfig`
        Producer settings come from `KafkaConfig.producer_config`.
    log : `logging.Logger`
        Where problems are logged.
    """

    def __init__(self, config: KafkaConfig, log: logging.Logger) -> None:
        self.log = log
        self.monitor = BrokerConnectionMonitor("producer", config.broker_addr, log)
        settings: dict[str, Any] = config.producer_config()
        settings["error_cb"] = self.monitor.on_error
        settings.setdefault("logger", LIBRDKAFKA_LOG)
        self._producer = Producer(settings)
        self._failures: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush_loop, name="salkit-kafka-flush", daemon=True)
        self._thread.start()
        self.delivered = 0

    def warm_up(self, topics: list[str], timeout: float = 5.0) -> None:
        """Fetch the broker's metadata so the first write to each of
        ``topics`` is not delayed by a metadata request (blocking; salobj
        asks per topic, one request for all is enough)."""
        try:
            metadata = self._producer.list_topics(timeout=timeout)
        except KafkaException as e:
            self.log.warning("Could not fetch the broker's metadata before writing: %s", e)
            return
        missing = sorted(set(topics) - set(metadata.topics))
        if missing:
            self.log.warning(
                "%d topics to write are not known to the broker yet, e.g. %s", len(missing), missing[0]
            )

    def try_produce(self, topic: str, key: str, value: bytes) -> bool:
        """Queue one message without blocking; return False if librdkafka's
        queue is full (then call `produce` in a thread).

        Raises
        ------
        TransportError
            If librdkafka refuses the message.
        """
        try:
            self._producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery)
        except BufferError:
            return False
        except KafkaException as e:
            raise TransportError(f"cannot write to {topic}: {e}") from e
        return True

    def produce(self, topic: str, key: str, value: bytes) -> None:
        """Queue one message, waiting (blocking) while librdkafka's queue is full.

        Raises
        ------
        TransportError
            If the queue stays full for `QUEUE_FULL_TIMEOUT` seconds (the
            broker has been unreachable for a long time) or librdkafka
            refuses the message.
        """
        deadline: float | None = None
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery)
                return
            except BufferError:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + QUEUE_FULL_TIMEOUT
                elif now > deadline:
                    raise TransportError(
                        f"cannot write to {topic}: the producer queue has been full for "
                        f"{QUEUE_FULL_TIMEOUT} s (is the broker reachable?)"
                    ) from None
                self._producer.poll(0.01)
            except KafkaException as e:
                raise TransportError(f"cannot write to {topic}: {e}") from e

    def pending(self) -> int:
        """Number of messages not yet delivered."""
        return len(self._producer)

    def flush(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for delivery; return how many
        messages are still undelivered (blocking)."""
        return int(self._producer.flush(timeout))

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout`` s) and stop the thread."""
        self._stop.set()
        self._thread.join(timeout=1.0)
        undelivered = self.flush(timeout)
        if undelivered:
            self.log.error(
                "Closing the Kafka producer with %d messages undelivered after %.1f s", undelivered, timeout
            )

    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._producer.poll(FLUSH_PERIOD)
            except Exception:
                self.log.exception("Kafka producer delivery-report loop error")
                time.sleep(FLUSH_PERIOD)

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            self.delivered += 1
            self.monitor.on_success()
            return
        topic = message.topic() or "?"
        count = self._failures.get(topic, 0) + 1
        self._failures[topic] = count
        if count == 1:
            self.log.error(
                "A message written to %s was not delivered: %s. The sample is lost; "
                "further failures on this topic are summarised every 10.",
                topic,
                error.str(),
            )
        elif count % 10 == 0:
            self.log.error(
                "%d messages written to %s were not delivered; latest: %s", count, topic, error.str()
            )
