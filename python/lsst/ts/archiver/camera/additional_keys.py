"""The ``:``-separated lists of the camera's SAL events (pure).

The camera publishes the extra keys of ``takeImages`` as two parallel
``:``-separated strings, ``additionalKeys`` and ``additionalValues``, and
lists of detectors the same way (``ccdLocation``, ``raftBay``, ``ccdSlot``).
Values such as ``groupId`` (an ISO time) contain ``:`` themselves, so a ``:``
or ``\\`` inside an item is escaped with a backslash (``\\:``, ``\\\\``).
`split_list` is the inverse of `join_list`.
"""

from __future__ import annotations

__all__ = [
    "KeyValueError",
    "additional_keys_values",
    "join_list",
    "parse_additional",
    "split_list",
]

from collections.abc import Iterable, Mapping


class KeyValueError(ValueError):
    """A ``keyValueMap`` or ``additionalKeys``/``additionalValues`` pair is malformed."""


def join_list(items: Iterable[str]) -> str:
    """Join items with ``:``, escaping ``\\`` and ``:`` inside them."""
    return ":".join(item.replace("\\", "\\\\").replace(":", "\\:") for item in items)


def split_list(text: str, *, strict: bool = True) -> list[str]:
    """Split a `join_list` string into its items (``""`` gives no items).

    Parameters
    ----------
    text : `str`
        The ``:``-separated list; a backslash escapes the next character.
    strict : `bool`, optional
        If false, a trailing lone backslash is dropped instead of rejected
        (for reading whatever the camera published).

    Returns
    -------
    items : `list` [`str`]
        The items, unescaped, in order.

    Raises
    ------
    KeyValueError
        If ``strict`` and the text ends in a lone backslash.
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
                if strict:
                    raise KeyValueError(f"list {text!r} ends in a lone backslash; escape it as '\\\\'")
                break
            current.append(escaped)
        elif char == ":":
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items


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
