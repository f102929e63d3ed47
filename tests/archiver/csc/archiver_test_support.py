"""Shared helpers of the Archiver CSC tests: a throwaway configuration directory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config"


def write_config_dir(component: str, root: Path, **overrides: Any) -> Path:
    """Copy ``config/<component>/v1/_init.yaml`` into ``root/config`` and add a
    ``_test.yaml`` that puts every path under ``root`` (plus ``overrides``,
    merged at the top level)."""
    config_dir = root / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_CONFIG / component / "v1" / "_init.yaml", config_dir / "_init.yaml")
    site: dict[str, Any] = {
        "daq": {"root": str(root / "daq"), "wait_timeout": 10.0},
        "staging": {"directory": str(root / "staging"), "min_free_space": 0.5},
        "header_service": {"name": "", "wait_timeout": 5.0},
        "destinations": [
            {
                "name": "oods",
                "role": "oods",
                "target": str(root / "oods"),
                "butler": {"repo": str(root / "repo-oods"), "ingest_mode": "direct"},
                "retry": {"max_attempts": 3, "initial_delay": 0.2, "max_delay": 1.0},
            },
            {
                "name": "dbb",
                "role": "dbb",
                "target": str(root / "dbb-buffer"),
                "butler": {"repo": str(root / "repo-dbb"), "ingest_mode": "copy"},
                "retry": {"max_attempts": 3, "initial_delay": 0.2, "max_delay": 1.0},
            },
        ],
        "ledger_url": f"sqlite:///{root / 'ledger.sqlite3'}",
        "workers": 2,
        "cleanup": {"enabled": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(site.get(key), dict):
            site[key] = {**site[key], **value}
        else:
            site[key] = value
    for directory in ("oods", "dbb-buffer"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    (config_dir / "_test.yaml").write_text(yaml.safe_dump(site))
    return config_dir
