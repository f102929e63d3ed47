"""Hierarchical merge of configuration dictionaries."""

from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = ["hierarchical_update"]


def hierarchical_update(main: MutableMapping[str, Any], override: Mapping[str, Any], path: str = "") -> None:
    """Merge ``override`` into ``main`` in place, nested dicts key by key.

    Parameters
    ----------
    main : `dict`
        Configuration to update.
    override : `dict`
        Values that win. A nested dict merges into the dict of the same key; any
        other value replaces the old one.
    path : `str`, optional
        Dotted path of ``main`` within the whole configuration (for messages).

    Raises
    ------
    ValueError
        If one side has a dict where the other has a non-dict value.
    """
    for key, new_value in override.items():
        key_path = f"{path}.{key}" if path else str(key)
        if key not in main:
            main[key] = new_value
            continue
        old_value = main[key]
        old_is_dict = isinstance(old_value, Mapping)
        new_is_dict = isinstance(new_value, Mapping)
        if old_is_dict and new_is_dict:
            hierarchical_update(old_value, new_value, key_path)
        elif old_is_dict or new_is_dict:
            raise ValueError(
                f"cannot merge configuration key {key_path!r}: "
                f"{type(old_value).__name__} cannot be replaced by {type(new_value).__name__}"
            )
        else:
            main[key] = new_value
