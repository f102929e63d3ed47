"""ConfigurableCsc: a CSC configured from a directory of YAML files by ``start``."""

from __future__ import annotations

__all__ = ["CONFIG_DIR_POLL_INTERVAL", "SITE_ENV_VAR", "ConfigurableCsc"]

import abc
import asyncio
import os
import pathlib
import types
import typing

from .base_csc import BaseCsc
from .configuration import ConfigDirectory, ConfigFiles, ConfigSchema, ConfigurationError
from .enums import State
from .errors import ExpectedError

#: Seconds between reads of the configuration directory while in STANDBY.
CONFIG_DIR_POLL_INTERVAL = 1.0

#: Environment variable naming the site (selects ``_<site>.yaml``).
SITE_ENV_VAR = "LSST_SITE"


class ConfigurableCsc(BaseCsc, abc.ABC):
    """A CSC whose ``start`` command reads, validates and applies a configuration.

    The configuration is ``_init.yaml``, then ``_<LSST_SITE>.yaml`` (if it
    exists), then the override named by ``start``'s ``configurationOverride``
    (``[file.yaml][:gitref]``), merged key by key, without the top-level
    ``metadata`` key, validated against the schema (defaults are not
    applied), and handed to `configure` as a `types.SimpleNamespace`.

    Subclasses implement `configure` and `get_config_pkg`.

    Parameters
    ----------
    name : `str`
        SAL component name (needs the ``configurable`` generics).
    index : `int` or `None`
        SAL index.
    config_schema : `dict` or `str`
        Draft-07 JSON schema (dict or YAML text) whose title ends in
        `` v<N>``; ``v<N>`` is `schema_version`.
    config_dir : `str`, `pathlib.Path` or `None`
        Configuration directory; None: ``$<PKG>_DIR/<name>/<schema_version>``
        where ``<PKG>`` is `get_config_pkg` in upper case.
    **kwargs
        Further arguments of `BaseCsc`.

    Attributes
    ----------
    config_schema : `ConfigSchema`
        The schema.
    schema_version : `str`
        E.g. ``"v2"``.
    site : `str`
        Value of ``$LSST_SITE``.

    Raises
    ------
    RuntimeError
        If ``$LSST_SITE`` is not set, or ``config_dir`` is None and the
        config package's environment variable is not set.
    ValueError
        If the schema is invalid or ``config_dir`` is not a directory.
    """

    def __init__(
        self,
        name: str,
        index: int | None,
        config_schema: typing.Mapping[str, typing.Any] | str,
        config_dir: str | pathlib.Path | None = None,
        **kwargs: typing.Any,
    ) -> None:
        site = os.environ.get(SITE_ENV_VAR, "")
        if not site:
            raise RuntimeError(
                f"Environment variable ${SITE_ENV_VAR} is not set; set it to the site name "
                "(e.g. summit, base, tucson, test); it selects the _<site>.yaml configuration file"
            )
        self.site = site
        self.config_schema = ConfigSchema(config_schema)
        self.schema_version = self.config_schema.version
        if config_dir is None:
            config_dir = self._default_config_dir(name) / self.schema_version
        self._config_directory = self._make_config_directory(config_dir)
        self._config_dir_poll_task: asyncio.Task[None] | None = None
        self.config_version = ""
        super().__init__(name, index, **kwargs)
        for required in ("configurationsAvailable", "configurationApplied"):
            if required not in self.salinfo.component_info.events:
                raise RuntimeError(
                    f"Component {name} has no {required} event; a ConfigurableCsc needs the configurable generics"
                )

    @staticmethod
    @abc.abstractmethod
    def get_config_pkg() -> str:
        """Return the name of the configuration package, e.g. ``"ts_config_ocs"``."""
        raise NotImplementedError()

    @abc.abstractmethod
    async def configure(self, config: types.SimpleNamespace) -> None:
        """Apply a validated configuration (called by the start command).

        Raise `ExpectedError` (or another exception) to reject it; the CSC
        then stays in STANDBY.
        """
        raise NotImplementedError()

    # --- the configuration directory ---------------------------------------------

    @classmethod
    def _default_config_dir(cls, name: str) -> pathlib.Path:
        """``$<PKG>_DIR/<name>`` (without the schema version)."""
        pkg = cls.get_config_pkg()
        env_var = pkg.upper() + "_DIR"
        pkg_dir = os.environ.get(env_var, "")
        if not pkg_dir:
            raise RuntimeError(
                f"No configuration directory: pass config_dir (--configdir) or set ${env_var} "
                f"to the root of the {pkg} package"
            )
        return pathlib.Path(pkg_dir) / name

    def _make_config_directory(self, config_dir: str | pathlib.Path) -> ConfigDirectory:
        try:
            return ConfigDirectory(config_dir)
        except ConfigurationError as e:
            raise ValueError(str(e)) from e

    @property
    def config_dir(self) -> pathlib.Path:
        """The configuration directory (absolute)."""
        return self._config_directory.path

    @config_dir.setter
    def config_dir(self, config_dir: str | pathlib.Path) -> None:
        self._config_directory = self._make_config_directory(config_dir)

    @property
    def config_url(self) -> str:
        """The configuration directory as a ``file://`` URL."""
        return self._config_directory.url

    async def read_config_dir(self) -> None:
        """Read the directory (in a thread) and write configurationsAvailable if it changed."""
        directory = self._config_directory
        overrides, version = await asyncio.to_thread(lambda: (directory.overrides(), directory.version()))
        self.config_version = version
        await self.evt_configurationsAvailable.set_write(  # type: ignore[attr-defined]
            overrides=",".join(overrides),
            version=version,
            url=directory.url,
            schemaVersion=self.schema_version,
        )

    async def _config_dir_poll_loop(self) -> None:
        while True:
            try:
                await self.read_config_dir()
            except Exception as e:
                self.log.warning(f"Could not read configuration directory {self.config_dir}: {e!r}")
            await asyncio.sleep(CONFIG_DIR_POLL_INTERVAL)

    def _stop_config_dir_poll(self) -> None:
        if self._config_dir_poll_task is not None:
            self._config_dir_poll_task.cancel()
            self._config_dir_poll_task = None

    async def _report_summary_state(self) -> None:
        await super()._report_summary_state()
        if self.summary_state == State.STANDBY and self.isopen:
            if self._config_dir_poll_task is None or self._config_dir_poll_task.done():
                self._config_dir_poll_task = asyncio.create_task(self._config_dir_poll_loop())
        else:
            self._stop_config_dir_poll()

    async def close_tasks(self) -> None:
        self._stop_config_dir_poll()
        await super().close_tasks()

    # --- configuring ------------------------------------------------------------

    def read_config(self, override: str) -> ConfigFiles:
        """Read, merge and validate a configuration; blocking (files, git).

        Raises
        ------
        ConfigurationError
            If the override is malformed, a file is missing or invalid, or
            the merged configuration does not match the schema.
        """
        files = self._config_directory.read(override, self.site)
        self.config_schema.validate(files.config)
        return files

    async def begin_start(self, data: typing.Any) -> None:
        """Read and apply the configuration named by ``configurationOverride``.

        Raises
        ------
        ExpectedError
            If the configuration cannot be read or is invalid; the state
            stays STANDBY.
        """
        self._stop_config_dir_poll()
        try:
            await self.read_config_dir()
            override = data.configurationOverride
            try:
                files = await asyncio.to_thread(self.read_config, override)
            except ConfigurationError as e:
                raise ExpectedError(f"Cannot apply configurationOverride={override!r}: {e}") from e
            await self.configure(types.SimpleNamespace(**files.config))
        except BaseException:
            if self.summary_state == State.STANDBY and self.isopen:
                self._config_dir_poll_task = asyncio.create_task(self._config_dir_poll_loop())
            raise
        await self.evt_configurationApplied.set_write(  # type: ignore[attr-defined]
            configurations=",".join(files.filenames),
            version=self.config_version,
            url=self.config_url,
            schemaVersion=self.schema_version,
            force_output=True,
        )
        await super().begin_start(data)
