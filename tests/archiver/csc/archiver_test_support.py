"""Shared helpers of the Archiver CSC tests: a throwaway configuration directory."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from lsst.ts.archiver.local_config import local_site_config, merge_settings, write_local_config_dir


def write_config_dir(component: str, root: Path, **overrides: Any) -> Path:
    """Write ``root/config`` for ``component`` with a ``_test.yaml`` that puts
    every path under ``root``, with short timeouts and quick retries (plus
    ``overrides``, merged at the top level)."""
    quick = local_site_config(
        root,
        retry={"max_attempts": 3, "initial_delay": 0.2, "max_delay": 1.0},
        daq={"wait_timeout": 10.0},
        staging={"min_free_space": 0.5},
    )
    return write_local_config_dir(component, root, "test", merge_settings(quick, overrides))


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
