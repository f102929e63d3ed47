"""``status_page`` in the Archiver's configuration: optional, off by default, validated."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from lsst.ts.archiver.config import StatusPageSettings
from lsst.ts.archiver.config_schema import CONFIG_SCHEMA

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("component", ["ATArchiver", "CCArchiver", "MTArchiver"])
def test_default_configuration_has_the_page_off_on_loopback(component: str) -> None:
    config = yaml.safe_load((REPO / "config" / component / "v1" / "_init.yaml").read_text())
    jsonschema.validate(config, CONFIG_SCHEMA)
    assert StatusPageSettings.from_validated(config["status_page"]) == StatusPageSettings(None, "127.0.0.1")
    del config["status_page"]
    jsonschema.validate(config, CONFIG_SCHEMA)  # optional: older site files stay valid


def test_settings_from_validated_values() -> None:
    assert StatusPageSettings.from_validated(None).port is None
    assert StatusPageSettings.from_validated({"port": 0}) == StatusPageSettings(0, "127.0.0.1")
    assert StatusPageSettings.from_validated({"port": 8480, "host": "::1"}) == StatusPageSettings(8480, "::1")


@pytest.mark.parametrize(
    "status_page",
    [
        {"port": 70000},
        {"port": -1},
        {"port": "8480"},
        {"port": 8480, "host": ""},
        {"port": 8480, "path": "/"},
    ],
)
def test_bad_status_page_settings_are_refused(status_page: dict[str, object]) -> None:
    config = yaml.safe_load((REPO / "config" / "CCArchiver" / "v1" / "_init.yaml").read_text())
    config["status_page"] = status_page
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, CONFIG_SCHEMA)
