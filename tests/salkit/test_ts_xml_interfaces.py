"""ts_xml fidelity: the bundled camera, Header Service and OODS interfaces have ts_xml's
fields (names, types, order, counts, units), and with ``$LSST_SALKIT_TS_XML_DIR``
set, components are built from ts_xml's XML, descriptions included.

`TS_XML` is this test's own statement of the ts_xml v28 facts the Archiver
and its simulators depend on; `write_ts_xml` writes them as a small
ts_xml-layout directory (``SALSubsystems.xml`` and ``<Name>/<Name>_*.xml``)
with descriptions of this test's own, some on several lines as in ts_xml.
"""

from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator

import pytest

from lsst.ts.salkit.interface import (
    TS_XML_DIR_ENV_VAR,
    InterfaceDefinitionError,
    get_component_info,
    load_generics,
    read_ts_xml_component,
)

Field = tuple[str, str, int, str]  # name, IDL type, count, units

IMAGE_IDENTITY: list[Field] = [
    ("additionalKeys", "string", 1, "unitless"),
    ("additionalValues", "string", 1, "unitless"),
    ("imagesInSequence", "long", 1, "unitless"),
    ("imageName", "string", 1, "unitless"),
    ("imageIndex", "long", 1, "unitless"),
    ("imageSource", "string", 1, "unitless"),
    ("imageController", "string", 1, "unitless"),
    ("imageDate", "string", 1, "unitless"),
    ("imageNumber", "long", 1, "unitless"),
    ("timestampAcquisitionStart", "double", 1, "second"),
]


def camera_topics(ccds: int) -> dict[str, dict[str, list[Field]]]:
    """The camera topics the Archiver and the camera simulator use (ts_xml v28)."""
    arrays = ["ccdType", "overRows", "overCols", "readRows", "readCols", "readCols2"]
    arrays += ["preCols", "preRows", "postCols", "underCols"]
    return {
        "commands": {
            "takeImages": [
                ("numImages", "long", 1, "unitless"),
                ("expTime", "double", 1, "second"),
                ("shutter", "boolean", 1, "unitless"),
                ("sensors", "string", 1, "unitless"),
                ("keyValueMap", "string", 1, "unitless"),
                ("obsNote", "string", 1, "unitless"),
            ],
        },
        "events": {
            "startIntegration": [
                *IMAGE_IDENTITY,
                ("exposureTime", "double", 1, "second"),
                ("mode", "string", 1, "unitless"),
                ("timeout", "double", 1, "second"),
            ],
            "startReadout": [
                *IMAGE_IDENTITY,
                ("exposureTime", "double", 1, "second"),
                ("timestampStartOfReadout", "double", 1, "second"),
            ],
            "endReadout": [
                *IMAGE_IDENTITY,
                ("requestedExposureTime", "double", 1, "second"),
                ("timestampEndOfReadout", "double", 1, "second"),
            ],
            "endOfImageTelemetry": [
                *IMAGE_IDENTITY,
                ("exposureTime", "double", 1, "second"),
                ("imageTag", "string", 1, "unitless"),
                ("timestampDateObs", "double", 1, "second"),
                ("timestampDateEnd", "double", 1, "second"),
                ("measuredShutterOpenTime", "double", 1, "second"),
                ("darkTime", "double", 1, "second"),
                ("emulatedImage", "string", 1, "unitless"),
            ],
            "imageReadoutParameters": [
                ("imageName", "string", 1, "unitless"),
                ("ccdLocation", "string", 1, "unitless"),
                ("raftBay", "string", 1, "unitless"),
                ("ccdSlot", "string", 1, "unitless"),
                *[(name, "int", ccds, "unitless") for name in arrays],
                ("daqFolder", "string", 1, "unitless"),
                ("daqAnnotation", "string", 1, "unitless"),
            ],
        },
    }


OODS_TOPICS: dict[str, dict[str, list[Field]]] = {
    "events": {
        "imageInOODS": [
            ("camera", "string", 1, "unitless"),
            ("obsid", "string", 1, "unitless"),
            ("raft", "string", 1, "unitless"),
            ("sensor", "string", 1, "unitless"),
            ("statusCode", "long", 1, "unitless"),
            ("description", "string", 1, "unitless"),
        ],
    },
}

CAMERA_GENERICS = ["csc", "command_enterControl", "configurable", "logevent_largeFileObjectAvailable"]
HEADER_SERVICE_GENERICS = ["csc", "logevent_largeFileObjectAvailable"]

TS_XML: dict[str, tuple[list[str], dict[str, dict[str, list[Field]]]]] = {
    "ATCamera": (CAMERA_GENERICS, camera_topics(1)),
    "CCCamera": (CAMERA_GENERICS, camera_topics(9)),
    "MTCamera": (CAMERA_GENERICS, camera_topics(201)),
    "ATHeaderService": (HEADER_SERVICE_GENERICS, {}),
    "CCHeaderService": (HEADER_SERVICE_GENERICS, {}),
    "MTHeaderService": (HEADER_SERVICE_GENERICS, {}),
    "ATOODS": (["csc"], OODS_TOPICS),
    "CCOODS": (["csc"], OODS_TOPICS),
    "MTOODS": (["csc"], OODS_TOPICS),
}

_FILES = {"commands": ("Commands", "SALCommand", "command"), "events": ("Events", "SALEvent", "logevent")}


def description(component: str, topic: str, field: str = "") -> str:
    """This test's description of a topic or field; multi-line, as many of ts_xml's are."""
    return f"{component} {topic} {field}\n        (as written in the fixture)".strip()


def write_ts_xml(root: pathlib.Path) -> pathlib.Path:
    """Write `TS_XML` in ts_xml's layout under ``root``; return the directory."""
    subsystems = ElementTree.Element("SALSubsystemSet")
    for component, (generics, sections) in TS_XML.items():
        entry = ElementTree.SubElement(subsystems, "SALSubsystem")
        for tag, text in (
            ("Name", component),
            ("Description", f"{component} as in ts_xml"),
            ("IndexEnumeration", "no"),
            ("AddedGenerics", ", ".join(generics)),
        ):
            ElementTree.SubElement(entry, tag).text = text
        for section, topics in sections.items():
            suffix, element_name, infix = _FILES[section]
            topic_set = ElementTree.Element(f"{element_name}Set")
            for topic, fields in topics.items():
                element = ElementTree.SubElement(topic_set, element_name)
                ElementTree.SubElement(element, "Subsystem").text = component
                ElementTree.SubElement(element, "EFDB_Topic").text = f"{component}_{infix}_{topic}"
                ElementTree.SubElement(element, "Description").text = description(component, topic)
                for name, sal_type, count, units in fields:
                    item = ElementTree.SubElement(element, "item")
                    ElementTree.SubElement(item, "EFDB_Name").text = name
                    ElementTree.SubElement(item, "Description").text = description(component, topic, name)
                    ElementTree.SubElement(item, "IDL_Type").text = sal_type
                    ElementTree.SubElement(item, "Units").text = units
                    ElementTree.SubElement(item, "Count").text = str(count)
            (root / component).mkdir(parents=True, exist_ok=True)
            ElementTree.ElementTree(topic_set).write(root / component / f"{component}_{suffix}.xml")
    ElementTree.ElementTree(subsystems).write(root / "SALSubsystems.xml")
    return root


@pytest.fixture
def ts_xml_env(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pathlib.Path]:
    """``$LSST_SALKIT_TS_XML_DIR`` at the fixture; the interface cache cleared around the test."""
    directory = write_ts_xml(tmp_path / "sal_interfaces")
    monkeypatch.setenv(TS_XML_DIR_ENV_VAR, str(directory))
    get_component_info.cache_clear()
    yield directory
    monkeypatch.delenv(TS_XML_DIR_ENV_VAR)
    get_component_info.cache_clear()


def facts(component: str, kind: str) -> dict[str, list[Field]]:
    return TS_XML[component][1].get(kind, {})


@pytest.mark.parametrize("component", sorted(TS_XML))
def test_bundled_interfaces_have_ts_xml_s_fields_in_order(
    component: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TS_XML_DIR_ENV_VAR, raising=False)
    get_component_info.cache_clear()
    info = get_component_info(component)
    assert list(info.added_generics) == TS_XML[component][0]
    for kind, topics in (("commands", info.commands), ("events", info.events)):
        for topic, fields in facts(component, kind).items():
            assert topic in topics, f"{component} lacks {kind} {topic}"
            bundled = [(f.name, f.sal_type, f.count, f.units) for f in topics[topic].user_fields]
            assert bundled == fields, f"{component} {kind} {topic} differs from ts_xml"
    if not TS_XML[component][1]:  # generics only, as ts_xml's Header Services
        generics = load_generics()
        own = (set(info.commands) - set(generics["commands"])) | (set(info.events) - set(generics["events"]))
        assert own == set() and info.telemetry == {}


def test_with_ts_xml_on_the_host_its_components_are_built_from_the_xml(ts_xml_env: pathlib.Path) -> None:
    info = get_component_info("CCCamera")
    topic = info.events["endOfImageTelemetry"]
    assert topic.description == description("CCCamera", "endOfImageTelemetry")
    assert "\n" in topic.description  # verbatim, line breaks and all, as ts_xml reads it
    field = topic.fields["emulatedImage"]
    assert field.description == description("CCCamera", "endOfImageTelemetry", "emulatedImage")
    schema_fields = {f["name"]: f for f in topic.avro_schema["fields"]}
    assert schema_fields["darkTime"]["description"] == description(
        "CCCamera", "endOfImageTelemetry", "darkTime"
    )
    assert schema_fields["darkTime"]["units"] == "second"
    assert [f.name for f in info.commands["takeImages"].user_fields][0] == "numImages"
    # Generic topics come with the component, as with the YAML files.
    assert "evt_largeFileObjectAvailable" in info.topics and "cmd_enterControl" in info.topics
    # The Header Services: generics only.
    header = get_component_info("CCHeaderService")
    assert "evt_largeFileObjectAvailable" in header.topics and not header.commands.get("takeImages")


def test_components_ts_xml_does_not_define_keep_their_yaml(ts_xml_env: pathlib.Path) -> None:
    archiver = get_component_info("CCArchiver")
    assert "evt_imageArchived" in archiver.topics
    assert read_ts_xml_component(ts_xml_env, "CCArchiver") is None


def test_a_ts_xml_directory_without_its_subsystems_file_is_a_clear_error(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TS_XML_DIR_ENV_VAR, str(tmp_path))
    get_component_info.cache_clear()
    try:
        with pytest.raises(InterfaceDefinitionError, match="sal_interfaces directory"):
            get_component_info("CCCamera")
    finally:
        monkeypatch.delenv(TS_XML_DIR_ENV_VAR)
        get_component_info.cache_clear()


def test_a_malformed_ts_xml_file_is_a_clear_error(ts_xml_env: pathlib.Path) -> None:
    (ts_xml_env / "CCCamera" / "CCCamera_Events.xml").write_text("<SALEventSet><SALEvent>")
    with pytest.raises(InterfaceDefinitionError, match="cannot read the ts_xml file"):
        read_ts_xml_component(ts_xml_env, "CCCamera")
