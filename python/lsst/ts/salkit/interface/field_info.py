"""One field of a SAL topic: its SAL type, array length, units and description."""

from __future__ import annotations

__all__ = ["AVRO_TYPES", "PYTHON_TYPES", "FieldInfo"]

import dataclasses
import typing

#: Avro type of each supported SAL (IDL) type. Note that SAL ``long`` is 32 bits.
AVRO_TYPES: dict[str, str] = {
    "boolean": "boolean",
    "byte": "int",
    "short": "int",
    "int": "int",
    "long": "int",
    "unsigned short": "int",
    "long long": "long",
    "unsigned int": "long",
    "float": "float",
    "double": "double",
    "string": "string",
}

#: Python scalar type of each supported SAL (IDL) type.
PYTHON_TYPES: dict[str, type] = {
    "boolean": bool,
    "byte": int,
    "short": int,
    "int": int,
    "long": int,
    "unsigned short": int,
    "long long": int,
    "unsigned int": int,
    "float": float,
    "double": float,
    "string": str,
}


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """Description of one field of a SAL topic.

    Parameters
    ----------
    name : `str`
        Field name, e.g. ``summaryState``.
    sal_type : `str`
        SAL (IDL) type name, one of the keys of `AVRO_TYPES`.
    count : `int`
        Number of elements; a field with ``count > 1`` is an array,
        except for strings, for which count is ignored (always scalar).
    units : `str`
        Units, e.g. ``second`` or ``unitless``.
    description : `str`
        Description, written verbatim into the Avro schema.

    Raises
    ------
    ValueError
        If ``sal_type`` is not supported or ``count < 1``.
    """

    name: str
    sal_type: str
    count: int = 1
    units: str = "unitless"
    description: str = ""

    def __post_init__(self) -> None:
        if self.sal_type not in AVRO_TYPES:
            raise ValueError(
                f"Field {self.name!r} has unsupported SAL type {self.sal_type!r}; "
                f"use one of {sorted(AVRO_TYPES)}"
            )
        if self.count < 1:
            raise ValueError(f"Field {self.name!r} has count={self.count}; count must be >= 1")
        if self.sal_type == "string" and self.count != 1:
            # A count on a string is ignored by SAL: strings are always scalar.
            object.__setattr__(self, "count", 1)

    @property
    def is_array(self) -> bool:
        """Is this field an array (``count > 1``)?"""
        return self.count > 1

    @property
    def avro_type(self) -> str:
        """Avro type of one element."""
        return AVRO_TYPES[self.sal_type]

    @property
    def python_type(self) -> type:
        """Python type of one element."""
        return PYTHON_TYPES[self.sal_type]

    @property
    def default_scalar(self) -> typing.Any:
        """Default value of one element (False, 0, 0.0 or "")."""
        return self.python_type()

    def make_default(self) -> typing.Any:
        """Return a new default value: a scalar, or a new list for arrays."""
        if self.is_array:
            return [self.default_scalar] * self.count
        return self.default_scalar

    def make_avro_schema(self) -> dict[str, typing.Any]:
        """Return the Avro schema of this field, as a record field dict.

        Keys are, in order: name, type, default, description, units.
        """
        avro_type: typing.Any = self.avro_type
        if self.is_array:
            avro_type = {"type": "array", "items": avro_type}
        return {
            "name": self.name,
            "type": avro_type,
            "default": self.make_default(),
            "description": self.description,
            "units": self.units,
        }
