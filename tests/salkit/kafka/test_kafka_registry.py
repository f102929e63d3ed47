"""The development schema registry, our client, and confluent-kafka's
client and Avro serde against it."""

from __future__ import annotations

import collections.abc
import json

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry import SchemaRegistryClient as ConfluentClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError as ConfluentRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext
from lsst.ts import salkit

from lsst.ts.salkit.kafka import SchemaRegistryClient, SchemaRegistryError, TopicCodec
from lsst.ts.salkit.kafka.registry_server import SchemaRegistryServer

pytestmark = pytest.mark.integration  # the development schema registry, a real HTTP server on loopback

SCHEMA_A = {"type": "record", "name": "a", "fields": [{"name": "x", "type": "int", "default": 0}]}
SCHEMA_B = {"type": "record", "name": "a", "fields": [{"name": "y", "type": "string", "default": ""}]}


@pytest.fixture
def registry() -> collections.abc.Iterator[SchemaRegistryServer]:
    with SchemaRegistryServer() as server:
        yield server


def test_register_is_idempotent_and_ids_are_shared_across_subjects(registry: SchemaRegistryServer) -> None:
    client = SchemaRegistryClient(registry.url)
    first = client.register("t1-value", SCHEMA_A)
    assert client.register("t1-value", SCHEMA_A) == first
    # A fresh client (no cache) gets the same id, also with different key order.
    other = SchemaRegistryClient(registry.url)
    reordered = json.loads(json.dumps(SCHEMA_A, sort_keys=True))
    assert other.register("t1-value", reordered) == first
    assert other.register("t2-value", SCHEMA_A) == first
    assert other.register("t1-value", SCHEMA_B) != first
    assert other.get_schema(first) == SCHEMA_A
    assert sorted(other.get_subjects()) == ["t1-value", "t2-value"]
    assert other.delete_subject("t1-value") == [1, 2]
    assert other.get_subjects() == ["t2-value"]


def test_unknown_id_and_bad_url_raise_clear_errors(registry: SchemaRegistryServer) -> None:
    client = SchemaRegistryClient(registry.url)
    with pytest.raises(SchemaRegistryError, match="HTTP 404.*Schema 99 not found") as info:
        client.get_schema(99)
    assert info.value.error_code == 40403
    with pytest.raises(SchemaRegistryError, match="must look like http"):
        SchemaRegistryClient("registry:8081")
    with pytest.raises(SchemaRegistryError, match="cannot reach the schema registry"):
        SchemaRegistryClient("http://127.0.0.1:9", timeout=1).get_schema(1)


def test_confluent_client_speaks_to_the_development_registry(registry: SchemaRegistryServer) -> None:
    client = ConfluentClient({"url": registry.url})
    schema_id = client.register_schema("lsst.x.Test.ackcmd-value", Schema(json.dumps(SCHEMA_A), "AVRO"))
    assert (
        client.register_schema("lsst.x.Test.ackcmd-value", Schema(json.dumps(SCHEMA_A), "AVRO")) == schema_id
    )
    latest = client.get_latest_version("lsst.x.Test.ackcmd-value")
    assert (latest.schema_id, latest.version) == (schema_id, 1)
    assert json.loads(latest.schema.schema_str) == SCHEMA_A
    assert client.get_version("lsst.x.Test.ackcmd-value", 1).schema_id == schema_id
    assert client.get_versions("lsst.x.Test.ackcmd-value") == [1]
    found = client.lookup_schema("lsst.x.Test.ackcmd-value", Schema(json.dumps(SCHEMA_A), "AVRO"))
    assert found.schema_id == schema_id
    assert client.get_subjects() == ["lsst.x.Test.ackcmd-value"]
    assert client.set_compatibility(level="FORWARD") == {"compatibility": "FORWARD"}
    assert client.get_compatibility() == "FORWARD"
    with pytest.raises(ConfluentRegistryError):
        client.get_latest_version("no-such-subject")
    assert client.delete_subject("lsst.x.Test.ackcmd-value") == [1]


def test_our_frames_and_confluents_are_byte_identical(registry: SchemaRegistryServer) -> None:
    topic_info = salkit.get_component_info("Test").topics["evt_scalars"]
    kafka_topic = "lsst.x.Test.logevent_scalars"
    codec = TopicCodec(kafka_topic, topic_info.avro_schema)
    ours = SchemaRegistryClient(registry.url)
    codec.schema_id = ours.register(codec.subject, topic_info.avro_schema)
    record = {field["name"]: field["default"] for field in topic_info.avro_schema["fields"]}
    record.update(salIndex=2, int0=12, string0="héllo", double0=1.25, private_origin=4242)

    confluent = ConfluentClient({"url": registry.url})
    serializer = AvroSerializer(
        confluent, json.dumps(topic_info.avro_schema), conf={"auto.register.schemas": False}
    )
    context = SerializationContext(kafka_topic, MessageField.VALUE)
    theirs = serializer(record, context)
    assert theirs == codec.encode(record)

    deserializer = AvroDeserializer(confluent, json.dumps(topic_info.avro_schema))
    assert deserializer(codec.encode(record), context)["string0"] == "héllo"
    assert codec.decode(theirs, ours)["int0"] == 12


def test_registry_serves_many_requests_on_one_keep_alive_connection(registry: SchemaRegistryServer) -> None:
    client = SchemaRegistryClient(registry.url)
    schema_id = client.register("s-value", SCHEMA_A)
    fresh = SchemaRegistryClient(registry.url)
    fresh.get_subjects()
    connection = fresh._connection()
    for _ in range(20):
        assert fresh.get_subjects() == ["s-value"]
    assert fresh.get_schema(schema_id) == SCHEMA_A
    assert fresh._connection() is connection
