"""Configuration schema: draft-07 JSON schema with a versioned title."""

import re
from collections.abc import Mapping
from typing import Any

import jsonschema
import yaml

from .errors import ConfigurationError

__all__ = ["ConfigSchema"]

_TITLE_VERSION = re.compile(r"\s(v\d+)$")


class ConfigSchema:
    """A CSC's configuration schema.

    Parameters
    ----------
    schema : `dict` or `str`
        The schema as a dict or as YAML text. It must be a valid draft-07 JSON
        schema whose ``title`` ends in `` v<N>``; ``v<N>`` is the schema version and
        names the configuration sub-directory.

    Raises
    ------
    ValueError
        If the schema is not a valid draft-07 schema or the title has no version.

    Notes
    -----
    As in ts_salobj's ConfigurableCsc, defaults in the schema are not applied:
    every required value must come from the configuration files.
    """

    def __init__(self, schema: Mapping[str, Any] | str) -> None:
        if isinstance(schema, str):
            schema = yaml.safe_load(schema)
        if not isinstance(schema, Mapping):
            raise ValueError(f"configuration schema must be a mapping, not {type(schema).__name__}")
        try:
            jsonschema.Draft7Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            raise ValueError(f"invalid configuration schema: {e.message}") from e
        title = str(schema.get("title", ""))
        match = _TITLE_VERSION.search(title)
        if match is None:
            raise ValueError(f"configuration schema title {title!r} must end in ' v<N>', e.g. 'Test v2'")
        self.schema: Mapping[str, Any] = schema
        self.version: str = match.group(1)
        self._validator = jsonschema.Draft7Validator(schema)

    def validate(self, config: Mapping[str, Any]) -> None:
        """Check a merged configuration.

        Raises
        ------
        ConfigurationError
            Naming every invalid field (dotted path) and why.
        """
        errors = sorted(self._validator.iter_errors(config), key=lambda e: list(e.absolute_path))
        if errors:
            lines = []
            for error in errors:
                where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
                lines.append(f"{where}: {error.message}")
            raise ConfigurationError("invalid configuration: " + "; ".join(lines))
