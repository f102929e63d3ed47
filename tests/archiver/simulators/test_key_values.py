"""The keyValueMap argument of takeImages (the ':'-separated lists are
tested in tests/archiver/camera/test_camera_additional_keys.py)."""

from __future__ import annotations

import pytest

from lsst.ts.archiver.simulators import KeyValueError, parse_key_value_map


def test_parse_key_value_map_keeps_colons_in_values() -> None:
    parsed = parse_key_value_map("imageType: OBJECT, groupId: 2024-11-23T01:02:03.456,  , reason:  test ")
    assert parsed == {"imageType": "OBJECT", "groupId": "2024-11-23T01:02:03.456", "reason": "test"}
    assert parse_key_value_map("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [("imageType OBJECT", "has no ':'"), ("1x: a", "not an identifier"), ("a: 1, a: 2", "given twice")],
)
def test_parse_key_value_map_rejects_malformed_items(text: str, message: str) -> None:
    with pytest.raises(KeyValueError, match=message):
        parse_key_value_map(text)
