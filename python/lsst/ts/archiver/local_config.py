"""A self-contained Archiver configuration directory with every path under one
local root, for the demo, benchmarks and tests.

The directory holds the component's ``_init.yaml`` (copied from the
repository's ``config/<component>/v1``) and a site file ``_<site>.yaml``
(selected by ``LSST_SITE=<site>``) that points the DAQ store, staging area,
OODS and DBB destinations, Butler repositories and ledger under ``root``.
"""

from __future__ import annotations

__all__ = ["REPO_CONFIG_ROOT", "local_site_config", "merge_settings", "write_local_config_dir"]

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_CONFIG_ROOT = Path(__file__).resolve().parents[4] / "config"
"""The repository's ``config`` directory (``config/<component>/v1``)."""


def merge_settings(settings: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``settings`` with ``overrides`` applied at the top level.

    A mapping given for a mapping setting (e.g. ``{"daq": {"wait_timeout":
    10.0}}``) is merged into it key by key; any other value replaces the
    setting. Neither argument is modified.
    """
    merged = dict(settings)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def local_site_config(
    root: Path, *, retry: Mapping[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    """Return site settings that put every path under ``root``.

    Parameters
    ----------
    root : `pathlib.Path`
        Directory that holds the DAQ store (``daq``), ``staging``, the
        destinations (``oods``, ``dbb-buffer``), their Butler repositories
        (``repo-oods``, ``repo-dbb``) and ``ledger.sqlite3``.
    retry : `~collections.abc.Mapping`, optional
        Retry settings for every destination (the schema's defaults if not
        given).
    **overrides
        Top-level settings to replace, applied by `merge_settings`.

    Returns
    -------
    site : `dict`
        The site settings (plain data, ready for YAML).
    """
    site: dict[str, Any] = {
        "daq": {"root": str(root / "daq"), "wait_timeout": 30.0},
        "staging": {"directory": str(root / "staging"), "min_free_space": 1.0},
        "header_service": {"name": "", "wait_timeout": 5.0},
        "destinations": [
            {
                "name": "oods",
                "role": "oods",
                "target": str(root / "oods"),
                "butler": {"repo": str(root / "repo-oods"), "ingest_mode": "direct"},
            },
            {
                "name": "dbb",
                "role": "dbb",
                "target": str(root / "dbb-buffer"),
                "butler": {"repo": str(root / "repo-dbb"), "ingest_mode": "copy"},
            },
        ],
        "ledger_url": f"sqlite:///{root / 'ledger.sqlite3'}",
        "workers": 2,
        "cleanup": {"enabled": False},
    }
    if retry is not None:
        for destination in site["destinations"]:
            destination["retry"] = dict(retry)
    return merge_settings(site, overrides)


def write_local_config_dir(
    component: str, root: Path, site: str, settings: Mapping[str, Any] | None = None
) -> Path:
    """Write ``root/config`` for ``component`` and create the destination
    directories.

    Parameters
    ----------
    component : `str`
        The Archiver (``ATArchiver``, ``CCArchiver`` or ``MTArchiver``);
        its ``_init.yaml`` is copied from `REPO_CONFIG_ROOT`.
    root : `pathlib.Path`
        Directory for the configuration and every path it names.
    site : `str`
        Site name: the settings go to ``_<site>.yaml``; run the CSC with
        ``LSST_SITE=<site>``.
    settings : `~collections.abc.Mapping`, optional
        The site settings; ``local_site_config(root)`` if not given.

    Returns
    -------
    config_dir : `pathlib.Path`
        The configuration directory (``root/config``).
    """
    config_dir = root / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_CONFIG_ROOT / component / "v1" / "_init.yaml", config_dir / "_init.yaml")
    for directory in ("oods", "dbb-buffer"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    if settings is None:
        settings = local_site_config(root)
    (config_dir / f"_{site}.yaml").write_text(yaml.safe_dump(dict(settings), sort_keys=False))
    return config_dir
