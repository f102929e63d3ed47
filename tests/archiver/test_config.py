"""`ArchiverConfig`: the validated configuration as frozen, typed objects."""

from __future__ import annotations

import copy
import dataclasses
import os
import types
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lsst.ts.archiver.camera import get_camera
from lsst.ts.archiver.config import ArchiverConfig, ArchiverConfigError, absolute_sqlite_url
from lsst.ts.archiver.config_schema import CONFIG_SCHEMA

INIT = Path(__file__).resolve().parents[2] / "config" / "ATArchiver" / "v1" / "_init.yaml"


def validated() -> dict[str, Any]:
    return yaml.safe_load(INIT.read_text())


def test_blank_names_take_the_cameras_defaults_and_paths_become_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    values = validated()
    values["daq"] = {**values["daq"], "root": "daq", "partition": ""}
    values["staging"] = {**values["staging"], "directory": "staging"}
    values["header_service"] = {**values["header_service"], "name": ""}
    values["ledger_url"] = "ledger.sqlite3"
    values["destinations"][0] = {**values["destinations"][0], "target": "oods"}
    original = copy.deepcopy(values)
    config = ArchiverConfig.from_validated(types.SimpleNamespace(**values), get_camera("ATArchiver"))
    assert values == original, "the validated configuration must not be modified"
    assert config.daq.root == os.fspath(tmp_path / "daq")
    assert config.daq.partition == "lat"
    assert config.header_service.name == "ATHeaderService"
    assert config.staging.directory == os.fspath(tmp_path / "staging")
    assert config.ledger_url == f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    assert config.destinations[0].target == (tmp_path / "oods").as_uri() + "/"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.daq.root = "/elsewhere"  # type: ignore[misc]


def test_oods_destinations_fall_back_to_every_enabled_destination() -> None:
    values = validated()
    config = ArchiverConfig.from_validated(values, get_camera("ATArchiver"))
    assert config.oods_destinations == {"oods"}
    values["destinations"] = [d for d in values["destinations"] if d["role"] != "oods"]
    config = ArchiverConfig.from_validated(values, get_camera("ATArchiver"))
    assert config.oods_destinations == {d.name for d in config.enabled_destinations}


def test_with_daq_root_returns_a_copy() -> None:
    config = ArchiverConfig.from_validated(validated(), get_camera("ATArchiver"))
    moved = config.with_daq_root(Path("/sim/daq"))
    assert moved.daq.root == "/sim/daq" and config.daq.root != "/sim/daq"
    assert moved.daq.partition == config.daq.partition


def test_no_enabled_destination_is_an_error() -> None:
    values = validated()
    values["destinations"] = [{**d, "enabled": False} for d in values["destinations"]]
    with pytest.raises(ArchiverConfigError, match="No enabled destination"):
        ArchiverConfig.from_validated(values, get_camera("ATArchiver"))


def test_duplicate_destination_names_are_an_error() -> None:
    values = validated()
    values["destinations"] = [values["destinations"][0]] * 2
    with pytest.raises(ArchiverConfigError, match="Bad destinations.*unique"):
        ArchiverConfig.from_validated(values, get_camera("ATArchiver"))


def test_sqlite_urls_become_absolute_and_others_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert absolute_sqlite_url("sqlite:///l.db") == f"sqlite:///{tmp_path / 'l.db'}"
    assert absolute_sqlite_url("sqlite:////abs/l.db") == "sqlite:////abs/l.db"
    url = "postgresql+psycopg://archiver@db:5432/archiver"
    assert absolute_sqlite_url(url) == url


@pytest.mark.parametrize("component", ["ATArchiver", "CCArchiver", "MTArchiver"])
def test_late_header_window_is_600_s_by_default_and_0_is_valid_a_negative_one_is_not(component: str) -> None:
    values = yaml.safe_load((INIT.parents[2] / component / "v1" / "_init.yaml").read_text())
    jsonschema.validate(values, CONFIG_SCHEMA)
    assert (
        ArchiverConfig.from_validated(values, get_camera(component)).header_service.late_header_window
        == 600.0
    )
    values["header_service"]["late_header_window"] = 0
    jsonschema.validate(values, CONFIG_SCHEMA)
    assert (
        ArchiverConfig.from_validated(values, get_camera(component)).header_service.late_header_window == 0.0
    )
    values["header_service"]["late_header_window"] = -1
    with pytest.raises(jsonschema.ValidationError, match="late_header_window|-1"):
        jsonschema.validate(values, CONFIG_SCHEMA)
