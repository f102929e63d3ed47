"""The ``:``-separated lists of the camera events and ``keyValueMap``.

The lists (``additionalKeys``/``additionalValues``, ``ccdLocation``, ...)
are read and written by `lsst.ts.archiver.camera.additional_keys`; its names
are re-exported here for the simulators.

``keyValueMap`` of ``takeImages`` is ``"key: value, key2: value2"``; the
first ``:`` of each comma-separated item ends the key.
"""

from __future__ import annotations

__all__ = [
    "KeyValueError",
    "additional_keys_values",
    "join_list",
    "parse_additional",
    "parse_key_value_map",
    "split_list",
]

import re

from ..camera.additional_keys import (
    KeyValueError,
    additional_keys_values,
    join_list,
    parse_additional,
    split_list,
)

_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def parse_key_value_map(text: str) -> dict[str, str]:
    """Parse the ``keyValueMap`` argument of ``takeImages``.

    Parameters
    ----------
    text : `str`
        ``"imageType: OBJECT, groupId: 2024-11-23T01:02:03.456"``; blank
        items are ignored.

    Returns
    -------
    values : `dict` [`str`, `str`]
        Keys and values, stripped, in the order given.

    Raises
    ------
    KeyValueError
        If an item has no ``:``, a key is not an identifier, or a key repeats.
    """
    values: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition(":")
        key = key.strip()
        if not sep:
            raise KeyValueError(f"keyValueMap item {item.strip()!r} has no ':'; use 'key: value'")
        if not _KEY_RE.match(key):
            raise KeyValueError(f"keyValueMap key {key!r} is not an identifier (letters, digits, '_')")
        if key in values:
            raise KeyValueError(f"keyValueMap key {key!r} is given twice")
        values[key] = value.strip()
    return values
