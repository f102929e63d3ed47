"""Tests of configuration directories, overrides, merging and schema validation."""

import subprocess
from pathlib import Path

import pytest

from lsst.ts.salkit.configuration import (
    ConfigDirectory,
    ConfigOverride,
    ConfigSchema,
    ConfigurationError,
    hierarchical_update,
)

SCHEMA = """
$schema: http://json-schema.org/draft-07/schema#
title: Demo v3
type: object
properties:
  name: {type: string}
  count: {type: integer, minimum: 0}
  nested:
    type: object
    properties:
      a: {type: number}
      b: {type: string}
    required: [a, b]
required: [name, count, nested]
additionalProperties: false
"""


def write(path: Path, text: str) -> None:
    path.write_text(text)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    write(
        tmp_path / "_init.yaml", "metadata: {note: ignored}\nname: init\ncount: 1\nnested: {a: 1.5, b: x}\n"
    )
    write(tmp_path / "_test.yaml", "name: test-site\n")
    write(tmp_path / "big.yaml", "count: 99\nnested: {b: y}\n")
    write(tmp_path / "notes.txt", "not a config")
    return tmp_path


def test_merge_nested_dicts_key_by_key() -> None:
    main = {"a": 1, "d": {"x": 1, "y": 2}}
    hierarchical_update(main, {"b": 2, "d": {"y": 3, "z": 4}})
    assert main == {"a": 1, "b": 2, "d": {"x": 1, "y": 3, "z": 4}}


def test_merge_dict_versus_scalar_conflict_names_the_key() -> None:
    with pytest.raises(ValueError, match="d.x"):
        hierarchical_update({"d": {"x": {"deep": 1}}}, {"d": {"x": 5}})


@pytest.mark.parametrize(
    ("text", "filename", "gitref"),
    [
        ("", "", ""),
        ("big.yaml", "big.yaml", ""),
        (":abc123", "", "abc123"),
        ("big.yaml:HEAD~2", "big.yaml", "HEAD~2"),
    ],
)
def test_override_grammar(text: str, filename: str, gitref: str) -> None:
    override = ConfigOverride.parse(text)
    assert (override.filename, override.gitref) == (filename, gitref)
    assert str(override) == text


@pytest.mark.parametrize("text", ["_init.yaml", "../etc/passwd", "a/b.yaml", "x.yaml:", "a:b:c"])
def test_override_rejects_reserved_and_hostile_names(text: str) -> None:
    with pytest.raises(ConfigurationError):
        ConfigOverride.parse(text)


def test_read_applies_init_site_and_override_in_order(config_dir: Path) -> None:
    result = ConfigDirectory(config_dir).read("big.yaml", site="test")
    assert result.filenames == ["_init.yaml", "_test.yaml", "big.yaml"]
    assert result.config == {"name": "test-site", "count": 99, "nested": {"a": 1.5, "b": "y"}}


def test_read_without_site_file_uses_init_only(config_dir: Path) -> None:
    result = ConfigDirectory(config_dir).read("", site="summit")
    assert result.filenames == ["_init.yaml"]
    assert result.config["name"] == "init"


def test_missing_override_lists_the_available_ones(config_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="big.yaml"):
        ConfigDirectory(config_dir).read("nope.yaml")


def test_invalid_yaml_names_the_file(config_dir: Path) -> None:
    write(config_dir / "broken.yaml", "count: [1, 2\n")
    with pytest.raises(ConfigurationError, match="broken.yaml"):
        ConfigDirectory(config_dir).read("broken.yaml")


def test_non_mapping_file_is_rejected(config_dir: Path) -> None:
    write(config_dir / "list.yaml", "- 1\n- 2\n")
    with pytest.raises(ConfigurationError, match="mapping"):
        ConfigDirectory(config_dir).read("list.yaml")


def test_overrides_lists_public_yaml_files_sorted(config_dir: Path) -> None:
    write(config_dir / "a.yaml", "count: 2\n")
    directory = ConfigDirectory(config_dir)
    assert directory.overrides() == ["a.yaml", "big.yaml"]
    assert directory.url.startswith("file:///")
    assert directory.version() == ""


def test_gitref_reads_files_as_committed(config_dir: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=config_dir, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "first")
    write(config_dir / "big.yaml", "count: 7\n")
    directory = ConfigDirectory(config_dir)
    assert directory.read("big.yaml").config["count"] == 7
    assert directory.read("big.yaml:HEAD").config["count"] == 99
    assert directory.version().endswith("-dirty")
    with pytest.raises(ConfigurationError, match="no-such-ref"):
        directory.read(":no-such-ref")


def test_schema_version_comes_from_title() -> None:
    assert ConfigSchema(SCHEMA).version == "v3"


def test_schema_title_without_version_is_rejected() -> None:
    with pytest.raises(ValueError, match="v<N>"):
        ConfigSchema({"title": "Demo", "type": "object"})


def test_schema_validation_names_every_bad_field(config_dir: Path) -> None:
    schema = ConfigSchema(SCHEMA)
    config = ConfigDirectory(config_dir).read().config
    schema.validate(config)
    config["count"] = -1
    config["nested"]["a"] = "text"
    with pytest.raises(ConfigurationError) as info:
        schema.validate(config)
    assert "count" in str(info.value) and "nested.a" in str(info.value)


def test_schema_does_not_apply_defaults() -> None:
    schema = ConfigSchema(
        {
            "title": "D v1",
            "type": "object",
            "properties": {"x": {"type": "integer", "default": 3}},
            "required": ["x"],
        }
    )
    with pytest.raises(ConfigurationError, match="'x' is a required property"):
        schema.validate({})
