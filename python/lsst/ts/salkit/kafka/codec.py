"""Encode and decode the values of one Kafka topic, with schema resolution,
and report values that cannot be decoded without stopping the reader."""

from __future__ import annotations

__all__ = ["DecodeFailureLog", "TopicCodec"]

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from .framing import decode_record, encode_record, parse_avro_schema, split_frame
from .naming import schema_subject


class WriterSchemaSource(Protocol):
    """Where writer schemas are looked up by id (the registry client)."""

    def get_parsed_schema(self, schema_id: int) -> Any:
        """Return the parsed schema with this id."""


class TopicCodec:
    """Codec of one Kafka topic: our (reader and writer) schema and its id.

    Parameters
    ----------
    kafka_topic : `str`
        The Kafka topic name.
    avro_schema : `~collections.abc.Mapping`
        The local Avro schema of the topic (what we write and read into).
    """

    def __init__(self, kafka_topic: str, avro_schema: Mapping[str, Any]) -> None:
        self.kafka_topic = kafka_topic
        self.subject = schema_subject(kafka_topic)
        self.avro_schema = dict(avro_schema)
        self.parsed_schema = parse_avro_schema(self.avro_schema)
        self.schema_id: int | None = None

    def encode(self, record: Mapping[str, Any]) -> bytes:
        """Return the framed value of ``record``.

        Raises
        ------
        RuntimeError
            If the schema has not been registered yet (no id).
        """
        if self.schema_id is None:
            raise RuntimeError(
                f"schema of {self.kafka_topic} is not registered yet; start the transport first"
            )
        return encode_record(self.schema_id, self.parsed_schema, record)

    def decode(self, value: bytes | None, schemas: WriterSchemaSource) -> dict[str, Any]:
        """Decode a framed value into a record of our schema.

        Values written with another schema (an older or newer version of the
        topic) are resolved to ours: fields we do not know are dropped and
        fields the writer did not have get their defaults.

        Raises
        ------
        Exception
            `~lsst.ts.salkit.kafka.framing.FramingError`, a registry error
            for an unknown writer schema id, or fastavro's resolution and
            decoding errors.
        """
        schema_id, body = split_frame(value)
        if schema_id == self.schema_id:
            return decode_record(body, self.parsed_schema, None)
        return decode_record(body, schemas.get_parsed_schema(schema_id), self.parsed_schema)


class DecodeFailureLog:
    """Log values that failed to decode without flooding the log.

    The first failure of each topic is logged in full (with traceback), then
    one short error every `SHORT_EVERY` failures, as ts_salobj does.

    Parameters
    ----------
    log : `logging.Logger`
        Where to log.
    """

    SHORT_EVERY = 10

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.counts: dict[str, int] = {}

    def report(self, kafka_topic: str, offset: int, error: BaseException) -> None:
        """Record one failure and log it if its turn has come.

        Parameters
        ----------
        kafka_topic : `str`
            Topic of the value.
        offset : `int`
            Offset of the message.
        error : `BaseException`
            Why decoding failed.
        """
        count = self.counts.get(kafka_topic, 0) + 1
        self.counts[kafka_topic] = count
        if count == 1:
            self.log.error(
                "Skipping a message of %s at offset %d that could not be decoded: %s. "
                "The writer's schema may be incompatible with ours; further failures on this "
                "topic are summarised every %d.",
                kafka_topic,
                offset,
                error,
                self.SHORT_EVERY,
                exc_info=error,
            )
        elif count % self.SHORT_EVERY == 0:
            self.log.error(
                "Skipped %d undecodable messages of %s so far; latest at offset %d: %s",
                count,
                kafka_topic,
                offset,
                error,
            )
