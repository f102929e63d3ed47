"""Interoperability with the reference client: confluent-kafka's own
SchemaRegistryClient + AvroDeserializer read what we write, and we read what
its AvroSerializer writes, through a real broker and registry."""

from __future__ import annotations

import asyncio
import json
import logging
import typing

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from lsst.ts import salkit

from lsst.ts.salkit import STD_TIMEOUT, wait_until
from lsst.ts.salkit.kafka import KafkaConfig, KafkaTransport, message_key
from lsst.ts.salkit.transport import ReadTopicSpec


def summary_state_info() -> salkit.TopicInfo:
    return salkit.get_component_info("Test").topics["evt_summaryState"]


async def test_confluent_deserializer_reads_our_events(kafka_env: KafkaConfig) -> None:
    info = summary_state_info()
    transport = KafkaTransport()
    try:
        channel = transport.make_channel(
            component_info=salkit.get_component_info("Test"),
            index=3,
            identity="Test:3",
            receiver=lambda *args: None,
            log=logging.getLogger("interop"),
        )
        await channel.start([], [info])
        data = info.DataType().get_vars()
        data.update(salIndex=3, summaryState=2, private_seqNum=17, private_identity="Test:3")
        await channel.write(info.sal_name, data)
        await channel.close()
    finally:
        await transport.close()

    kafka_topic = transport.kafka_topic(info)
    registry = SchemaRegistryClient({"url": kafka_env.schema_registry_url})
    deserializer = AvroDeserializer(registry, json.dumps(info.avro_schema))
    consumer = Consumer(kafka_env.consumer_config("interop-reader"))
    consumer.assign([TopicPartition(kafka_topic, 0, 0)])
    try:
        message = await asyncio.to_thread(consumer.poll, STD_TIMEOUT)
    finally:
        consumer.close()
    assert message is not None and message.error() is None
    decoded = deserializer(message.value(), SerializationContext(kafka_topic, MessageField.VALUE))
    assert decoded == data
    assert message.key() == b'{ "name": "Test", "index": 3, "topic": "logevent_summaryState" }'


async def test_we_read_what_confluents_serializer_writes(kafka_env: KafkaConfig) -> None:
    info = summary_state_info()
    received: list[tuple[str, dict[str, typing.Any], bool]] = []
    transport = KafkaTransport()
    try:
        channel = transport.make_channel(
            component_info=salkit.get_component_info("Test"),
            index=0,
            identity="reader",
            receiver=lambda *args: received.append(args),
            log=logging.getLogger("interop"),
        )
        await channel.start([ReadTopicSpec(info, 1)], [])
        kafka_topic = transport.kafka_topic(info)
        registry = SchemaRegistryClient({"url": kafka_env.schema_registry_url})
        serializer = AvroSerializer(
            registry, json.dumps(info.avro_schema), conf={"auto.register.schemas": True}
        )
        data = info.DataType().get_vars()
        data.update(salIndex=7, summaryState=4, private_origin=1234, private_identity="someone@somewhere")
        producer = Producer(kafka_env.producer_config())
        producer.produce(
            kafka_topic,
            key=message_key("Test", 7, info.sal_name, indexed=True),
            value=serializer(data, SerializationContext(kafka_topic, MessageField.VALUE)),
        )
        await asyncio.to_thread(producer.flush, STD_TIMEOUT)
        await wait_until(lambda: received, what="the sample written by confluent-kafka")
        assert [(name, sample) for name, sample, _ in received] == [(info.sal_name, data)]
    finally:
        await transport.close()
