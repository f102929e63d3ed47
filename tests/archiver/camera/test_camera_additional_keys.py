"""The ':'-separated lists of the camera events (additionalKeys/additionalValues, ccdLocation)."""

from __future__ import annotations

import pytest

from lsst.ts.archiver.camera import (
    KeyValueError,
    additional_keys_values,
    join_list,
    parse_additional,
    split_list,
)


@pytest.mark.parametrize(
    "items",
    [[], ["a"], ["", ""], ["R22_S11", "R22_S12"], ["2024-11-23T01:02:03.456", "a\\b", ":", "\\:", "x\\"]],
)
def test_split_list_inverts_join_list_with_colons_and_backslashes(items: list[str]) -> None:
    assert split_list(join_list(items)) == items


def test_join_list_escapes_colons_inside_items() -> None:
    assert join_list(["imageType", "groupId"]) == "imageType:groupId"
    assert join_list(["12:30"]) == "12\\:30"


def test_split_list_rejects_a_trailing_lone_backslash() -> None:
    with pytest.raises(KeyValueError, match="lone backslash"):
        split_list("abc\\")


def test_split_list_not_strict_drops_a_trailing_lone_backslash() -> None:
    assert split_list("a:bc\\", strict=False) == ["a", "bc"]
    assert split_list("a\\:b:c", strict=False) == ["a:b", "c"]


def test_parse_additional_inverts_additional_keys_values() -> None:
    values = {"imageType": "FLAT", "groupId": "2024-11-23T01:02:03.456"}
    keys_text, values_text = additional_keys_values(values)
    assert keys_text == "imageType:groupId"
    assert parse_additional(keys_text, values_text) == values


def test_parse_additional_rejects_lists_of_different_lengths() -> None:
    with pytest.raises(KeyValueError, match="2 items"):
        parse_additional("a:b", "1")
