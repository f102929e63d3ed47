"""Read a component's interface from ts_xml's XML files, when they are on the host.

salobj builds its Avro schemas from ts_xml; salkit ships YAML definitions
with the same field names, types, order and units (descriptions are its
own). Set `TS_XML_DIR_ENV_VAR` to ts_xml's ``sal_interfaces`` directory
(the one holding ``SALSubsystems.xml``) and the components it defines are
built from the XML instead, descriptions included, so the schemas salkit
registers are the ones salobj registers. Components ts_xml does not define
(the Archivers) keep their YAML.

The XML layout read: ``SALSubsystems.xml`` (``Name``, ``Description``,
``IndexEnumeration``, ``AddedGenerics`` of each ``SALSubsystem``) and, per
component, ``<Name>/<Name>_{Commands,Events,Telemetry}.xml`` (each topic's
``EFDB_Topic``, ``Description`` and ``item`` elements: ``EFDB_Name``,
``Description``, ``IDL_Type``, ``Units``, ``Count``), read as ts_xml reads
them (descriptions verbatim; ``Units`` ``unitless`` and ``Count`` 1 when
absent). A component with no topic files of its own (the Header Services)
has the generics only; the generic topics stay salkit's.
"""

from __future__ import annotations

__all__ = ["TS_XML_DIR_ENV_VAR", "read_ts_xml_component", "ts_xml_components", "ts_xml_dir"]

import functools
import os
import pathlib
import typing
import xml.etree.ElementTree as ElementTree

from .component_info import InterfaceDefinitionError

TS_XML_DIR_ENV_VAR = "LSST_SALKIT_TS_XML_DIR"
"""Environment variable: ts_xml's ``sal_interfaces`` directory (optional)."""

SUBSYSTEMS_FILE = "SALSubsystems.xml"

# (YAML section, file suffix, element, EFDB_Topic infix)
_KINDS = (
    ("commands", "Commands", "SALCommand", "_command_"),
    ("events", "Events", "SALEvent", "_logevent_"),
    ("telemetry", "Telemetry", "SALTelemetry", "_"),
)


def ts_xml_dir() -> pathlib.Path | None:
    """The ts_xml directory named by `TS_XML_DIR_ENV_VAR`, or None if unset.

    Raises
    ------
    InterfaceDefinitionError
        If the variable is set but names no directory holding ``SALSubsystems.xml``.
    """
    value = os.environ.get(TS_XML_DIR_ENV_VAR, "")
    if not value:
        return None
    path = pathlib.Path(value)
    if not (path / SUBSYSTEMS_FILE).is_file():
        raise InterfaceDefinitionError(
            f"{TS_XML_DIR_ENV_VAR}={value!r} must be ts_xml's sal_interfaces directory (no {SUBSYSTEMS_FILE} there)"
        )
    return path


def ts_xml_components(directory: pathlib.Path) -> dict[str, dict[str, typing.Any]]:
    """Name → ``SALSubsystem`` facts (description, indexed, added generics) of ``SALSubsystems.xml``."""
    return dict(_subsystems(directory.resolve()))


@functools.cache
def _subsystems(directory: pathlib.Path) -> tuple[tuple[str, dict[str, typing.Any]], ...]:
    root = _parse(directory / SUBSYSTEMS_FILE)
    found = []
    for element in root.iter("SALSubsystem"):
        name = _text(element, "Name")
        if not name:
            continue
        added = [item.strip() for item in _text(element, "AddedGenerics").split(",") if item.strip()]
        found.append(
            (
                name,
                {
                    "description": _text(element, "Description"),
                    "indexed": _text(element, "IndexEnumeration").lower() not in ("", "no"),
                    "added_generics": added,
                },
            )
        )
    return tuple(found)


def read_ts_xml_component(directory: pathlib.Path, name: str) -> dict[str, typing.Any] | None:
    """The definitions of component ``name`` in ts_xml (the YAML files' structure), or None.

    Raises
    ------
    InterfaceDefinitionError
        If a file is not valid XML or a topic or field is malformed.
    """
    subsystem = ts_xml_components(directory).get(name)
    if subsystem is None:
        return None
    component: dict[str, typing.Any] = {"name": name, **subsystem}
    for section, suffix, element_name, infix in _KINDS:
        path = directory / name / f"{name}_{suffix}.xml"
        if not path.is_file():
            continue
        topics: dict[str, typing.Any] = {}
        prefix = f"{name}{infix}"
        for element in _parse(path).iter(element_name):
            efdb_topic = _text(element, "EFDB_Topic")
            if not efdb_topic.startswith(prefix):
                raise InterfaceDefinitionError(f"{path}: topic {efdb_topic!r} does not start with {prefix!r}")
            topics[efdb_topic[len(prefix) :]] = {
                "description": _raw(element, "Description"),
                "fields": [_field(path, efdb_topic, item) for item in element.iter("item")],
            }
        component[section] = topics
    return component


def _field(path: pathlib.Path, topic: str, item: ElementTree.Element) -> dict[str, typing.Any]:
    name, sal_type = _text(item, "EFDB_Name"), _text(item, "IDL_Type")
    if not name or not sal_type:
        raise InterfaceDefinitionError(f"{path}: {topic}: an item lacks EFDB_Name or IDL_Type")
    count = _text(item, "Count") or "1"
    try:
        number = int(count)
    except ValueError:
        raise InterfaceDefinitionError(f"{path}: {topic}.{name}: Count {count!r} is not an integer") from None
    return {
        "name": name,
        "type": sal_type,
        "count": number,
        "units": _raw(item, "Units") or "unitless",
        "description": _raw(item, "Description"),
    }


def _parse(path: pathlib.Path) -> ElementTree.Element:
    try:
        return ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as e:
        raise InterfaceDefinitionError(f"{path}: cannot read the ts_xml file: {e}") from e


def _text(element: ElementTree.Element, tag: str) -> str:
    """A sub-element's text, stripped ("" if absent)."""
    return _raw(element, tag).strip()


def _raw(element: ElementTree.Element, tag: str) -> str:
    """A sub-element's text exactly as ts_xml reads it ("" if absent): descriptions
    go into the Avro schemas verbatim, line breaks and all."""
    child = element.find(tag)
    return child.text if child is not None and child.text is not None else ""
