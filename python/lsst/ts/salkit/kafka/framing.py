"""Confluent schema-registry framing of Avro values.

A framed value is ``0x00`` (magic), the schema id as a big-endian 32-bit
integer, then the Avro binary encoding of the record. This is what
``confluent_kafka.schema_registry.avro.AvroSerializer`` writes and what
ts_salobj v8 reads and writes; the bytes are identical.
"""

from __future__ import annotations

__all__ = [
    "FRAME_HEADER_SIZE",
    "MAGIC_BYTE",
    "FramingError",
    "decode_record",
    "encode_record",
    "parse_avro_schema",
    "split_frame",
]

import io
import json
import struct
from collections.abc import Mapping
from typing import Any

import fastavro

MAGIC_BYTE = 0
FRAME_HEADER_SIZE = 5
_HEADER = struct.Struct(">bI")


class FramingError(ValueError):
    """A Kafka message value is not a Confluent-framed Avro record."""


def parse_avro_schema(schema: Mapping[str, Any] | str) -> Any:
    """Parse an Avro schema (a dict or its JSON text) for fastavro.

    Each call parses into a fresh set of named types, so two versions of
    the same record (a writer's and a reader's) can both be parsed.
    """
    as_dict = json.loads(schema) if isinstance(schema, str) else dict(schema)
    return fastavro.parse_schema(as_dict, named_schemas={})


def encode_record(schema_id: int, parsed_schema: Any, record: Mapping[str, Any]) -> bytes:
    """Return ``record`` as a framed value.

    Parameters
    ----------
    schema_id : `int`
        Registry id of ``parsed_schema``.
    parsed_schema : `object`
        From `parse_avro_schema`.
    record : `~collections.abc.Mapping`
        Field values; every field of the schema must be present.
    """
    buffer = io.BytesIO()
    buffer.write(_HEADER.pack(MAGIC_BYTE, schema_id))
    fastavro.schemaless_writer(buffer, parsed_schema, record)
    return buffer.getvalue()


def split_frame(value: bytes | None) -> tuple[int, memoryview]:
    """Return (schema id, Avro body) of a framed value.

    Raises
    ------
    FramingError
        If the value is missing, too short or has the wrong magic byte.
    """
    if value is None:
        raise FramingError("message has no value (a tombstone?)")
    if len(value) < FRAME_HEADER_SIZE:
        raise FramingError(
            f"value of {len(value)} bytes is shorter than the {FRAME_HEADER_SIZE}-byte Confluent header"
        )
    magic, schema_id = _HEADER.unpack_from(value)
    if magic != MAGIC_BYTE:
        raise FramingError(
            f"value starts with byte {magic:#04x}, not the Confluent magic byte {MAGIC_BYTE:#04x}: "
            "it was not written with a schema-registry serializer"
        )
    return schema_id, memoryview(value)[FRAME_HEADER_SIZE:]


def decode_record(body: memoryview | bytes, writer_schema: Any, reader_schema: Any) -> dict[str, Any]:
    """Decode an Avro body written with ``writer_schema`` into the shape of
    ``reader_schema`` (Avro schema resolution: fields added with defaults
    are filled in, removed fields are dropped).

    Raises
    ------
    Exception
        Whatever fastavro raises for undecodable data or schemas that cannot
        be resolved (e.g. `fastavro.read.SchemaResolutionError`, `EOFError`).
    """
    result = fastavro.schemaless_reader(io.BytesIO(body), writer_schema, reader_schema)
    if not isinstance(result, dict):
        raise FramingError(f"decoded value is a {type(result).__name__}, not a record")
    return result
