"""`CatchUpScheduler`: find what the normal path missed and put it to work, live images first.

A pass lists the DAQ catalog's complete images, reads what the ledger
records of them and asks the archive (the Data Backbone's Butler
registries, `ArchiveInventory`) which raws it holds, then acts on the
`~lsst.ts.archiver.catch_up.planning.CatchUpPlan`:

* ``found``: recorded archived in the ledger (`Ledger.record_found`);
* ``redeliver``: the missing files are delivered to the archive again from
  the staging area (if the staging files are gone the image is reported
  and left: it needs capturing again, which catch-up does not do);
* ``retry``: finally failed parts go back to work (`ImageRecovery`);
* ``archive``: captured and delivered with the catch-up priority, at most
  ``catch_up.rate`` images per minute and ``catch_up.concurrency`` at a time,
  so live images always go first.

``catchUp`` runs one pass over a day_obs range; with ``catch_up.continuous``
a pass over the whole catalog runs every ``catch_up.interval`` seconds while
the Archiver is ENABLED. After each pass, and whenever images it took on are
archived, a `CatchUpStatus` goes to ``on_status`` (the ``catchUpStatus``
event). A later pass never queues an image twice: one taken on is in the
ledger, in progress, until it is archived.
"""

from __future__ import annotations

__all__ = ["CatchUpScheduler", "CatchUpStatusCallback", "plan_summary"]

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from ..camera import Camera, ImageName, InvalidImageNameError
from ..config import CatchUpSettings
from ..daq import DaqStore
from ..delivery import DeliveryService, Selection
from ..ledger import CaptureState, Ledger, LedgerError, LedgerRunner, Trigger, UnknownImageError
from ..recovery import RetryRefusedError
from .inventory import ArchiveInventory, InventoryUnavailableError
from .planning import CatchUpPlan, LedgerView, plan_catch_up
from .selection import DayObsRange
from .status import CatchUpProgress, CatchUpStatus

if TYPE_CHECKING:
    from ..pipeline import ImagePipeline
    from ..recovery import ImageRecovery

CatchUpStatusCallback = Callable[[CatchUpStatus], Awaitable[None]]
"""``await on_status(status)``: a pass ended, or the work of one did."""

PROGRESS_INTERVAL = 2.0
"""Seconds between looks at the images a pass took on (a status is written when some are archived)."""

REDELIVERY_REASON = "missing in the archive (found by catch-up)"
"""``redelivery`` of the items catch-up delivers to the archive again."""


class CatchUpScheduler:
    """Catch up on the DAQ images the normal path missed (see module docstring).

    Parameters
    ----------
    camera : `~lsst.ts.archiver.camera.Camera`
        The Archiver's camera.
    store : `~lsst.ts.archiver.daq.DaqStore`
        The DAQ store (its catalog is the list of candidates).
    folder : `str`
        DAQ folder of the camera's images.
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        The ledger.
    pipeline : `~lsst.ts.archiver.pipeline.ImagePipeline`
        Where images are archived.
    delivery : `~lsst.ts.archiver.delivery.DeliveryService`
        Where files are delivered again.
    settings : `~lsst.ts.archiver.config.CatchUpSettings`
        Rate, priority, continuous passes.
    recovery : `~lsst.ts.archiver.recovery.ImageRecovery`
        Retries the images with finally failed parts.
    inventory : `ArchiveInventory` or `None`, optional
        The archive's registries; None compares the DAQ and the ledger only.
    on_status : callable, optional
        Receives a `CatchUpStatus` after each pass and when its work ends.
    log : `logging.Logger`, optional
        Parent logger (the CSC's), so progress reaches SAL ``logMessage``.
    """

    def __init__(
        self,
        camera: Camera,
        store: DaqStore,
        folder: str,
        runner: LedgerRunner,
        pipeline: ImagePipeline,
        delivery: DeliveryService,
        settings: CatchUpSettings,
        *,
        recovery: ImageRecovery,
        inventory: ArchiveInventory | None = None,
        on_status: CatchUpStatusCallback | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.camera = camera
        self.store = store
        self.folder = folder
        self.runner = runner
        self.pipeline = pipeline
        self.delivery = delivery
        self.settings = settings
        self.recovery = recovery
        self.inventory = inventory
        self.on_status = on_status
        self.log = log.getChild("catch_up") if log is not None else logging.getLogger(__name__)
        self.progress = CatchUpProgress()
        self._task: asyncio.Task[None] | None = None
        self._continuous: asyncio.Task[None] | None = None
        self._following: asyncio.Task[None] | None = None
        self._taken: set[str] = set()
        self._done_since_plan: set[str] = set()
        self._last_plan = CatchUpPlan()
        self._daq: dict[str, list[str]] = {}
        self._archive_reachable = True
        self._bad_names: set[str] = set()

    @property
    def running(self) -> bool:
        """Is the work of a pass still going on (images being queued)?"""
        return self._task is not None and not self._task.done()

    # ------------------------------------------------------------------ passes

    async def plan(self, days: DayObsRange | None = None) -> CatchUpPlan:
        """Compare the DAQ catalog (the images in ``days``, default all), the ledger and the archive.

        Catalog entries whose name is not a valid image name are skipped,
        each with a warning (once).
        """
        days = days if days is not None else DayObsRange()
        images = await asyncio.to_thread(self.store.list_images, self.folder, complete_only=True)
        daq = {
            image.name: [d.name for location in image.locations for d in self.camera.reb(location).detectors]
            for image in images
            if self._valid_name(image.name) and image.name in days
        }
        selections = [
            d.config.selection
            for name, d in self.delivery.destinations.items()
            if name in self.delivery.archive_destinations
        ]
        views = await self.runner.run(
            _ledger_views, self.runner.ledger, list(daq), self.recovery.destinations, selections
        )
        archive = await self._ask_archive(list(daq))
        plan = plan_catch_up(daq, views, archive, now=time.time(), stale_after=self.settings.stale_after)
        self._last_plan, self._daq, self._done_since_plan = plan, daq, set()
        return plan

    def start(self, plan: CatchUpPlan) -> None:
        """Do the work of ``plan`` in the background (one at a time).

        Raises
        ------
        RuntimeError
            If the work of a pass is in progress.
        """
        if self.running:
            raise RuntimeError("A catch-up run is in progress; wait for it to finish")
        self._task = asyncio.create_task(self._work(plan), name="catch-up")

    def start_continuous(self) -> None:
        """Run a pass over the whole DAQ catalog every ``settings.interval`` seconds."""
        if self._continuous is None:
            self._continuous = asyncio.create_task(self._run_continuously(), name="catch-up:continuous")

    async def stop(self) -> None:
        """Stop passes and queueing (images already queued go on)."""
        for task in (self._continuous, self._task, self._following):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._continuous = self._task = self._following = None
        if self.inventory is not None:
            await asyncio.to_thread(self.inventory.close)

    async def status(self) -> CatchUpStatus:
        """The status now (the backlog of the last pass, less what was archived since)."""
        now = time.time()
        plan = self._last_plan
        await self.runner.run(self._note_archived, self.runner.ledger)
        backlog = [name for name in plan.backlog if name not in self._done_since_plan]
        not_captured = sum(1 for name in plan.archive if name not in self._done_since_plan)
        undelivered = await self.runner.run(self.runner.ledger.undelivered_by_destination)
        detector_bytes = await self.runner.run(self.runner.ledger.mean_detector_size)
        return self.progress.status(
            backlog,
            undelivered,
            not_captured,
            detector_bytes * len(self.camera.detectors),
            list(self.delivery.destinations),
            archive_reachable=self._archive_reachable,
            now=now,
        )

    async def report_status(self) -> None:
        """Send the status to ``on_status`` (errors are logged)."""
        if self.on_status is None:
            return
        try:
            await self.on_status(await self.status())
        except LedgerError as e:
            self.log.warning(f"catchUpStatus not written: ledger unavailable: {e}")
        except Exception:
            self.log.exception("catchUpStatus could not be written")

    # ------------------------------------------------------------------ work

    async def _run_continuously(self) -> None:
        while True:
            try:
                if not self.running:
                    plan = await self.plan()
                    if plan:
                        self.log.info(f"Catch-up pass: {plan_summary(plan)}")
                        self.start(plan)
                await self.report_status()
            except asyncio.CancelledError:
                raise
            except LedgerError as e:
                self.log.error(f"Catch-up pass failed: ledger unavailable: {e}")
            except Exception:
                self.log.exception("Catch-up pass failed")
            await asyncio.sleep(self.settings.interval)

    async def _work(self, plan: CatchUpPlan) -> None:
        try:
            for name in plan.found:
                await self._record_found(name)
            for name, detectors in plan.redeliver.items():
                await self._redeliver(name, detectors)
            retried = 0
            for name in plan.retry:
                self._taken.add(name)
                retried += await self._retry(name)
            interval = 60.0 / self.settings.rate
            for index, name in enumerate(plan.archive):
                self._taken.add(name)
                self.pipeline.start_image(name, trigger=Trigger.CATCH_UP, priority=self.settings.priority)
                if index + 1 < len(plan.archive):
                    await asyncio.sleep(interval)
        except LedgerError as e:
            self.log.error(f"Catch-up stopped: ledger unavailable: {e}")
            return
        self.log.info(
            f"Catch-up: {len(plan.archive)} image(s) queued, {retried} retried, "
            f"{len(plan.redeliver)} delivered to the archive again, {len(plan.found)} found archived"
        )
        if self._following is not None:
            self._following.cancel()
        self._following = asyncio.create_task(self._follow_taken(), name="catch-up:follow")

    async def _follow_taken(self) -> None:
        """Report the status whenever images taken on are archived, until all are
        (or none is for ``stale_after`` seconds)."""
        await self.report_status()
        left, last_progress = len(self._taken), time.monotonic()
        while self._taken and time.monotonic() - last_progress < self.settings.stale_after:
            await asyncio.sleep(PROGRESS_INTERVAL)
            await self.runner.run(self._note_archived, self.runner.ledger)
            if len(self._taken) < left:
                left, last_progress = len(self._taken), time.monotonic()
                await self.report_status()
        if self._taken:
            self.log.warning(
                f"Catch-up: {len(self._taken)} image(s) taken on are still not archived after "
                f"{self.settings.stale_after:.0f} s without progress: {', '.join(sorted(self._taken)[:10])}"
            )

    async def _record_found(self, name: str) -> None:
        where = ", ".join(self.inventory.names) if self.inventory is not None else "the archive"
        if await self.runner.run(
            self.runner.ledger.record_found,
            name,
            camera=self.camera.name,
            day_obs=ImageName.parse(name).day_obs,
            expected={d: self.camera.detector(d).id for d in self._daq.get(name, [])},
            where=where,
        ):
            self.log.info(f"Catch-up: {name} is already archived in {where}; recorded, not captured again")

    async def _redeliver(self, name: str, detectors: Sequence[str]) -> None:
        assert self.inventory is not None
        records = {d.name: d for d in await self.runner.run(self.runner.ledger.detectors, name)}
        gone = [
            d
            for d in detectors
            if records.get(d) is None
            or records[d].state is not CaptureState.WRITTEN
            or records[d].path is None
            or not await asyncio.to_thread(os.path.exists, records[d].path or "")
        ]
        if gone:
            self.log.warning(
                f"Catch-up: {name} is archived in the ledger but {', '.join(self.inventory.names)} lacks "
                f"{', '.join(detectors)}; the staging files of {', '.join(gone)} are gone, so they cannot be "
                "delivered again (capture them again with archiveImage after clearing the ledger record)"
            )
            detectors = [d for d in detectors if d not in gone]
            if not detectors:
                return
        await self.delivery.redeliver(name, detectors, REDELIVERY_REASON, destinations=self.inventory.names)
        self.log.warning(
            f"Catch-up: {name} is archived in the ledger but {', '.join(self.inventory.names)} lacks "
            f"{', '.join(detectors)}; delivering them again"
        )

    async def _retry(self, name: str) -> bool:
        try:
            await self.recovery.retry(name, trigger=Trigger.CATCH_UP)
        except RetryRefusedError as e:
            self.log.warning(f"Catch-up: {name} not retried: {e}")
            return False
        return True

    async def _ask_archive(self, names: list[str]) -> dict[str, frozenset[str]] | None:
        if self.inventory is None:
            return None
        try:
            held = await asyncio.to_thread(self.inventory.held, names)
        except InventoryUnavailableError as e:
            if self._archive_reachable:
                self.log.warning(f"Catch-up compares the DAQ and the ledger only: {e}")
            self._archive_reachable = False
            return None
        if not self._archive_reachable:
            self.log.info("Catch-up: the archive's registries answer again")
        self._archive_reachable = True
        return held

    def _note_archived(self, ledger: Ledger) -> None:
        """Count the images catch-up took on that are now archived (blocking: ledger)."""
        for name in list(self._taken):
            try:
                record = ledger.image(name)
            except UnknownImageError:
                continue
            if record.archived_at is not None:
                self._taken.discard(name)
                self._done_since_plan.add(name)
                self.progress.archived(record.archived_at)

    def _valid_name(self, name: str) -> bool:
        try:
            ImageName.parse(name)
        except InvalidImageNameError as e:
            if name not in self._bad_names:
                self._bad_names.add(name)
                self.log.warning(
                    f"Catch-up: DAQ folder {self.folder!r} lists an image with a bad name: {e}; skipped"
                )
            return False
        return True


def plan_summary(plan: CatchUpPlan) -> str:
    """One line: what a pass found to do."""
    return (
        f"{len(plan.archive)} image(s) to archive, {len(plan.retry)} to retry, "
        f"{len(plan.redeliver)} to deliver to the archive again, {len(plan.found)} found archived"
    )


def _ledger_views(
    ledger: Ledger, names: Sequence[str], destinations: Sequence[str], selections: Sequence[Selection] = ()
) -> dict[str, LedgerView]:
    """What the ledger records of ``names`` (those it knows), blocking.

    With ``selections`` (of the archive destinations), an image's detectors
    are those some archive destination takes.
    """
    failed = ledger.images_with_failures(names, destinations=destinations)
    views: dict[str, LedgerView] = {}
    for name in names:
        try:
            record = ledger.image(name)
        except UnknownImageError:
            continue
        detectors = [d.name for d in ledger.detectors(name)]
        if selections and not all(s.takes_everything for s in selections):
            detectors = [
                n for n in detectors if any(s.takes(record.camera, record.image_type, n) for s in selections)
            ]
        views[name] = LedgerView(
            archived=record.archived_at is not None,
            failed=name in failed,
            registered_at=record.registered_at,
            detectors=frozenset(detectors),
        )
    return views
