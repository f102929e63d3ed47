"""CSC configuration: files in a configuration directory, merged and validated.

The rules are those of ts_salobj's ConfigurableCsc: ``_init.yaml`` (required), then
``_<LSST_SITE>.yaml`` (if present), then an optional override file, optionally read
at a git reference (``file.yaml:gitref``); merged key by key; the top-level
``metadata`` key dropped; validated against a draft-07 JSON schema whose title ends
in `` v<N>``.
"""

from .directory import ConfigDirectory, ConfigFiles
from .errors import ConfigurationError
from .merge import hierarchical_update
from .override import ConfigOverride
from .schema import ConfigSchema

__all__ = [
    "ConfigDirectory",
    "ConfigFiles",
    "ConfigOverride",
    "ConfigSchema",
    "ConfigurationError",
    "hierarchical_update",
]
