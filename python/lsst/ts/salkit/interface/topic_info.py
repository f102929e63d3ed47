"""One SAL topic: its kind, names, fields, Avro schema and data class."""

from __future__ import annotations

__all__ = [
    "PRIVATE_FIELD_NAMES",
    "TopicKind",
    "TopicInfo",
    "make_private_fields",
    "make_ackcmd_topic_info",
]

import dataclasses
import enum
import functools
import typing

from .avro import compute_rev_code
from .field_info import FieldInfo
from .sample import BaseSample, make_sample_class


class TopicKind(enum.Enum):
    """Kind of SAL topic."""

    COMMAND = "command"
    EVENT = "event"
    TELEMETRY = "telemetry"
    ACKCMD = "ackcmd"

    @property
    def sal_prefix(self) -> str:
        """Prefix of the SAL topic name (``command_``, ``logevent_`` or empty)."""
        return {"command": "command_", "event": "logevent_"}.get(self.value, "")

    @property
    def attr_prefix(self) -> str:
        """Prefix of the attribute name on a Controller or Remote."""
        return {"command": "cmd_", "event": "evt_", "telemetry": "tel_", "ackcmd": "ack_"}[self.value]


def make_private_fields(indexed: bool) -> list[FieldInfo]:
    """Make the private fields that precede the user fields of every topic.

    Parameters
    ----------
    indexed : `bool`
        Is the component indexed? If so, ``salIndex`` comes first.
    """
    fields = [
        FieldInfo("private_sndStamp", "double", units="second", description="TAI time at which the sample was sent."),
        FieldInfo("private_rcvStamp", "double", units="second", description="TAI time at which the sample was received."),
        FieldInfo("private_efdStamp", "double", units="second", description="UTC time at which the sample was sent, for the EFD."),
        FieldInfo("private_kafkaStamp", "double", units="second", description="TAI time at which the sample was written to the transport."),
        FieldInfo("private_seqNum", "long", description="Sequence number; for commands, the command ID."),
        FieldInfo("private_revCode", "string", description="Revision code of the topic schema."),
        FieldInfo("private_identity", "string", description="Identity of the writer: Name[:index] for a CSC, user@host otherwise."),
        FieldInfo("private_origin", "long", description="Process ID of the writer."),
    ]  # fmt: skip
    if indexed:
        fields.insert(0, FieldInfo("salIndex", "long", description="SAL index of the component."))
    return fields


#: Names of the private fields, without ``salIndex``.
PRIVATE_FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in make_private_fields(indexed=False))


@dataclasses.dataclass(frozen=True, eq=False)
class TopicInfo:
    """Description of one SAL topic of one component.

    Parameters
    ----------
    component_name : `str`
        SAL component name, e.g. ``Test``.
    kind : `TopicKind`
        Command, event, telemetry or ackcmd.
    name : `str`
        Topic name without prefix, e.g. ``summaryState``; ``ackcmd`` for acks.
    user_fields : `tuple` [`FieldInfo`, ...]
        The topic's own fields, in wire order (private fields are added).
    indexed : `bool`
        Is the component indexed (adds the ``salIndex`` field)?
    description : `str`
        Topic description, written verbatim into the Avro schema.
    partitions : `int`
        Number of transport partitions (always 1 for events).

    Attributes
    ----------
    sal_name : `str`
        SAL topic name: ``command_<name>``, ``logevent_<name>``, ``<name>``
        or ``ackcmd``.
    attr_name : `str`
        Attribute name on a Controller/Remote: ``cmd_<name>``, ``evt_<name>``,
        ``tel_<name>`` or ``ack_ackcmd``.
    fields : `dict` [`str`, `FieldInfo`]
        All fields, private ones first, in wire order.
    """

    component_name: str
    kind: TopicKind
    name: str
    user_fields: tuple[FieldInfo, ...] = ()
    indexed: bool = False
    description: str = ""
    partitions: int = 1

    def __post_init__(self) -> None:
        if self.kind is TopicKind.EVENT and self.partitions != 1:
            raise ValueError(f"Event {self.name!r} has partitions={self.partitions}; events must have 1")
        private = make_private_fields(self.indexed)
        reserved = {field.name for field in private}
        seen: set[str] = set()
        for field in self.user_fields:
            if field.name in reserved or field.name in seen:
                raise ValueError(
                    f"Topic {self.component_name}.{self.sal_name} has a duplicate or reserved field {field.name!r}"
                )
            seen.add(field.name)

    @property
    def sal_name(self) -> str:
        """SAL topic name, e.g. ``logevent_summaryState``."""
        return self.kind.sal_prefix + self.name

    @property
    def attr_name(self) -> str:
        """Attribute name, e.g. ``evt_summaryState``."""
        return self.kind.attr_prefix + self.name

    @functools.cached_property
    def fields(self) -> dict[str, FieldInfo]:
        """All fields, private first, in wire order."""
        return {field.name: field for field in [*make_private_fields(self.indexed), *self.user_fields]}

    @functools.cached_property
    def avro_schema(self) -> dict[str, typing.Any]:
        """The Avro schema (a new dict each time is not guaranteed; do not mutate)."""
        return {
            "type": "record",
            "name": self.sal_name,
            "namespace": f"lsst.sal.{self.component_name}",
            "fields": [field.make_avro_schema() for field in self.fields.values()],
            "description": self.description,
        }

    @functools.cached_property
    def rev_code(self) -> str:
        """First 8 hex digits of the md5 of the Avro schema."""
        return compute_rev_code(self.avro_schema)

    @functools.cached_property
    def DataType(self) -> type[BaseSample]:
        """Data class of this topic; every field has its default value."""
        return make_sample_class(self)

    def __repr__(self) -> str:
        return f"TopicInfo({self.component_name}.{self.sal_name}, fields={list(self.fields)})"


def make_ackcmd_topic_info(component_name: str, indexed: bool) -> TopicInfo:
    """Make the TopicInfo of the ``ackcmd`` topic of a component.

    Parameters
    ----------
    component_name : `str`
        SAL component name.
    indexed : `bool`
        Is the component indexed?
    """
    fields = (
        FieldInfo("ack", "long", description="Acknowledgement code (SalRetCode)."),
        FieldInfo("error", "long", description="Error code; 0 unless the command failed."),
        FieldInfo("result", "string", description="Message giving more information."),
        FieldInfo("identity", "string", description="private_identity of the command being acknowledged."),
        FieldInfo("origin", "long", description="private_origin of the command being acknowledged."),
        FieldInfo(
            "cmdtype", "long", description="Index of the command in the sorted list of SAL topic names."
        ),
        FieldInfo(
            "timeout", "double", units="second", description="Estimated remaining duration of the command."
        ),
    )
    return TopicInfo(
        component_name=component_name,
        kind=TopicKind.ACKCMD,
        name="ackcmd",
        user_fields=fields,
        indexed=indexed,
        description="Command acknowledgement.",
    )
