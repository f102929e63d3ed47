"""Pin the generated Avro schemas field by field (reference: sal-wire.md §1.5)."""

from __future__ import annotations

import hashlib
import json
import typing

import fastavro
import pytest
from lsst.ts import salkit

from lsst.ts.salkit.interface import ComponentInfo, load_generics

PRIVATE = [
    ("private_sndStamp", "double", 0.0, "second"),
    ("private_rcvStamp", "double", 0.0, "second"),
    ("private_efdStamp", "double", 0.0, "second"),
    ("private_kafkaStamp", "double", 0.0, "second"),
    ("private_seqNum", "int", 0, "unitless"),
    ("private_revCode", "string", "", "unitless"),
    ("private_identity", "string", "", "unitless"),
    ("private_origin", "int", 0, "unitless"),
]


@pytest.fixture
def demo_info() -> ComponentInfo:
    """A non-indexed component with csc generics and an array telemetry topic."""
    component = {
        "name": "Demo",
        "indexed": False,
        "added_generics": ["csc", "logevent_largeFileObjectAvailable"],
        "telemetry": {
            "pressures": {
                "description": "Pressures.",
                "fields": [
                    {"name": "pressure", "type": "float", "count": 3, "units": "Pa", "description": "P."},
                    {"name": "counts", "type": "long long", "count": 2, "description": "C."},
                    {"name": "label", "type": "string", "count": 8, "description": "L."},
                ],
            }
        },
    }
    return ComponentInfo.from_definitions("Demo", component, load_generics())


def field_summary(schema: dict[str, typing.Any]) -> list[tuple[str, typing.Any, typing.Any, str]]:
    return [(f["name"], f["type"], f["default"], f["units"]) for f in schema["fields"]]


def check_common(schema: dict[str, typing.Any], component: str, sal_name: str) -> None:
    assert list(schema) == ["type", "name", "namespace", "fields", "description"]
    assert schema["type"] == "record"
    assert schema["name"] == sal_name
    assert schema["namespace"] == f"lsst.sal.{component}"
    for field in schema["fields"]:
        assert list(field) == ["name", "type", "default", "description", "units"]
    fastavro.parse_schema(schema)


def test_summary_state_schema_non_indexed(demo_info: ComponentInfo) -> None:
    topic = demo_info.topics["evt_summaryState"]
    assert topic.sal_name == "logevent_summaryState"
    assert topic.attr_name == "evt_summaryState"
    schema = topic.avro_schema
    check_common(schema, "Demo", "logevent_summaryState")
    assert field_summary(schema) == [*PRIVATE, ("summaryState", "int", 0, "unitless")]


def test_summary_state_schema_indexed_has_sal_index_first() -> None:
    schema = salkit.get_component_info("Test").topics["evt_summaryState"].avro_schema
    check_common(schema, "Test", "logevent_summaryState")
    assert field_summary(schema) == [
        ("salIndex", "int", 0, "unitless"),
        *PRIVATE,
        ("summaryState", "int", 0, "unitless"),
    ]


def test_set_log_level_command_schema(demo_info: ComponentInfo) -> None:
    topic = demo_info.topics["cmd_setLogLevel"]
    assert (topic.sal_name, topic.attr_name) == ("command_setLogLevel", "cmd_setLogLevel")
    schema = topic.avro_schema
    check_common(schema, "Demo", "command_setLogLevel")
    assert field_summary(schema) == [
        *PRIVATE,
        ("level", "int", 0, "unitless"),
        ("subsystem", "string", "", "unitless"),
    ]


def test_ackcmd_schema(demo_info: ComponentInfo) -> None:
    topic = demo_info.topics["ack_ackcmd"]
    assert topic.sal_name == "ackcmd"
    schema = topic.avro_schema
    check_common(schema, "Demo", "ackcmd")
    assert field_summary(schema) == [
        *PRIVATE,
        ("ack", "int", 0, "unitless"),
        ("error", "int", 0, "unitless"),
        ("result", "string", "", "unitless"),
        ("identity", "string", "", "unitless"),
        ("origin", "int", 0, "unitless"),
        ("cmdtype", "int", 0, "unitless"),
        ("timeout", "double", 0.0, "second"),
    ]


def test_telemetry_arrays_schema(demo_info: ComponentInfo) -> None:
    topic = demo_info.topics["tel_pressures"]
    assert (topic.sal_name, topic.attr_name) == ("pressures", "tel_pressures")
    schema = topic.avro_schema
    check_common(schema, "Demo", "pressures")
    assert schema["description"] == "Pressures."
    assert field_summary(schema) == [
        *PRIVATE,
        ("pressure", {"type": "array", "items": "float"}, [0.0, 0.0, 0.0], "Pa"),
        ("counts", {"type": "array", "items": "long"}, [0, 0], "unitless"),
        ("label", "string", "", "unitless"),  # a count on a string is ignored
    ]


def test_large_file_object_available_types(demo_info: ComponentInfo) -> None:
    fields = demo_info.topics["evt_largeFileObjectAvailable"].avro_schema["fields"]
    types = {f["name"]: f["type"] for f in fields}
    assert types["version"] == "float"
    assert types["byteSize"] == "int"  # SAL long is 32 bits


@pytest.mark.parametrize(
    "sal_type, avro_type",
    [
        ("boolean", "boolean"),
        ("byte", "int"),
        ("short", "int"),
        ("int", "int"),
        ("long", "int"),
        ("unsigned short", "int"),
        ("long long", "long"),
        ("unsigned int", "long"),
        ("float", "float"),
        ("double", "double"),
        ("string", "string"),
    ],
)
def test_sal_to_avro_type_mapping(sal_type: str, avro_type: str) -> None:
    assert salkit.FieldInfo("x", sal_type).avro_type == avro_type


def test_unsupported_sal_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsigned long"):
        salkit.FieldInfo("x", "unsigned long")


def test_rev_code_is_md5_of_indented_json(demo_info: ComponentInfo) -> None:
    topic = demo_info.topics["evt_summaryState"]
    expected = hashlib.md5(json.dumps(topic.avro_schema, indent=4).encode()).hexdigest()[:8]
    assert topic.rev_code == expected
    assert len(topic.rev_code) == 8


def test_sal_topic_names_sorted_and_cmdtype_rule() -> None:
    info = salkit.get_component_info("Test")
    names = info.sal_topic_names
    assert names == sorted(names)
    assert "ackcmd" in names and "scalars" in names and "logevent_scalars" in names
    assert "command_setScalars" in names


def test_generic_categories_select_topics(demo_info: ComponentInfo) -> None:
    assert set(demo_info.commands) == {"start", "enable", "disable", "standby", "exitControl", "setLogLevel"}
    assert set(demo_info.events) == {
        "heartbeat",
        "logLevel",
        "logMessage",
        "softwareVersions",
        "summaryState",
        "errorCode",
        "simulationMode",
        "largeFileObjectAvailable",
    }
    test_info = salkit.get_component_info("Test")
    assert {"configurationsAvailable", "configurationApplied", "scalars", "arrays"} <= set(test_info.events)
    assert "largeFileObjectAvailable" not in test_info.events
    assert set(test_info.telemetry) == {"scalars", "arrays"}
    assert set(test_info.commands) >= {"setScalars", "setArrays", "fault", "wait"}


def test_unknown_added_generic_is_a_clear_error() -> None:
    with pytest.raises(salkit.InterfaceDefinitionError, match="noSuchThing"):
        ComponentInfo.from_definitions("X", {"name": "X", "added_generics": ["noSuchThing"]}, load_generics())


def test_unknown_component_is_a_clear_error() -> None:
    with pytest.raises(salkit.UnknownComponentError, match="No such SAL component 'NoSuchCsc'"):
        salkit.get_component_info("NoSuchCsc")


def test_add_interface_dir_finds_new_component(tmp_path: typing.Any) -> None:
    (tmp_path / "Extra.yaml").write_text("name: Extra\nindexed: false\nadded_generics: [csc]\n")
    salkit.add_interface_dir(tmp_path)
    info = salkit.get_component_info("Extra")
    assert not info.indexed
    assert "Extra" in salkit.component_names()
    assert "summaryState" in info.events


def test_data_class_defaults() -> None:
    info = salkit.get_component_info("Test")
    arrays = info.telemetry["arrays"].DataType()
    assert arrays.salIndex == 0  # type: ignore[attr-defined]
    assert arrays.private_revCode == ""  # type: ignore[attr-defined]
    assert arrays.boolean0 == [False] * 5  # type: ignore[attr-defined]
    assert arrays.longLong0 == [0] * 5  # type: ignore[attr-defined]
    assert arrays.double0 == [0.0] * 5  # type: ignore[attr-defined]
    other = info.telemetry["arrays"].DataType()
    arrays.int0[0] = 7  # type: ignore[attr-defined]
    assert other.int0 == [0] * 5, "defaults must not be shared between instances"  # type: ignore[attr-defined]
    scalars = info.events["scalars"].DataType()
    assert (scalars.boolean0, scalars.int0, scalars.float0, scalars.string0) == (False, 0, 0.0, "")  # type: ignore[attr-defined]
    assert type(scalars).__name__ == "logevent_scalars"
    assert list(scalars.get_vars())[:2] == ["salIndex", "private_sndStamp"]
