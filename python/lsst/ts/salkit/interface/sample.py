"""Typed data classes for topic samples, generated from a TopicInfo."""

from __future__ import annotations

__all__ = ["BaseSample", "make_sample_class"]

import dataclasses
import functools
import typing

if typing.TYPE_CHECKING:
    from .topic_info import TopicInfo


class BaseSample:
    """Base class of every generated topic data class.

    Subclasses are dataclasses with one attribute per field (private fields
    first); every field has a default.
    """

    #: Field names in wire order (set on each generated class).
    field_names: typing.ClassVar[tuple[str, ...]] = ()
    #: Names of the array fields (set on each generated class).
    array_field_names: typing.ClassVar[frozenset[str]] = frozenset()
    #: The topic this class belongs to (set on each generated class).
    topic_info: typing.ClassVar[TopicInfo]

    def get_vars(self) -> dict[str, typing.Any]:
        """Return a new dict of field name: value (arrays are copied)."""
        return {
            name: list(value) if name in self.array_field_names else value
            for name, value in ((name, getattr(self, name)) for name in self.field_names)
        }

    def copy(self) -> typing.Self:
        """Return a copy whose arrays are not shared with this sample."""
        return type(self)(**self.get_vars())

    @classmethod
    def from_vars(cls, data: typing.Mapping[str, typing.Any]) -> typing.Self:
        """Make a sample from a mapping; unknown keys are ignored,
        missing keys get their default. Arrays are copied."""
        kwargs = {
            name: (list(value) if name in cls.array_field_names else value)
            for name, value in data.items()
            if name in cls.field_names
        }
        return cls(**kwargs)


def make_sample_class(topic_info: TopicInfo) -> type[BaseSample]:
    """Make the data class of a topic.

    The class is named after the SAL topic name, has one attribute per
    field (private fields first) with default values (False, 0, 0.0, ""
    or a list of ``count`` of those), and derives from `BaseSample`.
    """
    dc_fields: list[tuple[str, type, typing.Any]] = []
    for field in topic_info.fields.values():
        if field.is_array:
            default = field.make_default()
            dc_fields.append(
                (
                    field.name,
                    list[field.python_type],  # type: ignore[name-defined]
                    dataclasses.field(default_factory=functools.partial(list, default)),
                )
            )
        else:
            dc_fields.append((field.name, field.python_type, dataclasses.field(default=field.default_scalar)))
    cls = typing.cast(
        type[BaseSample], dataclasses.make_dataclass(topic_info.sal_name, dc_fields, bases=(BaseSample,))
    )
    cls.field_names = tuple(topic_info.fields)
    cls.array_field_names = frozenset(f.name for f in topic_info.fields.values() if f.is_array)
    cls.topic_info = topic_info
    cls.__module__ = f"lsst.ts.salkit.generated.{topic_info.component_name}"
    cls.__doc__ = topic_info.description or f"Sample of {topic_info.component_name}.{topic_info.sal_name}."
    return cls
