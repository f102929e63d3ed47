"""S3 bucket notifications for Prompt Processing and the sinks they go to.

`bucket_notification` builds the JSON Prompt Processing (and ctrl_oods'
message ingester) consume: ``Records[].eventName``,
``Records[].s3.bucket.name``, ``Records[].s3.object.key``, ``size``,
``eTag``. A `NotificationSink` sends it somewhere: `DirectorySink` writes one
JSON file per notification (the default); `KafkaSink` produces one message
per notification to a Kafka topic (value the JSON, key the object key) and
waits for the brokers' acknowledgement. ``send`` blocks in both; the
delivery service calls it from its I/O threads.
"""

from __future__ import annotations

__all__ = ["DirectorySink", "KafkaSink", "NotificationSink", "bucket_notification", "make_sink"]

import datetime
import itertools
import json
import logging
import os
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from .config import KAFKA_RESERVED_SETTINGS, NotificationConfig
from .errors import DestinationConfigError, NotificationSinkError
from .transfer import TransferResult

_librdkafka_log = logging.getLogger(__name__ + ".librdkafka")
"""librdkafka's own messages (connection failures while brokers are down...)."""

_REPORT_MARGIN = 5.0
"""Seconds `KafkaSink.send` waits past ``delivery_timeout`` for librdkafka's report."""


def bucket_notification(
    result: TransferResult,
    *,
    event_name: str = "ObjectCreated:Put",
    configuration_id: str = "",
    now: float | None = None,
) -> dict[str, Any]:
    """Build the S3 bucket-notification JSON of one delivered object.

    For a non-S3 destination the bucket name is empty and the key is the
    full path.
    """
    parsed = urllib.parse.urlsplit(result.uri)
    if parsed.scheme == "s3":
        bucket = parsed.netloc.rsplit("@", 1)[-1]
        key = parsed.path.lstrip("/")
    else:
        bucket = ""
        key = urllib.parse.unquote(parsed.path)
    when = (
        datetime.datetime.fromtimestamp(now, datetime.UTC)
        if now is not None
        else datetime.datetime.now(datetime.UTC)
    )
    return {
        "Records": [
            {
                "eventVersion": "2.2",
                "eventSource": "ts_archiver:s3",
                "eventTime": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "eventName": event_name,
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id,
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": result.size, "eTag": result.etag or ""},
                },
            }
        ]
    }


class NotificationSink(Protocol):
    """Where notifications go. ``send`` blocks; it is called from a worker thread."""

    def send(self, notification: dict[str, Any]) -> None:
        """Deliver one notification or raise."""


class DirectorySink:
    """Write each notification to its own JSON file (atomic: temp + rename).

    Parameters
    ----------
    directory : `str`
        Existing directory.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def send(self, notification: dict[str, Any]) -> None:
        """Write ``<time_ns>_<n>.json``."""
        if not os.path.isdir(self.directory):
            raise FileNotFoundError(f"Notification directory {self.directory} does not exist")
        with self._lock:
            n = next(self._counter)
        name = f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S%f}_{os.getpid()}_{n:08d}.json"
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(notification, out)
            os.replace(temp, os.path.join(self.directory, name))
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise


class KafkaSink:
    """Produce each notification as one message to a Kafka topic.

    The value is the notification JSON (UTF-8, no schema registry framing:
    Prompt Processing reads plain JSON); the key is the object key, so the
    notifications of one object stay in order on one partition. The producer
    uses ``acks=all`` and idempotence, and `send` returns only once the
    message is acknowledged.

    Parameters
    ----------
    bootstrap_servers : `str`
        ``host:port[,host:port...]`` of the brokers.
    topic : `str`
        Topic to produce to. It must exist: the producer does not ask the
        brokers to create it (``allow.auto.create.topics`` false unless
        ``client_config`` says otherwise), so a missing topic is a delivery
        failure, retried until someone creates it.
    client_config : `~collections.abc.Mapping`, optional
        Extra librdkafka producer settings (security, SASL, TLS...); not
        those in `KAFKA_RESERVED_SETTINGS`.
    delivery_timeout : `float`, optional
        Seconds a message may take to be acknowledged (librdkafka's
        ``message.timeout.ms``); past it `send` raises.
    log : `logging.Logger`, optional
        Parent logger (e.g. a child of the CSC's log); librdkafka's own
        messages go to its child ``KafkaSink.librdkafka``. Default: the
        ``lsst.ts.archiver.delivery.notifications.librdkafka`` logger.

    Raises
    ------
    DestinationConfigError
        If ``client_config`` sets a reserved setting.

    Notes
    -----
    Delivery is at least once: a retried delivery attempt sends the
    notifications of its files again. `send` blocks (up to
    ``delivery_timeout`` plus a few seconds) and is safe to call from several
    threads at once; the producer is created on the first `send` (creating
    it starts librdkafka's threads but does not block). Call `close` when
    done.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        *,
        client_config: Mapping[str, str | int | float | bool] | None = None,
        delivery_timeout: float = 30.0,
        log: logging.Logger | None = None,
    ) -> None:
        reserved = sorted(KAFKA_RESERVED_SETTINGS & set(client_config or {}))
        if reserved:
            raise DestinationConfigError(f"Kafka notification sink: client_config may not set {reserved}")
        if delivery_timeout <= 0:
            raise DestinationConfigError(
                f"Kafka notification sink: delivery_timeout {delivery_timeout} must be positive"
            )
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.delivery_timeout = delivery_timeout
        # A topic nobody created has no reader; do not let the brokers
        # create it (client_config may allow it).
        self.librdkafka_log = (
            _librdkafka_log if log is None else log.getChild(f"{type(self).__name__}.librdkafka")
        )
        self.settings: dict[str, Any] = {"allow.auto.create.topics": False, "logger": self.librdkafka_log}
        self.settings.update(client_config or {})
        self.settings.update(
            {
                "bootstrap.servers": bootstrap_servers,
                "acks": "all",
                "enable.idempotence": True,
                "message.timeout.ms": max(1, round(delivery_timeout * 1000)),
            }
        )
        self._producer: Producer | None = None
        self._lock = threading.Lock()

    def _get_producer(self) -> Producer:
        with self._lock:
            if self._producer is None:
                try:
                    self._producer = Producer(self.settings)
                except KafkaException as e:
                    raise NotificationSinkError(
                        f"Cannot create a Kafka producer for {self.bootstrap_servers}: {e}"
                    ) from e
            return self._producer

    def send(self, notification: dict[str, Any]) -> None:
        """Produce one notification and wait until the brokers acknowledge it
        (blocking, up to ``delivery_timeout`` plus a few seconds).

        Raises
        ------
        NotificationSinkError
            If the message is refused, not acknowledged in time (brokers
            down, topic missing) or fails; the caller retries.
        """
        key = _object_key(notification)
        value = json.dumps(notification, separators=(",", ":")).encode()
        done = threading.Event()
        outcome: list[KafkaError | None] = []

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            outcome.append(error)
            done.set()

        producer = self._get_producer()
        where = f"Kafka topic {self.topic!r} at {self.bootstrap_servers}"
        try:
            producer.produce(self.topic, value=value, key=key.encode(), on_delivery=on_delivery)
        except (KafkaException, BufferError) as e:
            raise NotificationSinkError(
                f"Notification of {key!r} refused by the producer for {where}: {e}"
            ) from e
        # librdkafka reports every message once message.timeout.ms is over
        # (it scans for expired messages about once a second); the margin
        # covers that. Any thread's poll may serve our callback, so poll in
        # short steps.
        deadline = time.monotonic() + self.delivery_timeout + _REPORT_MARGIN
        while not done.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotificationSinkError(
                    f"Notification of {key!r} to {where} not acknowledged within "
                    f"{self.delivery_timeout + _REPORT_MARGIN:.1f} s"
                )
            producer.poll(min(0.05, remaining))
        error = outcome[0]
        if error is not None:
            raise NotificationSinkError(
                f"Notification of {key!r} to {where} failed: {error.str()} ({error.name()}); "
                "check that the brokers are up and the topic exists"
            )

    def close(self, timeout: float = 5.0) -> None:
        """Wait up to ``timeout`` s for messages in flight, then drop the producer."""
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.flush(timeout)


def _object_key(notification: Mapping[str, Any]) -> str:
    try:
        return str(notification["Records"][0]["s3"]["object"]["key"])
    except (KeyError, IndexError, TypeError) as e:
        raise NotificationSinkError(
            f"Not a bucket notification (no Records[0].s3.object.key): {str(notification)[:200]}"
        ) from e


def make_sink(config: NotificationConfig, *, log: logging.Logger | None = None) -> NotificationSink:
    """Build the sink a configuration names (``log``: parent logger of a sink that logs).

    Raises
    ------
    DestinationConfigError
        For an unknown sink kind or a missing field.
    """
    if config.kind == "directory" and config.directory:
        return DirectorySink(config.directory)
    if config.kind == "kafka" and config.bootstrap_servers and config.topic:
        return KafkaSink(
            config.bootstrap_servers,
            config.topic,
            client_config=config.client_config,
            delivery_timeout=config.delivery_timeout,
            log=log,
        )
    raise DestinationConfigError(
        f"Notification sink {config.kind!r} is unknown or incomplete: use kind 'directory' with "
        "directory, or kind 'kafka' with bootstrap_servers and topic"
    )
