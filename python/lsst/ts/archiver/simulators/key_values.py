"""The ``:``-separated lists of the camera events and ``keyValueMap``.

The camera publishes the extra keys of ``takeImages`` as two parallel
``:``-separated strings, ``additionalKeys`` and ``additionalValues``. Values
such as ``groupId`` (an ISO time) contain ``:`` themselves, so a ``:`` or
``\\`` inside an item is escaped with a backslash (``\\:``, ``\\\\``).
`split_list` is the inverse of `join_list`.

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
from collections.abc import Iterable, Mapping

_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class KeyValueError(ValueError):
    """A ``keyValueMap`` or ``additionalKeys``/``additionalValues`` pair is malformed."""


def join_list(items: Iterable[str]) -> str:
    """Join items with ``:``, escaping ``\\`` and ``:`` inside them."""
    return ":".join(item.replace("\\", "\\\\").replace(":", "\\:") for item in items)


def split_list(text: str) -> list[str]:
    """Split a `join_list` string into its items (``""`` gives no items).

    Raises
    ------
    KeyValueError
        If the text ends in a lone backslash.
    """
    if not text:
        return []
    items: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped is None:
                raise KeyValueError(f"list {text!r} ends in a lone backslash; escape it as '\\\\'")
            current.append(escaped)
        elif char == ":":
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items


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


def additional_keys_values(values: Mapping[str, str]) -> tuple[str, str]:
    """``(additionalKeys, additionalValues)`` for a mapping of extra keys."""
    return join_list(values.keys()), join_list(values.values())


def parse_additional(keys: str, values: str) -> dict[str, str]:
    """Inverse of `additional_keys_values`.

    Raises
    ------
    KeyValueError
        If the two lists have different lengths.
    """
    key_list = split_list(keys)
    value_list = split_list(values)
    if len(key_list) != len(value_list):
        raise KeyValueError(
            f"additionalKeys has {len(key_list)} items ({keys!r}) but additionalValues has "
            f"{len(value_list)} ({values!r})"
        )
    return dict(zip(key_list, value_list, strict=True))
