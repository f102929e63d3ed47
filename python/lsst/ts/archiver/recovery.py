"""`ImageRecovery`: redo what finally failed for an image (``retryImage``, ``catchUp``).

A part of an image that finally failed stays failed in the ledger until it
is retried: a detector whose capture failed, or an item (a detector's file,
the manifest) whose delivery to a destination failed. `ImageRecovery.retry`
puts them back to work in one ledger transaction
(`~lsst.ts.archiver.ledger.Ledger.retry_image`, through
`~lsst.ts.archiver.delivery.DeliveryService.retry_image`):

* failed deliveries are queued again (at one destination, or at all);
* failed captures become pending again and the image pipeline captures them
  again from the DAQ store (if the image is no longer there, they are
  reported failed again, with their status, after ``daq.wait_timeout``);
* if that can change the image's ``imageArchived`` (a capture, or an item at
  a destination that decides it), the image is reopened, so
  ``imageArchived`` is written again, with the new counts, once the retried
  parts are settled.

No SAL here: the CSC turns `RetryRefusedError` into a failed command.
"""

from __future__ import annotations

__all__ = ["CAPTURE_SETTLE_TIME", "ImageRecovery", "RetryRefusedError"]

import asyncio
import logging
import os
from collections.abc import Sequence

from .camera import Camera, InvalidImageNameError
from .delivery import DeliveryService
from .ledger import (
    MANIFEST_ITEM,
    DeliveryRecord,
    DeliveryStage,
    ImageRecord,
    LedgerRunner,
    RetriedParts,
    Trigger,
    UnknownImageError,
)
from .pipeline import ImagePipeline

_log = logging.getLogger(__name__)

CAPTURE_SETTLE_TIME = 2.0
"""Seconds a retry waits for a capture run of the image to end before it is refused."""

_SETTLE_POLL = 0.05


class RetryRefusedError(ValueError):
    """A retry that cannot be done; the message says why and what to do.

    Nothing was changed when it is raised.
    """


class ImageRecovery:
    """Retry what finally failed for an image: captures and deliveries.

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The Archiver's camera (images of other cameras are refused).
    pipeline : `~lsst.ts.archiver.pipeline.ImagePipeline`
        Captures the reset detectors again.
    delivery : `~lsst.ts.archiver.delivery.DeliveryService`
        Its enabled destinations are the ones a retry can name; it resets the
        failed parts in the ledger and wakes its workers.
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        The ledger (what failed, and why).
    log : `logging.Logger`, optional
        Where to log (the CSC's logger, so retries reach SAL ``logMessage``);
        default this module's logger.
    """

    def __init__(
        self,
        camera: Camera,
        pipeline: ImagePipeline,
        delivery: DeliveryService,
        runner: LedgerRunner,
        *,
        log: logging.Logger | None = None,
    ) -> None:
        self.camera = camera
        self.pipeline = pipeline
        self.delivery = delivery
        self.runner = runner
        self.log = log if log is not None else _log

    @property
    def destinations(self) -> tuple[str, ...]:
        """Names of the enabled destinations (what a retry can name)."""
        return tuple(self.delivery.destinations)

    async def retry(
        self, image_name: str, destination: str = "", *, trigger: Trigger = Trigger.COMMANDED
    ) -> RetriedParts:
        """Put what finally failed for an image back to work.

        Parameters
        ----------
        image_name : `str`
            The image (obsid), exactly as the Archiver's names are spelt.
        destination : `str`, optional
            Name of an enabled destination: only the failed deliveries there
            are queued again. Blank: every finally failed part of the image
            (captures, and deliveries at every enabled destination).
        trigger : `~lsst.ts.archiver.ledger.Trigger`, optional
            Trigger of the capture of reset detectors (``COMMANDED`` for
            ``retryImage``, ``CATCH_UP`` for ``catchUp``).

        Returns
        -------
        retried : `~lsst.ts.archiver.ledger.RetriedParts`
            What was put back to work (never empty).

        Raises
        ------
        RetryRefusedError
            If the name is malformed or of another camera, the destination
            is not an enabled one, the image is being captured now, the
            ledger does not know it, a staging file to deliver again is gone,
            or nothing of the image finally failed (at that destination).
            Nothing was changed.
        lsst.ts.archiver.ledger.LedgerError
            If the ledger is unreachable.
        """
        obsid = self._parse(image_name)
        target = destination or None
        if target is not None and target not in self.delivery.destinations:
            enabled = ", ".join(self.destinations) or "none"
            raise RetryRefusedError(
                f"No enabled destination named {target!r} (enabled: {enabled}); "
                "leave the destination blank to retry every failed part"
            )
        if not await self._capture_finished(obsid):
            raise RetryRefusedError(f"{obsid} is being captured now; retry it once its capture has finished")
        try:
            record = await self.runner.run(self.runner.ledger.image, obsid)
        except UnknownImageError:
            raise RetryRefusedError(
                f"{obsid} is not in the ledger, so nothing of it failed; archive it with archiveImage"
            ) from None
        await self._check_sources(obsid, target)
        retried = await self.delivery.retry_image(obsid, destination=target, captures=target is None)
        if retried.empty:
            raise RetryRefusedError(await self._nothing_failed(record, target))
        if retried.captures and not self.pipeline.start_image(
            obsid, trigger=trigger, priority=record.priority
        ):
            self.log.warning(
                f"{obsid} was started by another command meanwhile; its reset detectors are captured "
                "by that run or at the next resume"
            )
        what = "retried" if trigger is Trigger.COMMANDED else f"retried by {trigger.value}"
        self.log.info(f"{retried} {what}")
        return retried

    # ------------------------------------------------------------------

    async def _capture_finished(self, obsid: str) -> bool:
        """Is the image not being captured (waiting up to `CAPTURE_SETTLE_TIME` for its run to end)?

        A run reports its last outcome (and so ``imageArchived``) just before
        it ends; a retry that follows that event at once waits for the end.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CAPTURE_SETTLE_TIME
        while self.pipeline.is_active(obsid):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(_SETTLE_POLL)
        return True

    def _parse(self, image_name: str) -> str:
        try:
            return str(self.camera.parse_image_name(image_name))
        except InvalidImageNameError as e:
            raise RetryRefusedError(str(e)) from e

    async def _check_sources(self, obsid: str, target: str | None) -> None:
        """Refuse if a failed item to transfer again has lost its staging file."""
        failed = await self.runner.run(
            self.runner.ledger.deliveries, image=obsid, destination=target, stages=[DeliveryStage.FAILED]
        )
        to_transfer = [
            d for d in failed if d.destination in self.delivery.destinations and d.transferred_at is None
        ]
        missing = await asyncio.to_thread(_missing_sources, to_transfer)
        if missing:
            items = ", ".join(f"{d.item} at {d.destination}" for d in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise RetryRefusedError(
                f"{obsid}: cannot deliver {items}{more} again: the staging file {missing[0].source} no "
                "longer exists (the staging cleanup removes archived images after cleanup.retention); "
                "nothing was retried"
            )

    async def _nothing_failed(self, record: ImageRecord, target: str | None) -> str:
        """Why a retry of an image had nothing to do."""
        obsid = record.name
        if record.archived_at is not None:
            state = f"it is archived, status {record.archive_status}: {record.archive_description}"
        else:
            state = "it is still being archived"
        if target is None:
            return f"{obsid} has nothing that finally failed ({state})"
        progress = await self.runner.run(self.runner.ledger.progress, obsid)
        elsewhere = [f"capture of {name}" for name in progress.capture_failed]
        for destination, failed in progress.failed.items():
            if destination != target and failed:
                elsewhere.append(f"{', '.join(_items(failed))} at {destination}")
        message = f"{obsid} has nothing that finally failed at {target} ({state})"
        if elsewhere:
            message += f"; what failed: {'; '.join(elsewhere)} (leave the destination blank to retry it all)"
        return message


def _missing_sources(items: Sequence[DeliveryRecord]) -> list[DeliveryRecord]:
    """The items whose local file is gone (blocking: file system)."""
    return [item for item in items if not os.path.exists(item.source)]


def _items(failed: dict[str, str]) -> list[str]:
    """Failed item names, detectors first, then the manifest."""
    return sorted(failed, key=lambda name: (name == MANIFEST_ITEM, name))
