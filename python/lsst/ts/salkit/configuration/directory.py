"""A CSC configuration directory (``<Component>/v<N>/`` in a config package)."""

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigurationError
from .merge import hierarchical_update
from .override import ConfigOverride

__all__ = ["ConfigDirectory", "ConfigFiles"]

INIT_FILENAME = "_init.yaml"


@dataclass(frozen=True)
class ConfigFiles:
    """The result of reading a configuration.

    Attributes
    ----------
    config : `dict`
        The merged configuration, without the top-level ``metadata`` key.
    filenames : `list` [`str`]
        The files read, in order (``_init.yaml``, the site file, the override).
    """

    config: dict[str, Any]
    filenames: list[str]


class ConfigDirectory:
    """Read configurations from one directory.

    Parameters
    ----------
    path : `pathlib.Path` or `str`
        The directory, e.g. ``config/CCArchiver/v1``.

    Raises
    ------
    ConfigurationError
        If ``path`` is not a directory.

    Notes
    -----
    Every method blocks (file and git I/O); a CSC calls them from a thread.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_dir():
            raise ConfigurationError(f"configuration directory {self.path} does not exist")

    @property
    def url(self) -> str:
        """The directory as a ``file://`` URL."""
        return self.path.as_uri()

    def overrides(self) -> list[str]:
        """Override files a user may name: ``*.yaml`` not starting with ``_``."""
        return sorted(p.name for p in self.path.glob("*.yaml") if not p.name.startswith("_"))

    def version(self) -> str:
        """``git describe --all --long --always --dirty`` of the directory, or "".

        "" means the directory is not in a git working tree (or git is missing).
        """
        try:
            result = subprocess.run(
                ["git", "describe", "--all", "--long", "--always", "--dirty"],
                cwd=self.path,
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return result.stdout.strip() if result.returncode == 0 else ""

    def filenames(self, override: ConfigOverride, site: str | None) -> list[str]:
        """The files that make up a configuration, in the order they apply.

        Raises
        ------
        ConfigurationError
            If ``_init.yaml`` or the override file does not exist.
        """
        names = [INIT_FILENAME]
        if site:
            site_name = f"_{site}.yaml"
            if (self.path / site_name).is_file():
                names.append(site_name)
        if override.filename:
            names.append(override.filename)
        for name in names:
            if not (self.path / name).is_file():
                available = ", ".join(self.overrides()) or "none"
                raise ConfigurationError(
                    f"configuration file {name!r} not found in {self.path} (overrides available: {available})"
                )
        return names

    def read(self, override: ConfigOverride | str = "", site: str | None = None) -> ConfigFiles:
        """Read, merge and return a configuration (not validated).

        Parameters
        ----------
        override : `ConfigOverride` or `str`
            The ``configurationOverride`` of the start command.
        site : `str`, optional
            The value of ``LSST_SITE``; selects ``_<site>.yaml`` if it exists.

        Raises
        ------
        ConfigurationError
            For a missing file, unreadable YAML, a file that is not a mapping,
            a failed ``git show`` or a merge conflict.
        """
        if isinstance(override, str):
            override = ConfigOverride.parse(override)
        names = self.filenames(override, site)
        config: dict[str, Any] = {}
        for name in names:
            data = self._load(name, override.gitref)
            try:
                hierarchical_update(config, data)
            except ValueError as e:
                raise ConfigurationError(f"{name}: {e}") from e
        config.pop("metadata", None)
        return ConfigFiles(config=config, filenames=names)

    def _load(self, name: str, gitref: str) -> dict[str, Any]:
        if gitref:
            result = subprocess.run(
                ["git", "show", f"{gitref}:./{name}"],
                cwd=self.path,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if result.returncode != 0:
                raise ConfigurationError(
                    f"cannot read {name} at git reference {gitref!r} in {self.path}: {result.stderr.strip()}"
                )
            text = result.stdout
        else:
            text = (self.path / name).read_text()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigurationError(f"configuration file {name} is not valid YAML: {e}") from e
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"configuration file {name} must hold a mapping, not {type(data).__name__}"
            )
        return data
