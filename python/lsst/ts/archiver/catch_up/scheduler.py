"""`CatchUpScheduler`: queue a day_obs range of DAQ images that are not archived or have
finally failed parts, rate-limited."""

from __future__ import annotations

__all__ = ["CatchUpScheduler"]

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..camera import ImageName, InvalidImageNameError
from ..config import CatchUpSettings
from ..daq import DaqStore
from ..ledger import Ledger, LedgerError, LedgerRunner, Trigger
from ..recovery import RetryRefusedError
from .selection import DayObsRange

if TYPE_CHECKING:
    from ..pipeline import ImagePipeline
    from ..recovery import ImageRecovery


class CatchUpScheduler:
    """Find the DAQ store's images the ledger does not show as archived, or
    that have finally failed parts, and queue them.

    Images are queued at most ``settings.rate`` per minute with the catch-up
    priority, so live images keep going first. An image with a finally failed
    capture or delivery is retried (`~lsst.ts.archiver.recovery.ImageRecovery`:
    its failed parts are put back to work, as ``retryImage`` with a blank
    destination does); any other image not archived is archived; images
    fully archived are skipped.

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
    recovery : `~lsst.ts.archiver.recovery.ImageRecovery`
        Retries the images with finally failed parts.
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
        recovery: ImageRecovery,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.folder = folder
        self.runner = runner
        self.pipeline = pipeline
        self.settings = settings
        self.recovery = recovery
        self.log = log.getChild("catch_up") if log is not None else logging.getLogger(__name__)
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Is a run still queueing images?"""
        return self._task is not None and not self._task.done()

    async def plan(self, days: DayObsRange) -> list[str]:
        """Names of the complete DAQ images in ``days`` that are not archived
        or have finally failed parts, oldest first.

        Catalog entries whose name is not a valid image name are skipped,
        each with a warning.
        """
        images = await asyncio.to_thread(self.store.list_images, self.folder, complete_only=True)
        candidates = [image.name for image in images if self._valid_name(image.name) and image.name in days]
        return await self.runner.run(_to_catch_up, self.runner.ledger, candidates, self.recovery.destinations)

    def _valid_name(self, name: str) -> bool:
        try:
            ImageName.parse(name)
        except InvalidImageNameError as e:
            self.log.warning(
                f"catchUp: DAQ folder {self.folder!r} lists an image with a bad name: {e}; skipped"
            )
            return False
        return True

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
        retried = 0
        for index, name in enumerate(names):
            try:
                retried += await self._catch_up(name)
            except LedgerError as e:
                self.log.error(f"catchUp stopped at {name} ({index} of {len(names)} queued): {e}")
                return
            if index + 1 < len(names):
                await asyncio.sleep(interval)
        self.log.info(f"catchUp: all {len(names)} images queued ({retried} with failed parts retried)")

    async def _catch_up(self, name: str) -> bool:
        """Retry the image if it has finally failed parts (now), else archive it; True if retried."""
        destinations = self.recovery.destinations
        failed = await self.runner.run(
            self.runner.ledger.images_with_failures, [name], destinations=destinations
        )
        if not failed:
            self.pipeline.start_image(name, trigger=Trigger.CATCH_UP, priority=self.settings.priority)
            return False
        try:
            await self.recovery.retry(name, trigger=Trigger.CATCH_UP)
        except RetryRefusedError as e:
            self.log.warning(f"catchUp: {name} not retried: {e}")
            return False
        return True


def _to_catch_up(ledger: Ledger, names: Sequence[str], destinations: Sequence[str]) -> list[str]:
    """The names not archived, or with a finally failed capture or delivery (at ``destinations``)."""
    failed = ledger.images_with_failures(names, destinations=destinations)
    todo = []
    for name in names:
        if name not in failed and ledger.has_image(name) and ledger.image(name).archived_at is not None:
            continue
        todo.append(name)
    return todo
