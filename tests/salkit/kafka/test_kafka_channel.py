"""The Kafka transport at the Channel level, on tansu: what goes on the wire
(keys, framing), delivery, and history for late joiners."""

from __future__ import annotations

import asyncio
import collections.abc
import json
import logging
import typing

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from lsst.ts import salkit

from lsst.ts.salkit import STD_TIMEOUT, wait_until
from lsst.ts.salkit.kafka import (
    KafkaChannel,
    KafkaConfig,
    KafkaTransport,
    SchemaRegistryClient,
    TopicCodec,
    split_frame,
)
from lsst.ts.salkit.transport import ReadTopicSpec, TransportError, make_transport

Received = list[tuple[str, dict[str, typing.Any], bool]]


def topic(attr_name: str) -> salkit.TopicInfo:
    return salkit.get_component_info("Test").topics[attr_name]


def sample(attr_name: str, **values: typing.Any) -> dict[str, typing.Any]:
    data = topic(attr_name).DataType().get_vars()
    data.update(values)
    return data


def make_channel(transport: salkit.Transport, index: int, received: Received) -> salkit.Channel:
    def receiver(sal_name: str, data: dict[str, typing.Any], is_history: bool) -> None:
        received.append((sal_name, data, is_history))

    return transport.make_channel(
        component_info=salkit.get_component_info("Test"),
        index=index,
        identity=f"Test:{index}",
        receiver=receiver,
        log=logging.getLogger("test_kafka_channel"),
    )


async def wait_for(received: Received, count: int) -> None:
    await wait_until(lambda: len(received) >= count, what=f"{count} samples received")


@pytest.fixture
async def transports(kafka_env: KafkaConfig) -> collections.abc.AsyncIterator[list[KafkaTransport]]:
    """Transports to use in a test; all closed at the end."""
    made: list[KafkaTransport] = []
    yield made
    for transport in made:
        await transport.close()


def new_transport(made: list[KafkaTransport]) -> KafkaTransport:
    transport = make_transport()
    assert isinstance(transport, KafkaTransport)
    made.append(transport)
    return transport


def raw_messages(config: KafkaConfig, kafka_topic: str, count: int) -> list[typing.Any]:
    """Read the first ``count`` messages of a topic with a plain consumer."""
    consumer = Consumer(config.consumer_config("raw-reader") | {"enable.partition.eof": False})
    consumer.assign([TopicPartition(kafka_topic, 0, 0)])
    messages = []
    try:
        while len(messages) < count:
            message = consumer.poll(STD_TIMEOUT)
            assert message is not None, f"only {len(messages)} of {count} messages in {kafka_topic}"
            assert message.error() is None
            messages.append(message)
    finally:
        consumer.close()
    return messages


async def test_transport_is_selected_by_environment_and_needs_subname(
    kafka_env: KafkaConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = make_transport()
    assert isinstance(transport, KafkaTransport)
    assert transport.topic_subname == kafka_env.topic_subname
    await transport.close()
    monkeypatch.delenv("LSST_TOPIC_SUBNAME")
    with pytest.raises(TransportError, match="LSST_TOPIC_SUBNAME"):
        make_transport()


async def test_wire_format_keys_framing_and_schema_subjects(
    kafka_env: KafkaConfig, transports: list[KafkaTransport]
) -> None:
    writer = make_channel(new_transport(transports), 5, [])
    infos = [topic("evt_scalars"), topic("tel_scalars"), topic("cmd_setScalars"), topic("ack_ackcmd")]
    await writer.start([], infos)
    await writer.write("logevent_scalars", sample("evt_scalars", salIndex=5, int0=7, string0="evt"))
    await writer.write("scalars", sample("tel_scalars", salIndex=5, int0=8))
    await writer.write("command_setScalars", sample("cmd_setScalars", salIndex=5, private_seqNum=3))
    await writer.write("ackcmd", sample("ack_ackcmd", salIndex=5, ack=303))
    prefix = f"lsst.{kafka_env.topic_subname}.Test."
    registry = SchemaRegistryClient(kafka_env.schema_registry_url)
    expected_keys = {
        "logevent_scalars": b'{ "name": "Test", "index": 5, "topic": "logevent_scalars" }',
        "scalars": b"",
        "command_setScalars": b'{ "name": "Test", "index": 5, "topic": "command_setScalars" }',
        "ackcmd": b'{ "name": "Test", "index": 5, "topic": "ackcmd" }',
    }
    for info in infos:
        kafka_topic = prefix + info.sal_name
        (message,) = await asyncio.to_thread(raw_messages, kafka_env, kafka_topic, 1)
        assert message.key() == expected_keys[info.sal_name]
        assert not message.headers()
        schema_id, _ = split_frame(message.value())
        assert registry.get_schema(schema_id) == json.loads(json.dumps(info.avro_schema))
        assert kafka_topic + "-value" in registry.get_subjects()
        codec = TopicCodec(kafka_topic, info.avro_schema)
        decoded = codec.decode(message.value(), registry)
        assert decoded["salIndex"] == 5


async def test_samples_flow_between_transports_in_order(transports: list[KafkaTransport]) -> None:
    received: Received = []
    reader = make_channel(new_transport(transports), 0, received)
    writer = make_channel(new_transport(transports), 1, [])
    await reader.start([ReadTopicSpec(topic("tel_arrays")), ReadTopicSpec(topic("evt_arrays"), 1)], [])
    await writer.start([], [topic("tel_arrays"), topic("evt_arrays")])
    for i in range(50):
        await writer.write("arrays", sample("tel_arrays", salIndex=1, int0=[i, i + 1, 0, 0, 0]))
    await writer.write("logevent_arrays", sample("evt_arrays", salIndex=1, double0=[1.5] * 5))
    await wait_for(received, 51)
    telemetry = [data["int0"][0] for name, data, _ in received if name == "arrays"]
    assert telemetry == list(range(50))
    assert [data["double0"] for name, data, _ in received if name == "logevent_arrays"] == [[1.5] * 5]
    assert not any(is_history for _, _, is_history in received)


async def test_late_joiner_gets_last_event_but_no_commands_or_telemetry(
    transports: list[KafkaTransport],
) -> None:
    writer_transport = new_transport(transports)
    writer = make_channel(writer_transport, 0, [])
    await writer.start([], [topic("evt_scalars"), topic("tel_scalars"), topic("cmd_setScalars")])
    for i in range(5):
        await writer.write("logevent_scalars", sample("evt_scalars", int0=i))
        await writer.write("scalars", sample("tel_scalars", int0=i))
        await writer.write("command_setScalars", sample("cmd_setScalars", int0=i, private_seqNum=i + 1))
    await writer_transport.flush()

    received: Received = []
    reader = make_channel(new_transport(transports), 0, received)
    await reader.start(
        [
            ReadTopicSpec(topic("evt_scalars"), 1),
            ReadTopicSpec(topic("tel_scalars")),
            ReadTopicSpec(topic("cmd_setScalars")),
        ],
        [],
    )
    # History is delivered before start returns.
    assert [(name, data["int0"], hist) for name, data, hist in received] == [("logevent_scalars", 4, True)]
    await writer.write("scalars", sample("tel_scalars", int0=99))
    await wait_for(received, 2)
    assert [(name, data["int0"], hist) for name, data, hist in received[1:]] == [("scalars", 99, False)]


async def test_late_joiner_of_indexed_component_gets_last_event_per_index(
    transports: list[KafkaTransport],
) -> None:
    writer_transport = new_transport(transports)
    writers = {index: make_channel(writer_transport, index, []) for index in (1, 2, 3)}
    for writer in writers.values():
        await writer.start([], [topic("evt_scalars")])
    for value, index in enumerate([1, 2, 1, 3, 2, 1]):
        await writers[index].write("logevent_scalars", sample("evt_scalars", salIndex=index, int0=value))
        await writer_transport.flush()
    received: Received = []
    reader = make_channel(new_transport(transports), 0, received)
    await reader.start([ReadTopicSpec(topic("evt_scalars"), 500)], [])
    assert [(data["salIndex"], data["int0"], hist) for _, data, hist in received] == [
        (3, 3, True),
        (2, 4, True),
        (1, 5, True),
    ]


async def test_late_joiner_is_right_when_the_producer_batched_records(kafka_env: KafkaConfig) -> None:
    # tansu's ListOffsets answers "base of the last batch + 1" for batched records.
    transport = KafkaTransport()
    try:
        writer = make_channel(transport, 0, [])
        await writer.start([], [topic("evt_scalars"), topic("cmd_setScalars")])
        info = topic("evt_scalars")
        codec = TopicCodec(transport.kafka_topic(info), info.avro_schema)
        codec.schema_id = transport.registry.register(codec.subject, info.avro_schema)
        command = topic("cmd_setScalars")
        command_codec = TopicCodec(transport.kafka_topic(command), command.avro_schema)
        command_codec.schema_id = transport.registry.register(command_codec.subject, command.avro_schema)
        producer = Producer(kafka_env.producer_config() | {"linger.ms": 50})
        for i in range(20):
            producer.produce(codec.kafka_topic, key="k", value=codec.encode(sample("evt_scalars", int0=i)))
            producer.produce(
                command_codec.kafka_topic,
                key="k",
                value=command_codec.encode(sample("cmd_setScalars", int0=i, private_seqNum=i + 1)),
            )
        producer.flush(10)

        received: Received = []
        reader = make_channel(transport, 0, received)
        await reader.start([ReadTopicSpec(info, 1), ReadTopicSpec(command)], [])
        assert [(name, data["int0"]) for name, data, _ in received] == [("logevent_scalars", 19)]
        for seq_num in (100, 101):
            await writer.write(
                "command_setScalars", sample("cmd_setScalars", int0=seq_num, private_seqNum=seq_num)
            )
        await wait_for(received, 3)
        # Old commands from the batch are not delivered as new data: the two new ones come next.
        assert [(name, data["int0"]) for name, data, _ in received[1:]] == [
            ("command_setScalars", 100),
            ("command_setScalars", 101),
        ]
    finally:
        await transport.close()


async def test_undecodable_messages_are_skipped_and_logged(
    kafka_env: KafkaConfig, transports: list[KafkaTransport], caplog: pytest.LogCaptureFixture
) -> None:
    received: Received = []
    transport = new_transport(transports)
    reader = make_channel(transport, 0, received)
    await reader.start([ReadTopicSpec(topic("tel_scalars"))], [])
    writer = make_channel(new_transport(transports), 0, [])
    await writer.start([], [topic("tel_scalars")])
    producer = Producer(kafka_env.producer_config())
    kafka_topic = transport.kafka_topic(topic("tel_scalars"))
    with caplog.at_level(logging.ERROR):
        producer.produce(kafka_topic, value=b"not avro at all")
        producer.produce(kafka_topic, value=b"\x00\x00\x00\x00\x01\xff")
        producer.flush(10)
        await writer.write("scalars", sample("tel_scalars", int0=5))
        await wait_for(received, 1)
    assert [data["int0"] for _, data, _ in received] == [5]
    assert any("could not be decoded" in record.getMessage() for record in caplog.records)


async def test_write_errors_are_transport_errors(transports: list[KafkaTransport]) -> None:
    writer = make_channel(new_transport(transports), 0, [])
    with pytest.raises(TransportError, match="not a write topic"):
        await writer.write("scalars", sample("tel_scalars"))
    await writer.start([], [topic("tel_scalars")])
    with pytest.raises(TransportError, match="Cannot serialize"):
        await writer.write("scalars", sample("tel_scalars", int0="not an int"))
    await writer.close()
    with pytest.raises(TransportError, match="closed"):
        await writer.write("scalars", sample("tel_scalars"))


async def test_each_channel_has_its_own_consumer_group_deleted_on_close(
    kafka_env: KafkaConfig, transports: list[KafkaTransport], caplog: pytest.LogCaptureFixture
) -> None:
    transport = new_transport(transports)
    first = make_channel(transport, 1, [])
    second = make_channel(transport, 1, [])
    assert isinstance(first, KafkaChannel) and isinstance(second, KafkaChannel)
    # salobj's form when the identity is Name:index: "{Name:index}-{16 random characters}".
    assert first.group_id.startswith("Test:1-") and len(first.group_id) == len("Test:1-") + 16
    assert first.group_id != second.group_id
    await first.start([ReadTopicSpec(topic("tel_scalars"))], [])
    await second.start([ReadTopicSpec(topic("tel_scalars"))], [])
    admin = AdminClient(kafka_env.common_client_config())

    def group_states() -> dict[str, ConsumerGroupState]:
        futures = admin.describe_consumer_groups([first.group_id, second.group_id])
        return {group_id: future.result(timeout=STD_TIMEOUT).state for group_id, future in futures.items()}

    states = await asyncio.to_thread(group_states)
    assert states == {first.group_id: ConsumerGroupState.STABLE, second.group_id: ConsumerGroupState.STABLE}
    with caplog.at_level(logging.WARNING):
        await first.close()
    assert not [record for record in caplog.records if "consumer group" in record.getMessage()]
    states = await asyncio.to_thread(group_states)
    # tansu reports a deleted group as EMPTY, Kafka as DEAD.
    assert states[first.group_id] in (ConsumerGroupState.EMPTY, ConsumerGroupState.DEAD)
    assert states[second.group_id] == ConsumerGroupState.STABLE


async def test_reader_resolves_a_newer_writer_schema_from_the_registry(
    kafka_env: KafkaConfig, transports: list[KafkaTransport]
) -> None:
    info = topic("evt_scalars")
    received: Received = []
    transport = new_transport(transports)
    reader = make_channel(transport, 0, received)
    await reader.start([ReadTopicSpec(info, 1)], [])
    # A newer version of the topic, as a later interface release would register it.
    newer = json.loads(json.dumps(info.avro_schema))
    newer["fields"] = [field for field in newer["fields"] if field["name"] != "double0"]
    newer["fields"].append({"name": "addedLater", "type": "string", "default": ""})
    codec = TopicCodec(transport.kafka_topic(info), newer)
    codec.schema_id = SchemaRegistryClient(kafka_env.schema_registry_url).register(codec.subject, newer)
    record = {field["name"]: field["default"] for field in newer["fields"]}
    record.update(int0=77, addedLater="ignored by older readers")
    producer = Producer(kafka_env.producer_config())
    producer.produce(codec.kafka_topic, key="k", value=codec.encode(record))
    await asyncio.to_thread(producer.flush, STD_TIMEOUT)
    await wait_for(received, 1)
    (_, data, _), *_ = received
    assert data["int0"] == 77 and data["double0"] == 0.0 and "addedLater" not in data
