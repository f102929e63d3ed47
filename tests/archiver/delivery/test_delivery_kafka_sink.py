"""Prompt Processing notifications to a real Kafka-protocol broker (tansu):
message shape, delivery through the service, broker outages, configuration."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from delivery_test_support import Exposure, RecordingHandler, destination, ledger_runner, make_service, submit

from lsst.ts.archiver.delivery import (
    DestinationConfig,
    DestinationConfigError,
    KafkaSink,
    NotificationSinkError,
    TransferResult,
    bucket_notification,
    make_sink,
)
from lsst.ts.archiver.ledger import DeliveryStatus, Ledger
from lsst.ts.salkit.kafka.local_servers import ServerProcess, free_port, start_tansu

TOPIC = "rubin-prompt-processing"


@pytest.fixture
def brokers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """A tansu broker of this test on a free loopback port (the last one of
    the list is current; tests may stop it and start another on its port)."""
    started = [start_tansu(log_path=tmp_path / "tansu.log")]
    yield started
    for broker in started:
        broker.stop()


def create_topic(address: str, topic: str = TOPIC) -> None:
    """Create ``topic`` and wait until the broker lists it."""
    admin = AdminClient({"bootstrap.servers": address})
    for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        future.result(timeout=10)
    deadline = time.monotonic() + 10
    while topic not in admin.list_topics(timeout=5).topics:
        assert time.monotonic() < deadline, f"topic {topic} not listed"
        time.sleep(0.05)


def read_topic(address: str, count: int, topic: str = TOPIC, timeout: float = 20.0) -> list[tuple[str, Any]]:
    """Read ``count`` messages from the start of ``topic``: (key, decoded JSON value)."""
    consumer = Consumer(
        {"bootstrap.servers": address, "group.id": "test-reader", "enable.auto.commit": False}
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        messages: list[tuple[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            assert message.error() is None, message.error()
            key, value = message.key(), message.value()
            assert key is not None and value is not None
            messages.append((key.decode(), json.loads(value)))
        return messages
    finally:
        consumer.close()


def note_for(key: str, size: int = 10) -> dict[str, Any]:
    result = TransferResult(uri=f"s3://rubin-embargo/{key}", key=key, size=size, checksum="md5:00", etag="00")
    return bucket_notification(result, configuration_id="prompt")


def kafka_prompt_destination(target: Path, address: str, **extra: Any) -> DestinationConfig:
    return destination(
        "prompt",
        "prompt",
        str(target),
        notifications={"kind": "kafka", "bootstrap_servers": address, "topic": TOPIC, **extra},
    )


def test_kafka_sink_produces_the_json_keyed_by_object_key(brokers: list[ServerProcess]) -> None:
    address = brokers[-1].address
    create_topic(address)
    sink = KafkaSink(address, TOPIC, delivery_timeout=10)
    keys = [f"LSSTCam/20261123/MC_O_20261123_000001/MC_O_20261123_000001_R22_S{n}.fits" for n in range(12)]
    notes = {key: note_for(key, size=n) for n, key in enumerate(keys)}
    errors: list[BaseException] = []

    def send_some(chunk: list[str]) -> None:
        try:
            for key in chunk:
                sink.send(notes[key])
        except BaseException as e:
            errors.append(e)

    # The service calls send from several I/O threads at once.
    threads = [threading.Thread(target=send_some, args=(keys[i::3],)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    sink.close()
    assert errors == []
    received = read_topic(address, len(keys))
    assert sorted(key for key, _ in received) == sorted(keys)
    for key, value in received:
        assert value == notes[key]
        assert value["Records"][0]["s3"]["object"]["key"] == key


async def test_notifications_of_a_delivered_exposure_arrive_on_the_topic(
    brokers: list[ServerProcess],
    tmp_path: Path,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
) -> None:
    address = brokers[-1].address
    create_topic(address)
    (tmp_path / "prompt").mkdir()
    exposure = exposure_factory(detectors=["R22_S11", "R22_S12"])
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(
            runner, [kafka_prompt_destination(tmp_path / "prompt", address)], results
        ) as service:
            await submit(service, exposure)
            await service.wait_until_idle(60)
    prefix = tmp_path / "prompt" / exposure.instrument / str(exposure.day_obs) / exposure.obsid
    delivered = {
        str(prefix / name): (prefix / name).stat().st_size
        for name in [p.name for p in exposure.files.values()]
        + [p.with_suffix(".json").name for p in exposure.files.values()]
        + [exposure.manifest.name]
    }
    received = await asyncio.to_thread(read_topic, address, len(delivered))
    assert sorted(key for key, _ in received) == sorted(delivered)
    for key, value in received:
        (record,) = value["Records"]
        assert record["eventName"] == "ObjectCreated:Put"
        assert record["s3"]["configurationId"] == "prompt"
        assert record["s3"]["bucket"]["name"] == ""  # a local target has no bucket
        assert record["s3"]["object"]["key"] == key
        assert record["s3"]["object"]["size"] == delivered[key]
    assert {r.status for r in results["files"]} == {DeliveryStatus.OK}


def test_unreachable_broker_is_a_clear_error(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens here
    sink = KafkaSink(address, TOPIC, delivery_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(NotificationSinkError, match=f"'{TOPIC}' at {address}") as raised:
        sink.send(note_for("LSSTCam/20261123/x/x_R22_S11.fits"))
    assert "x_R22_S11.fits" in str(raised.value)
    assert time.monotonic() - started < 10
    sink.close(timeout=0)


def test_missing_topic_is_a_clear_error_and_not_created(brokers: list[ServerProcess]) -> None:
    address = brokers[-1].address
    sink = KafkaSink(address, "no-such-topic", delivery_timeout=1)
    with pytest.raises(NotificationSinkError, match="'no-such-topic'.*topic exists"):
        sink.send(note_for("LSSTCam/20261123/x/x_R22_S11.fits"))
    sink.close(timeout=0)
    assert "no-such-topic" not in AdminClient({"bootstrap.servers": address}).list_topics(timeout=5).topics


async def test_delivery_is_retried_until_the_broker_is_back(
    brokers: list[ServerProcess],
    tmp_path: Path,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
) -> None:
    first = brokers[-1]
    first.stop()  # down from the start; comes back on the same port
    (tmp_path / "prompt").mkdir()
    exposure = exposure_factory(detectors=["R22_S11"])
    config = kafka_prompt_destination(tmp_path / "prompt", first.address, delivery_timeout=0.5)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, [config], results) as service:
            await submit(service, exposure)

            async def failed_attempts() -> list[str]:
                rows = await asyncio.to_thread(ledger.deliveries, destination="prompt")
                return [r.last_error for r in rows if r.last_error]

            deadline = time.monotonic() + 30
            while not await failed_attempts():
                assert time.monotonic() < deadline, "no failed attempt recorded while the broker is down"
                await asyncio.sleep(0.1)
            errors = await failed_attempts()
            assert all("NotificationSinkError" in e and first.address in e for e in errors), errors
            assert results["files"] == []

            brokers.append(start_tansu(port=first.port, log_path=tmp_path / "tansu2.log"))
            await asyncio.to_thread(create_topic, first.address)
            await service.wait_until_idle(60)
    assert sorted(r.item for r in results["files"]) == ["R22_S11", "expectedSensors"]
    assert {r.status for r in results["files"]} == {DeliveryStatus.OK}
    assert max(r.attempts for r in results["files"]) > 1
    received = await asyncio.to_thread(read_topic, first.address, 3)
    # At least once: every delivered object is announced after the outage.
    prefix = tmp_path / "prompt" / exposure.instrument / str(exposure.day_obs) / exposure.obsid
    path = exposure.files["R22_S11"]
    assert {key for key, _ in received} == {
        str(prefix / path.name),
        str(prefix / path.with_suffix(".json").name),
        str(prefix / exposure.manifest.name),
    }


def test_kafka_notifications_configuration_is_parsed_into_a_sink() -> None:
    config = DestinationConfig.from_dict(
        {
            "name": "prompt",
            "role": "prompt",
            "target": "s3://rubin-embargo",
            "notifications": {
                "kind": "kafka",
                "bootstrap_servers": "kafka-0:9092, [::1]:9093",
                "topic": TOPIC,
                "client_config": {"security.protocol": "SASL_SSL", "socket.timeout.ms": 5000},
                "delivery_timeout": 12.5,
            },
        }
    )
    notes = config.notifications
    assert notes is not None
    assert (notes.kind, notes.topic, notes.delivery_timeout) == ("kafka", TOPIC, 12.5)
    sink = make_sink(notes)
    assert isinstance(sink, KafkaSink)
    assert sink.settings["acks"] == "all" and sink.settings["enable.idempotence"] is True
    assert sink.settings["message.timeout.ms"] == 12500
    assert sink.settings["security.protocol"] == "SASL_SSL"
    assert sink.settings["allow.auto.create.topics"] is False


def prompt_with(notifications: dict[str, Any]) -> dict[str, Any]:
    return {"name": "p", "role": "prompt", "target": "/d", "notifications": notifications}


@pytest.mark.parametrize(
    ("notifications", "message"),
    [
        ({"kind": "kafka", "topic": TOPIC}, "notifications: 'bootstrap_servers' is a required property"),
        ({"kind": "kafka", "bootstrap_servers": "k:9092"}, "notifications: 'topic' is a required property"),
        ({"kind": "directory"}, "notifications: 'directory' is a required property"),
        ({"kind": "sqs", "topic": TOPIC}, "notifications.kind: 'sqs' is not one of"),
        (
            {"kind": "kafka", "bootstrap_servers": "k:9092", "topic": "a/b"},
            "notifications.topic: 'a/b' does not match",
        ),
        ({"kind": "kafka", "bootstrap_servers": "kafka", "topic": TOPIC}, "entry 'kafka' is not host:port"),
        (
            {"kind": "kafka", "bootstrap_servers": "k:9092,k:99999", "topic": TOPIC},
            "entry 'k:99999' is not host:port",
        ),
        (
            {"kind": "kafka", "bootstrap_servers": "k:9092", "topic": ".."},
            "'..' is not a valid Kafka topic name",
        ),
        (
            {"kind": "kafka", "bootstrap_servers": "k:9092", "topic": TOPIC, "client_config": {"acks": "1"}},
            r"client_config may not set \['acks'\]",
        ),
        (
            {"kind": "kafka", "bootstrap_servers": "k:9092", "topic": TOPIC, "client_config": {"x": [1]}},
            r"notifications.client_config.x: \[1\] is not of type",
        ),
        (
            {"kind": "kafka", "bootstrap_servers": "k:9092", "topic": TOPIC, "directory": "/n"},
            r"field\(s\) \['directory'\] belong to kind 'directory', not 'kafka'",
        ),
        (
            {"kind": "directory", "directory": "/n", "topic": TOPIC},
            r"field\(s\) \['topic'\] belong to kind 'kafka', not 'directory'",
        ),
        (
            {"kind": "kafka", "bootstrap_servers": "k:9092", "topic": TOPIC, "delivery_timeout": 0},
            "notifications.delivery_timeout: 0 is less than or equal to the minimum",
        ),
    ],
)
def test_bad_notifications_configuration_is_rejected(notifications: dict[str, Any], message: str) -> None:
    with pytest.raises(DestinationConfigError, match=message):
        DestinationConfig.from_dict(prompt_with(notifications))


def test_kafka_sink_logs_librdkafka_to_a_child_of_the_logger_it_is_given(
    recorded_log: tuple[logging.Logger, RecordingHandler],
) -> None:
    log, _ = recorded_log
    sink = KafkaSink("k:9092", TOPIC, log=log)
    assert sink.settings["logger"] is logging.getLogger(f"{log.name}.KafkaSink.librdkafka")
    default = KafkaSink("k:9092", TOPIC)
    assert default.settings["logger"].name == "lsst.ts.archiver.delivery.notifications.librdkafka"


def test_kafka_sink_refuses_settings_it_controls() -> None:
    with pytest.raises(DestinationConfigError, match=r"may not set \['bootstrap.servers'\]"):
        KafkaSink("k:9092", TOPIC, client_config={"bootstrap.servers": "other:9092"})
