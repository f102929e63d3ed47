"""Kafka names and message keys, exactly as ts_salobj v8 writes them.

Pure functions, no I/O.
"""

from __future__ import annotations

__all__ = [
    "is_compacted",
    "is_keyed",
    "kafka_topic_name",
    "message_key",
    "parse_kafka_topic_name",
    "schema_subject",
    "topic_kind",
    "topic_prefix",
]

from ..interface import TopicKind


def is_keyed(kind: TopicKind) -> bool:
    """Whether messages of this kind carry salobj's JSON-like key
    (telemetry is written with an empty key)."""
    return kind is not TopicKind.TELEMETRY


def is_compacted(kind: TopicKind) -> bool:
    """Whether salobj creates topics of this kind with ``cleanup.policy=compact``
    (events only)."""
    return kind is TopicKind.EVENT


def topic_kind(sal_name: str) -> TopicKind:
    """Return the kind of a topic from its SAL name.

    Parameters
    ----------
    sal_name : `str`
        SAL topic name: ``command_<name>``, ``logevent_<name>``, ``ackcmd``
        or a telemetry name.
    """
    if sal_name == "ackcmd":
        return TopicKind.ACKCMD
    if sal_name.startswith("command_"):
        return TopicKind.COMMAND
    if sal_name.startswith("logevent_"):
        return TopicKind.EVENT
    return TopicKind.TELEMETRY


def topic_prefix(subname: str, component: str | None = None) -> str:
    """Return the prefix shared by the Kafka topics of a subname (and
    component): ``lsst.<subname>.`` or ``lsst.<subname>.<Component>.``."""
    if component is None:
        return f"lsst.{subname}."
    return f"lsst.{subname}.{component}."


def kafka_topic_name(subname: str, component: str, sal_name: str) -> str:
    """Return the Kafka topic name ``lsst.<subname>.<Component>.<sal_name>``.

    Parameters
    ----------
    subname : `str`
        ``LSST_TOPIC_SUBNAME`` (``sal`` in production).
    component : `str`
        SAL component name, e.g. ``MTCamera``.
    sal_name : `str`
        SAL topic name, e.g. ``logevent_endReadout``.
    """
    return f"lsst.{subname}.{component}.{sal_name}"


def parse_kafka_topic_name(topic: str) -> tuple[str, str, str]:
    """Split a Kafka topic name into (subname, component, sal_name).

    Raises
    ------
    ValueError
        If ``topic`` does not have the form ``lsst.<subname>.<Component>.<sal_name>``.
    """
    parts = topic.split(".")
    if len(parts) != 4 or parts[0] != "lsst" or not all(parts[1:]):
        raise ValueError(f"Kafka topic {topic!r} is not of the form lsst.<subname>.<Component>.<sal_name>")
    return parts[1], parts[2], parts[3]


def schema_subject(kafka_topic: str) -> str:
    """Return the schema-registry subject of a topic's values
    (Confluent TopicNameStrategy): ``<topic>-value``."""
    return f"{kafka_topic}-value"


def message_key(component: str, index: int, sal_name: str, indexed: bool) -> str:
    """Return the message key salobj writes.

    Parameters
    ----------
    component : `str`
        Name of the writing SalInfo's component.
    index : `int`
        The writing SalInfo's SAL index (used only if ``indexed``).
    sal_name : `str`
        SAL topic name.
    indexed : `bool`
        Whether the component is indexed.

    Returns
    -------
    key : `str`
        ``{ "name": "ATDome", "topic": "logevent_summaryState" }`` or, for an
        indexed component, ``{ "name": "Test", "index": 5, "topic": "..." }``
        (that spacing, exactly); ``""`` for telemetry.
    """
    if not is_keyed(topic_kind(sal_name)):
        return ""
    if indexed:
        return f'{{ "name": "{component}", "index": {index}, "topic": "{sal_name}" }}'
    return f'{{ "name": "{component}", "topic": "{sal_name}" }}'
