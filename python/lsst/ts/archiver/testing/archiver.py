"""A running Archiver CSC for tests and benchmarks, with a throwaway
configuration that puts every path under one directory.
"""

from __future__ import annotations

__all__ = ["running_archiver", "write_config_dir"]

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsst.ts import salkit

from ..local_config import local_site_config, merge_settings, write_local_config_dir
from .event_log import EventLog

if TYPE_CHECKING:
    from ..csc import ArchiverCsc


def write_config_dir(component: str, root: Path, **overrides: Any) -> Path:
    """Write a configuration directory ``root/config`` for a test Archiver.

    Its ``_test.yaml`` (selected by ``LSST_SITE=test``) puts every path under
    ``root`` (see `lsst.ts.archiver.local_config.local_site_config`), with
    quick retries, a 10 s DAQ wait and a small free-space floor.

    Parameters
    ----------
    component : `str`
        ``ATArchiver``, ``CCArchiver`` or ``MTArchiver``.
    root : `pathlib.Path`
        Directory of everything the Archiver reads and writes.
    **overrides
        Top-level settings, merged into those (a mapping is merged key by
        key into a mapping setting).

    Returns
    -------
    config_dir : `pathlib.Path`
        The configuration directory.
    """
    quick = local_site_config(
        root,
        retry={"max_attempts": 3, "initial_delay": 0.2, "max_delay": 1.0},
        daq={"wait_timeout": 10.0},
        staging={"min_free_space": 0.5},
    )
    return write_local_config_dir(component, root, "test", merge_settings(quick, overrides))


@contextlib.asynccontextmanager
async def running_archiver(
    component: str, config_dir: Path, initial_state: salkit.State = salkit.State.ENABLED
) -> AsyncIterator[tuple[ArchiverCsc, salkit.Remote, EventLog]]:
    """Run an Archiver CSC in this process; close it on exit.

    Parameters
    ----------
    component : `str`
        ``ATArchiver``, ``CCArchiver`` or ``MTArchiver``.
    config_dir : `pathlib.Path`
        Its configuration directory (e.g. from `write_config_dir`).
    initial_state : `lsst.ts.salkit.State`, optional
        State to start in.

    Yields
    ------
    csc : `lsst.ts.archiver.csc.ArchiverCsc`
        The started CSC.
    remote : `lsst.ts.salkit.Remote`
        A Remote of the CSC on its domain (every topic).
    log : `EventLog`
        Collects the remote's result samples.
    """
    from ..csc import ArchiverCsc  # here: the CSC pulls in the whole pipeline, most tests need less

    csc = ArchiverCsc(component, config_dir=config_dir, initial_state=initial_state)
    try:
        await csc.start_task
        remote = salkit.Remote(csc.domain, component)
        await remote.start_task
        yield csc, remote, EventLog(remote)
    finally:
        await csc.close()
