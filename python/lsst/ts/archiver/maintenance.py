"""Cleanup passes: archived images' staging files, and old raws in the OODS repositories.

`MaintenanceLoop` runs one pass every ``cleanup.interval`` seconds while the
runtime is open. A failed pass is logged (so it reaches SAL ``logMessage``)
and tried again at the next interval; it never stops the Archiver.
"""

from __future__ import annotations

__all__ = ["MaintenanceLoop"]

import asyncio
import logging
import os

from .butler import RepositoryError, open_repository
from .delivery import CleanupConfig, DestinationConfig, DestinationRole, OodsCleaner
from .runtime import ArchiverRuntime

_HOUR = 3600.0


class MaintenanceLoop:
    """Periodic cleanup of an open runtime.

    Parameters
    ----------
    runtime : `~lsst.ts.archiver.runtime.ArchiverRuntime`
        The open runtime (ledger, staging, configuration).
    holder : `str`
        Identity of this Archiver in the ledger's cleaner locks.
    log : `logging.Logger`
        The CSC's logger (a child is used).
    """

    def __init__(self, runtime: ArchiverRuntime, holder: str, log: logging.Logger) -> None:
        self.runtime = runtime
        self.holder = holder
        self.log = log.getChild("cleanup")
        self._cleaners: dict[str, OodsCleaner] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the passes (if ``cleanup.enabled``)."""
        if self._task is None and self.runtime.config.cleanup.enabled:
            self._task = asyncio.create_task(self._loop(), name="cleanup")

    async def stop(self) -> None:
        """Stop the passes and close the OODS Butlers."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        cleaners, self._cleaners = self._cleaners, {}
        for cleaner in cleaners.values():
            await asyncio.to_thread(cleaner.butler.close)

    async def _loop(self) -> None:
        cleanup = self.runtime.config.cleanup
        while True:
            await asyncio.sleep(cleanup.interval)
            await self.run_once()

    async def run_once(self) -> None:
        """One pass: staging, then each OODS destination."""
        cleanup = self.runtime.config.cleanup
        try:
            removed = await asyncio.to_thread(
                self.runtime.staging.clean_archived, self.runtime.ledger, cleanup.retention * _HOUR
            )
            if removed:
                self.log.info(f"Staging cleanup removed {len(removed)} archived image(s)")
        except Exception as e:
            self.log.warning(f"Staging cleanup failed (tried again in {cleanup.interval} s): {e!r}")
        if cleanup.oods_retention > 0:
            for destination in self.runtime.config.enabled_destinations:
                if destination.role is DestinationRole.OODS and destination.butler is not None:
                    await self._clean_oods(destination)

    async def _clean_oods(self, destination: DestinationConfig) -> None:
        assert destination.butler is not None
        cleanup = self.runtime.config.cleanup
        cleaner = self._cleaners.get(destination.name)
        if cleaner is None:
            try:
                butler = await asyncio.to_thread(open_repository, destination.butler.repo)
            except RepositoryError:
                return  # nothing ingested yet
            cleaner = OodsCleaner(
                butler,
                CleanupConfig(
                    collections=(f"{self.runtime.camera.name}/raw/all",),
                    older_than=cleanup.oods_retention * _HOUR,
                    interval=cleanup.interval,
                ),
                ledger=self.runtime.ledger,
                holder=f"{self.holder}:{os.getpid()}",
                log=self.log,
            )
            self._cleaners[destination.name] = cleaner
        try:
            report = await asyncio.to_thread(cleaner.run_once)
        except Exception as e:
            self.log.warning(f"OODS cleanup of {destination.name} failed: {e!r}")
            return
        if report.pruned:
            self.log.info(f"OODS cleanup of {destination.name}: {report.pruned} raw(s) expired")
        for error in report.errors:
            self.log.warning(f"OODS cleanup of {destination.name}: {error}")
