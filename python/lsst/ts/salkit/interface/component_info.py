"""A SAL component's interface: its topics, built from YAML definitions."""

from __future__ import annotations

__all__ = ["ComponentInfo", "InterfaceDefinitionError", "parse_topic_definitions"]

import dataclasses
import functools
import typing

from .field_info import FieldInfo
from .topic_info import TopicInfo, TopicKind, make_ackcmd_topic_info

# Section name in the YAML files for each kind of topic.
SECTION_KINDS: dict[str, TopicKind] = {
    "commands": TopicKind.COMMAND,
    "events": TopicKind.EVENT,
    "telemetry": TopicKind.TELEMETRY,
}


class InterfaceDefinitionError(ValueError):
    """An interface definition (YAML) is malformed."""


def _parse_field(where: str, raw: typing.Any) -> FieldInfo:
    if not isinstance(raw, dict) or "name" not in raw or "type" not in raw:
        raise InterfaceDefinitionError(
            f"{where}: each field must be a mapping with name and type; got {raw!r}"
        )
    unknown = set(raw) - {"name", "type", "count", "units", "description"}
    if unknown:
        raise InterfaceDefinitionError(f"{where}: field {raw['name']!r} has unknown keys {sorted(unknown)}")
    try:
        return FieldInfo(
            name=str(raw["name"]),
            sal_type=str(raw["type"]),
            count=int(raw.get("count", 1)),
            units=str(raw.get("units", "unitless")),
            description=str(raw.get("description", "")),
        )
    except ValueError as e:
        raise InterfaceDefinitionError(f"{where}: {e}") from e


def parse_topic_definitions(
    source: str, section: str, raw_topics: typing.Any
) -> dict[str, tuple[str, tuple[FieldInfo, ...], dict[str, typing.Any]]]:
    """Parse one section (commands, events or telemetry) of a YAML file.

    Parameters
    ----------
    source : `str`
        Where the data came from (for error messages).
    section : `str`
        Section name: ``commands``, ``events`` or ``telemetry``.
    raw_topics : `dict` or `None`
        Topic name: {description, fields: [...], ...}.

    Returns
    -------
    topics : `dict` [`str`, `tuple`]
        Topic name: (description, fields, extra keys).
    """
    if raw_topics is None:
        return {}
    if not isinstance(raw_topics, dict):
        raise InterfaceDefinitionError(
            f"{source}: section {section!r} must be a mapping of topic name: topic"
        )
    result = {}
    for topic_name, raw in raw_topics.items():
        raw = raw or {}
        if not isinstance(raw, dict):
            raise InterfaceDefinitionError(f"{source}: {section}.{topic_name} must be a mapping")
        where = f"{source}: {section}.{topic_name}"
        fields = tuple(_parse_field(where, f) for f in (raw.get("fields") or []))
        extra = {k: v for k, v in raw.items() if k not in ("description", "fields")}
        result[str(topic_name)] = (str(raw.get("description", "")), fields, extra)
    return result


@dataclasses.dataclass(frozen=True, eq=False)
class ComponentInfo:
    """Interface of one SAL component.

    Use `get_component_info` (registry) rather than constructing directly.

    Parameters
    ----------
    name : `str`
        SAL component name, e.g. ``Test``.
    indexed : `bool`
        Is the component indexed (topics have a ``salIndex`` field)?
    topics : `dict` [`str`, `TopicInfo`]
        Attribute name (``cmd_x``, ``evt_x``, ``tel_x``, ``ack_ackcmd``):
        topic info, for every topic including the generics and ackcmd.
    description : `str`
        Description of the component.
    added_generics : `tuple` [`str`, ...]
        Generic categories and topic names added to ``mandatory``.
    """

    name: str
    indexed: bool
    topics: dict[str, TopicInfo]
    description: str = ""
    added_generics: tuple[str, ...] = ()

    def _of_kind(self, kind: TopicKind) -> dict[str, TopicInfo]:
        return {info.name: info for info in self.topics.values() if info.kind is kind}

    @functools.cached_property
    def commands(self) -> dict[str, TopicInfo]:
        """Command name (without prefix): topic info, in definition order."""
        return self._of_kind(TopicKind.COMMAND)

    @functools.cached_property
    def events(self) -> dict[str, TopicInfo]:
        """Event name (without prefix): topic info."""
        return self._of_kind(TopicKind.EVENT)

    @functools.cached_property
    def telemetry(self) -> dict[str, TopicInfo]:
        """Telemetry topic name: topic info."""
        return self._of_kind(TopicKind.TELEMETRY)

    @property
    def ackcmd(self) -> TopicInfo:
        """The ackcmd topic."""
        return self.topics["ack_ackcmd"]

    @functools.cached_property
    def sal_topic_names(self) -> list[str]:
        """All SAL topic names, sorted (used for the ackcmd ``cmdtype``)."""
        return sorted(info.sal_name for info in self.topics.values())

    @functools.cached_property
    def topics_by_sal_name(self) -> dict[str, TopicInfo]:
        """SAL topic name: topic info."""
        return {info.sal_name: info for info in self.topics.values()}

    @classmethod
    def from_definitions(
        cls,
        name: str,
        component: dict[str, typing.Any],
        generics: dict[str, typing.Any],
        source: str = "<dict>",
    ) -> ComponentInfo:
        """Build from the parsed YAML of a component file and the generics file.

        Parameters
        ----------
        name : `str`
            Component name; must match the ``name`` key of ``component``.
        component : `dict`
            Parsed component YAML: name, description, indexed,
            added_generics, commands, events, telemetry.
        generics : `dict`
            Parsed generics YAML: categories, commands, events.
        source : `str`
            Where ``component`` came from (for error messages).

        Raises
        ------
        InterfaceDefinitionError
            If the definitions are malformed or reference unknown generics.
        """
        unknown = set(component) - {"name", "description", "indexed", "added_generics", *SECTION_KINDS}
        if unknown:
            raise InterfaceDefinitionError(f"{source}: unknown top-level keys {sorted(unknown)}")
        if component.get("name") != name:
            raise InterfaceDefinitionError(f"{source}: name is {component.get('name')!r}; expected {name!r}")
        indexed = bool(component.get("indexed", False))
        added = tuple(str(item) for item in component.get("added_generics") or [])
        categories: dict[str, list[str]] = generics.get("categories") or {}
        wanted: set[str] = set(categories.get("mandatory", []))
        generic_sal_names = {
            SECTION_KINDS[section].sal_prefix + topic_name
            for section in SECTION_KINDS
            for topic_name in (generics.get(section) or {})
        }
        for item in added:
            if item in categories:
                wanted.update(categories[item])
            elif item in generic_sal_names:
                wanted.add(item)
            else:
                raise InterfaceDefinitionError(
                    f"{source}: added generic {item!r} is neither a category {sorted(categories)} "
                    f"nor a generic topic {sorted(generic_sal_names)}"
                )

        topics: dict[str, TopicInfo] = {}

        def add(kind: TopicKind, parsed: dict[str, typing.Any], from_generics: bool) -> None:
            for topic_name, (description, fields, _) in parsed.items():
                info = TopicInfo(
                    component_name=name,
                    kind=kind,
                    name=topic_name,
                    user_fields=fields,
                    indexed=indexed,
                    description=description,
                )
                if from_generics and info.sal_name not in wanted:
                    continue
                if info.attr_name in topics:
                    raise InterfaceDefinitionError(f"{source}: topic {info.sal_name!r} is defined twice")
                topics[info.attr_name] = info

        for section, kind in SECTION_KINDS.items():
            add(kind, parse_topic_definitions("generics", section, generics.get(section)), True)
            add(kind, parse_topic_definitions(source, section, component.get(section)), False)
        ackcmd = make_ackcmd_topic_info(name, indexed)
        topics[ackcmd.attr_name] = ackcmd
        return cls(
            name=name,
            indexed=indexed,
            topics=topics,
            description=str(component.get("description", "")),
            added_generics=added,
        )
