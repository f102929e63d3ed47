"""Confluent framing, schema resolution and decode-failure logging."""

from __future__ import annotations

import copy
import logging
import struct
import typing

import pytest
from lsst.ts import salkit

from lsst.ts.salkit.kafka import FramingError, TopicCodec, encode_record, parse_avro_schema, split_frame
from lsst.ts.salkit.kafka.codec import DecodeFailureLog


class FakeSchemas:
    """Writer schemas by id, as the registry client would return them."""

    def __init__(self, schemas: dict[int, dict[str, typing.Any]]) -> None:
        self.schemas = schemas
        self.lookups: list[int] = []

    def get_parsed_schema(self, schema_id: int) -> typing.Any:
        self.lookups.append(schema_id)
        return parse_avro_schema(self.schemas[schema_id])


def scalars_schema() -> dict[str, typing.Any]:
    return copy.deepcopy(salkit.get_component_info("Test").topics["evt_scalars"].avro_schema)


def default_record(schema: dict[str, typing.Any]) -> dict[str, typing.Any]:
    return {field["name"]: copy.deepcopy(field["default"]) for field in schema["fields"]}


def test_frame_is_magic_then_big_endian_id_then_avro() -> None:
    schema = {
        "type": "record",
        "name": "r",
        "fields": [{"name": "a", "type": "int"}, {"name": "s", "type": "string"}],
    }
    value = encode_record(0x01020304, parse_avro_schema(schema), {"a": 3, "s": "hi"})
    # Avro: zigzag varint 3 -> 0x06, string length 2 -> 0x04, then the bytes.
    assert value == b"\x00\x01\x02\x03\x04" + b"\x06" + b"\x04hi"
    schema_id, body = split_frame(value)
    assert schema_id == 0x01020304
    assert bytes(body) == b"\x06\x04hi"


def test_bad_frames_are_rejected_with_reason() -> None:
    with pytest.raises(FramingError, match="shorter than"):
        split_frame(b"\x00\x00")
    with pytest.raises(FramingError, match="magic byte"):
        split_frame(b"\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(FramingError, match="no value"):
        split_frame(None)


def test_codec_round_trip_with_own_schema_needs_no_lookup() -> None:
    schema = scalars_schema()
    codec = TopicCodec("lsst.sal.Test.logevent_scalars", schema)
    assert codec.subject == "lsst.sal.Test.logevent_scalars-value"
    codec.schema_id = 7
    record = default_record(schema)
    record.update(salIndex=3, int0=-5, string0="hello", private_seqNum=9)
    schemas = FakeSchemas({})
    decoded = codec.decode(codec.encode(record), schemas)
    assert decoded["int0"] == -5 and decoded["string0"] == "hello" and decoded["salIndex"] == 3
    assert schemas.lookups == []


def test_codec_refuses_to_encode_before_registration() -> None:
    codec = TopicCodec("lsst.sal.Test.logevent_scalars", scalars_schema())
    with pytest.raises(RuntimeError, match="not registered"):
        codec.encode(default_record(scalars_schema()))


def test_writer_schema_with_added_and_removed_fields_is_resolved() -> None:
    reader_schema = scalars_schema()
    writer_schema = scalars_schema()
    # The writer has a new field (with default) and lacks int0 (which has a default).
    writer_schema["fields"] = [f for f in writer_schema["fields"] if f["name"] != "int0"]
    writer_schema["fields"].append({"name": "newField", "type": "double", "default": 0.0})
    writer_codec = TopicCodec("t", writer_schema)
    writer_codec.schema_id = 2
    record = default_record(writer_schema)
    record.update(string0="from a newer writer", newField=1.5)
    value = writer_codec.encode(record)

    reader_codec = TopicCodec("t", reader_schema)
    reader_codec.schema_id = 1
    schemas = FakeSchemas({2: writer_schema})
    decoded = reader_codec.decode(value, schemas)
    assert decoded["string0"] == "from a newer writer"
    assert decoded["int0"] == 0
    assert "newField" not in decoded
    assert schemas.lookups == [2]


def test_decode_failures_logged_first_in_full_then_every_tenth(caplog: pytest.LogCaptureFixture) -> None:
    failures = DecodeFailureLog(logging.getLogger("decode-test"))
    with caplog.at_level(logging.ERROR, logger="decode-test"):
        for offset in range(25):
            failures.report("lsst.sal.Test.scalars", offset, ValueError(f"bad {offset}"))
    records = [r for r in caplog.records if r.name == "decode-test"]
    assert len(records) == 3  # failures 1, 10 and 20
    assert records[0].exc_info is not None and "offset 0" in records[0].getMessage()
    assert "Skipped 10 undecodable" in records[1].getMessage() and records[1].exc_info is None
    assert "Skipped 20 undecodable" in records[2].getMessage()
