"""Topic names, subjects and message keys are exactly salobj's."""

from __future__ import annotations

import pytest

from lsst.ts.salkit.interface import TopicKind
from lsst.ts.salkit.kafka import (
    kafka_topic_name,
    message_key,
    parse_kafka_topic_name,
    schema_subject,
    topic_kind,
)


def test_topic_and_subject_names() -> None:
    topic = kafka_topic_name("sal", "MTCamera", "logevent_endReadout")
    assert topic == "lsst.sal.MTCamera.logevent_endReadout"
    assert schema_subject(topic) == "lsst.sal.MTCamera.logevent_endReadout-value"
    assert kafka_topic_name("sal", "ATDome", "ackcmd") == "lsst.sal.ATDome.ackcmd"
    assert parse_kafka_topic_name("lsst.test_1.Test.scalars") == ("test_1", "Test", "scalars")
    with pytest.raises(ValueError, match="not of the form"):
        parse_kafka_topic_name("lsst.sal.Test")


def test_topic_kinds_from_sal_names() -> None:
    assert topic_kind("command_start") is TopicKind.COMMAND
    assert topic_kind("logevent_summaryState") is TopicKind.EVENT
    assert topic_kind("ackcmd") is TopicKind.ACKCMD
    assert topic_kind("scalars") is TopicKind.TELEMETRY


def test_message_keys_have_salobjs_exact_spacing() -> None:
    assert (
        message_key("ATDome", 0, "logevent_summaryState", indexed=False)
        == '{ "name": "ATDome", "topic": "logevent_summaryState" }'
    )
    assert (
        message_key("Test", 5, "logevent_summaryState", indexed=True)
        == '{ "name": "Test", "index": 5, "topic": "logevent_summaryState" }'
    )
    assert message_key("Test", 5, "command_start", indexed=True) == (
        '{ "name": "Test", "index": 5, "topic": "command_start" }'
    )
    assert message_key("ATDome", 0, "ackcmd", indexed=False) == '{ "name": "ATDome", "topic": "ackcmd" }'


def test_telemetry_key_is_empty() -> None:
    assert message_key("Test", 5, "scalars", indexed=True) == ""
    assert message_key("MTMount", 0, "elevation", indexed=False) == ""
