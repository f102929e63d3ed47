"""Avro helpers: revision code and validation of samples against a schema."""

from __future__ import annotations

__all__ = ["compute_rev_code", "parse_avro_schema"]

import hashlib
import json
import typing


def compute_rev_code(avro_schema: dict[str, typing.Any]) -> str:
    """Return the SAL revision code of an Avro schema.

    The code is the first 8 hex digits of the md5 of
    ``json.dumps(avro_schema, indent=4)``.
    """
    return hashlib.md5(json.dumps(avro_schema, indent=4).encode()).hexdigest()[:8]


def parse_avro_schema(avro_schema: dict[str, typing.Any]) -> typing.Any:
    """Parse an Avro schema with fastavro (validates it).

    Returns
    -------
    parsed : `dict`
        The parsed schema, usable with fastavro's reader and writer.
    """
    import fastavro

    return fastavro.parse_schema(avro_schema)
