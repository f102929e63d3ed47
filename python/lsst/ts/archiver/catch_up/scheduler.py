"""`CatchUpScheduler`: queue a day_obs range of unarchived DAQ images, rate-limited."""

from __future__ import annotations

__all__ = ["CatchUpScheduler"]

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..config import CatchUpSettings
from ..daq import DaqStore
from ..ledger import Ledger, LedgerRunner, Trigger
from .selection import DayObsRange

if TYPE_CHECKING:
    from ..pipeline import ImagePipeline


class CatchUpScheduler:
    """Find the DAQ store's images the ledger does not show as archived and queue them.

    Images are queued at most ``settings.rate`` per minute with the catch-up
    priority, so live images keep going first.

    Parameters
    ----------
    store : `~lsst.ts.archiver.daq.DaqStore`
        The DAQ store (its catalog is the list of candidates).
    folder : `str`
        DAQ folder of the camera's images.
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        The ledger.
    pipeline : `~lsst.ts.archiver.pipeline.ImagePipeline`
        Where queued images are archived.
    settings : `~lsst.ts.archiver.config.CatchUpSettings`
        Rate and priority.
    log : `logging.Logger`, optional
        Parent logger (the CSC's), so progress reaches SAL ``logMessage``.
    """

    def __init__(
        self,
        store: DaqStore,
        folder: str,
        runner: LedgerRunner,
        pipeline: ImagePipeline,
        settings: CatchUpSettings,
        *,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.folder = folder
        self.runner = runner
        self.pipeline = pipeline
        self.settings = settings
        self.log = log.getChild("catch_up") if log is not None else logging.getLogger(__name__)
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Is a run still queueing images?"""
        return self._task is not None and not self._task.done()

    async def plan(self, days: DayObsRange) -> list[str]:
        """Names of the complete DAQ images in ``days`` that are not archived, oldest first."""
        images = await asyncio.to_thread(self.store.list_images, self.folder, complete_only=True)
        candidates = [image.name for image in images if image.name in days]
        return await self.runner.run(_not_archived, self.runner.ledger, candidates)

    def start(self, names: Sequence[str]) -> None:
        """Queue ``names`` in the background (one run at a time).

        Raises
        ------
        RuntimeError
            If a run is in progress.
        """
        if self.running:
            raise RuntimeError("A catch-up run is in progress; wait for it to finish")
        self._task = asyncio.create_task(self._queue(list(names)), name="catch-up")

    async def stop(self) -> None:
        """Stop queueing (images already queued go on)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _queue(self, names: list[str]) -> None:
        interval = 60.0 / self.settings.rate
        for index, name in enumerate(names):
            self.pipeline.start_image(name, trigger=Trigger.CATCH_UP, priority=self.settings.priority)
            if index + 1 < len(names):
                await asyncio.sleep(interval)
        self.log.info(f"catchUp: all {len(names)} images queued")


def _not_archived(ledger: Ledger, names: Sequence[str]) -> list[str]:
    todo = []
    for name in names:
        if ledger.has_image(name) and ledger.image(name).archived_at is not None:
            continue
        todo.append(name)
    return todo
