"""Shared helpers of the Archiver CSC tests: a throwaway configuration directory."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import time
from collections.abc import AsyncIterator
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


class EventLog:
    """Collects every sample of the Archiver's result topics (through callbacks)."""

    TOPICS = (
        "evt_imageRetrievalForArchiving",
        "evt_imageInOODS",
        "evt_imageArchived",
        "tel_focalPlaneCapture",
    )

    def __init__(self, remote: Any) -> None:
        self.samples: dict[str, list[Any]] = {name: [] for name in self.TOPICS}
        self.changed = asyncio.Event()
        for name in self.TOPICS:
            getattr(remote, name).callback = functools.partial(self._add, name)

    async def _add(self, name: str, data: Any) -> None:
        self.samples[name].append(data)
        self.changed.set()

    def of(self, name: str, obsid: str | None = None) -> list[Any]:
        """Samples of a topic (optionally for one image)."""
        return [s for s in self.samples[name] if obsid is None or s.obsid == obsid]

    async def wait_for(
        self, name: str, count: int, timeout: float = 300.0, obsid: str | None = None
    ) -> list[Any]:
        """Wait until a topic has ``count`` samples (for ``obsid``); return them."""
        deadline = time.monotonic() + timeout
        while len(self.of(name, obsid)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"{name}: {len(self.of(name, obsid))} of {count} samples after {timeout} s"
                )
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                pass
        return self.of(name, obsid)


def result_remote(domain: Any, name: str) -> Any:
    """A Remote of an Archiver reading only the result topics."""
    from lsst.ts import salkit

    include = [name.split("_", 1)[1] for name in EventLog.TOPICS]
    return salkit.Remote(domain, name, readonly=True, include=include, evt_max_history=0)


@contextlib.asynccontextmanager
async def running_archiver(
    component: str, config_dir: Path, initial_state: Any = None
) -> AsyncIterator[tuple[Any, Any, EventLog]]:
    """An Archiver CSC, a Remote of its result topics (on its domain) and their `EventLog`."""
    from lsst.ts import salkit

    from lsst.ts.archiver.csc import ArchiverCsc

    csc = ArchiverCsc(
        component,
        config_dir=config_dir,
        initial_state=salkit.State.ENABLED if initial_state is None else initial_state,
    )
    try:
        await csc.start_task
        remote = salkit.Remote(csc.domain, component)
        await remote.start_task
        log = EventLog(remote)
        yield csc, remote, log
    finally:
        await csc.close()
