"""Destination configuration, its JSON schema, retry policy, keys and notifications."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lsst.ts.archiver.delivery import (
    DESTINATION_SCHEMA,
    DestinationConfig,
    DestinationConfigError,
    DestinationRole,
    DirectorySink,
    IngestMode,
    RetryPolicy,
    TransferResult,
    UnsafeNameError,
    bucket_notification,
    check_file_name,
    destinations_from_config,
    object_key,
    validate_target,
)


def test_defaults_fill_every_optional_field() -> None:
    config = DestinationConfig.from_dict({"name": "oods", "role": "oods", "target": "/data/oods/"})
    assert config.target == "file:///data/oods/"
    assert (config.enabled, config.concurrency, config.lease, config.butler) == (True, 4, 300.0, None)
    assert config.retry == RetryPolicy(max_attempts=10, initial_delay=1.0, max_delay=300.0, multiplier=2.0)
    assert config.role is DestinationRole.OODS


def test_butler_and_notifications_are_parsed() -> None:
    config = DestinationConfig.from_dict(
        {
            "name": "embargo",
            "role": "prompt",
            "target": "s3://profile@rubin-embargo/raw",
            "notifications": {"kind": "directory", "directory": "/tmp/notes"},
            "butler": {"repo": "/repo/embargo", "ingest_mode": "copy"},
        }
    )
    assert config.target == "s3://profile@rubin-embargo/raw/"
    assert config.butler is not None and config.butler.ingest_mode is IngestMode.COPY
    assert config.notifications is not None and config.notifications.event_name == "ObjectCreated:Put"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "role": "oods"}, "'target' is a required property"),
        ({"name": "x", "role": "archive", "target": "/d"}, "role: 'archive' is not one of"),
        ({"name": "../x", "role": "oods", "target": "/d"}, "name: '../x' does not match"),
        ({"name": "x", "role": "oods", "target": "/d", "concurrency": 0}, "concurrency: 0 is less than"),
        ({"name": "x", "role": "oods", "target": "/d", "colour": "red"}, "'colour' was unexpected"),
        ({"name": "x", "role": "prompt", "target": "/d"}, "no 'notifications' sink"),
        (
            {
                "name": "x",
                "role": "oods",
                "target": "/d",
                "notifications": {"kind": "directory", "directory": "/n"},
            },
            "only for role 'prompt'",
        ),
        ({"name": "x", "role": "oods", "target": "relative/dir"}, "must be an absolute directory"),
        ({"name": "x", "role": "oods", "target": "ftp://host/d"}, "scheme 'ftp'"),
        ({"name": "x", "role": "oods", "target": "/data/../etc"}, "'..' segment"),
        ({"name": "x", "role": "oods", "target": "https://u:secret@dav.example.org/raw"}, "has a password"),
        ({"name": "x", "role": "oods", "target": "s3://No_Such/raw"}, "bad bucket name 'No_Such'"),
        ({"name": "x", "role": "oods", "target": "s3://bucket/raw?x=1"}, "query or fragment"),
        (
            {"name": "x", "role": "oods", "target": "https://dav.example.org/raw", "butler": {"repo": "/r"}},
            "direct ingest needs",
        ),
        (
            {"name": "x", "role": "oods", "target": "/d", "retry": {"initial_delay": 10, "max_delay": 1}},
            "exceeds",
        ),
    ],
)
def test_bad_configuration_is_rejected_with_the_field_and_value(data: dict[str, Any], message: str) -> None:
    with pytest.raises(DestinationConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        DestinationConfig.from_dict(data)


def test_destination_names_must_be_unique() -> None:
    with pytest.raises(DestinationConfigError, match="Two destinations are named 'a'"):
        destinations_from_config(
            [{"name": "a", "role": "oods", "target": "/x"}, {"name": "a", "role": "dbb", "target": "/y"}]
        )


def test_schema_describes_every_field_and_accepts_its_defaults() -> None:
    jsonschema.Draft7Validator.check_schema(DESTINATION_SCHEMA)

    def walk(node: dict[str, Any], path: str) -> None:
        for name, sub in node.get("properties", {}).items():
            assert sub.get("description"), f"{path}.{name} has no description"
            walk(sub, f"{path}.{name}")
        for option in node.get("oneOf", []):
            walk(option, path)

    walk(DESTINATION_SCHEMA, "destination")
    # The fragment embeds into a CSC schema as the items of a list.
    csc_schema = {
        "type": "object",
        "properties": {"destinations": {"type": "array", "items": DESTINATION_SCHEMA}},
    }
    jsonschema.validate({"destinations": [{"name": "a", "role": "copy", "target": "/x"}]}, csc_schema)


def test_retry_delay_grows_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=5, initial_delay=1.0, max_delay=10.0, multiplier=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 3.0, 9.0, 10.0, 10.0]
    assert not policy.exhausted(4) and policy.exhausted(5)
    assert RetryPolicy(max_delay=5.0).delay(10_000) == 5.0


def test_object_keys_follow_production_layout() -> None:
    key = object_key("LSSTCam", 20261123, "MC_O_20261123_000042", "MC_O_20261123_000042_R22_S11.fits")
    assert key == "LSSTCam/20261123/MC_O_20261123_000042/MC_O_20261123_000042_R22_S11.fits"


@pytest.mark.parametrize(
    ("instrument", "day_obs", "obsid", "name"),
    [
        ("LSSTCam", 20261123, "MC_O_20261123_000042", "../../etc/passwd"),
        ("LSSTCam", 20261123, "MC_O_20261123_000042", "MC_O_20261123_000042_R22_S11.fits/../x"),
        ("LSSTCam", 20261123, "MC_O_20261123_000042", "MC_O_20261123_000041_R22_S11.fits"),
        ("LSSTCam", 20261123, "../MC_O_20261123_000042", "MC_O_20261123_000042_R22_S11.fits"),
        ("LSST/Cam", 20261123, "MC_O_20261123_000042", "MC_O_20261123_000042_R22_S11.fits"),
        ("LSSTCam", "2026/1123", "MC_O_20261123_000042", "MC_O_20261123_000042_R22_S11.fits"),
        ("LSSTCam", 20261123, "MC_O_20261123_000042", "MC_O_20261123_000042_R22_S11.fits\x00"),
    ],
)
def test_hostile_names_never_make_a_key(instrument: str, day_obs: Any, obsid: str, name: str) -> None:
    with pytest.raises(UnsafeNameError):
        object_key(instrument, day_obs, obsid, name)


def test_file_names_without_directory_parts_only() -> None:
    assert check_file_name("AT_O_20261123_000001_R00_S00.fits.fz") == "AT_O_20261123_000001_R00_S00.fits.fz"
    for bad in ("", ".hidden", "a/b", "a\\b", "..", "x..y"):
        with pytest.raises(UnsafeNameError):
            check_file_name(bad)


def test_target_normalization() -> None:
    assert validate_target("file:///data//oods/") == "file:///data/oods/"
    assert validate_target("s3://bucket") == "s3://bucket/"
    assert validate_target("https://dav.example.org/raw") == "https://dav.example.org/raw/"


def test_bucket_notification_has_the_fields_prompt_processing_reads(tmp_path: Path) -> None:
    result = TransferResult(
        uri="s3://rubin-embargo/LSSTCam/20261123/MC_O_20261123_000042/MC_O_20261123_000042_R22_S11.fits",
        key="LSSTCam/20261123/MC_O_20261123_000042/MC_O_20261123_000042_R22_S11.fits",
        size=1234,
        checksum="md5:abc",
        etag="abc",
    )
    note = bucket_notification(result, configuration_id="prompt", now=0.0)
    record = note["Records"][0]
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["eventTime"] == "1970-01-01T00:00:00.000Z"
    assert record["s3"]["bucket"]["name"] == "rubin-embargo"
    assert record["s3"]["object"] == {"key": result.key, "size": 1234, "eTag": "abc"}
    sink = DirectorySink(str(tmp_path))
    sink.send(note)
    sink.send(note)
    written = sorted(tmp_path.iterdir())
    assert len(written) == 2 and json.loads(written[0].read_text()) == note
