"""`DeliveryTracker`: turns delivery outcomes into results and reports them.

Destination workers tell the tracker when an item reaches its final state
at their destination (`DeliveryTracker.item_final`,
`~DeliveryTracker.items_ingested`) and when the ledger cannot be reached
(`~DeliveryTracker.ledger_error`). The tracker reports:

* ``on_file_delivered(FileDelivered)`` for every item at every destination;
* ``on_image_in_oods(ImageInOods)`` for every detector file at an ``oods``
  destination;
* ``on_image_delivered(ImageDelivered)`` once per destination and exposure,
  when every file the destination takes (its `Selection`) is there or
  finally failed; the ledger records the outcome
  (`~lsst.ts.archiver.ledger.Ledger.record_outcome`), so it is reported
  once, and once more only if a retry changes it;
* ``on_image_archived(ImageArchived)`` once per exposure, when the archive
  destinations hold every expected file or the rest finally failed (the
  ledger's `~lsst.ts.archiver.ledger.Ledger.mark_archived` makes it once,
  across restarts and processes). An operator retry
  (`~lsst.ts.archiver.ledger.Ledger.retry_image`) that can change the
  outcome clears the image's archived state, so the next completion is
  recorded and reported again, with the new counts; so does an item
  delivered again (``redelivery``: its file was rewritten) whose outcome at
  an archive destination differs from its previous one. Nothing else
  reports an exposure twice;
* ``on_ledger_error(Exception)`` when the ledger is unreachable.

Callbacks run on the event loop and may be coroutine functions; one that
raises is logged and does not stop delivery. The tracker never calls back
into the workers: results flow from the workers through it to the caller.
"""

from __future__ import annotations

__all__ = ["DeliveryTracker"]

import inspect
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ..ledger import (
    MANIFEST_ITEM,
    DeliveryRecord,
    DeliveryStage,
    DeliveryStatus,
    ExposureDelivery,
    ImageProgress,
    ImageRecord,
    LedgerRunner,
)
from .config import DestinationConfig, DestinationRole
from .results import FileDelivered, ImageArchived, ImageDelivered, ImageInOods, ResultCallback
from .selection import Selection

_log = logging.getLogger(__name__)

IMAGE_CACHE_SIZE = 10_000
"""Most image records kept in memory (the cache is emptied when it is full)."""


class DeliveryTracker:
    """Report the results of delivery (see module docstring).

    Parameters
    ----------
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        How to reach the ledger.
    archive_destinations : collection of `str`
        Names of the destinations that decide when an exposure is archived.
    selections : mapping of `str` to `Selection`, optional
        Destination name → the files it takes (default: every file).
    on_image_in_oods, on_image_archived, on_file_delivered, on_image_delivered : callables, optional
        Result callbacks (see module docstring).
    on_ledger_error : callable, optional
        Called with the exception when the ledger is unreachable.
    settles_images : `bool`, optional
        Decide (record and report) when an exposure is archived. False in a
        delivery process: the Archiver decides, seeing the items the
        process settled (`report_settled`).
    log : `logging.Logger`, optional
        Parent logger (e.g. a child of the CSC's log, so that the lines
        reach SAL); the tracker logs to a child of it. Default: this
        module's logger.

    Attributes
    ----------
    items_done : `int`
        Items (at any destination) this tracker saw finish successfully.
    items_failed : `int`
        Items it saw finally fail.
    """

    def __init__(
        self,
        runner: LedgerRunner,
        archive_destinations: Collection[str],
        *,
        selections: Mapping[str, Selection] | None = None,
        on_image_in_oods: ResultCallback[ImageInOods] | None = None,
        on_image_archived: ResultCallback[ImageArchived] | None = None,
        on_file_delivered: ResultCallback[FileDelivered] | None = None,
        on_image_delivered: ResultCallback[ImageDelivered] | None = None,
        on_ledger_error: ResultCallback[Exception] | None = None,
        settles_images: bool = True,
        log: logging.Logger | None = None,
    ) -> None:
        self.runner = runner
        self.settles_images = settles_images
        self.archive_destinations: tuple[str, ...] = tuple(archive_destinations)
        self.selections: dict[str, Selection] = dict(selections or {})
        self.on_image_in_oods = on_image_in_oods
        self.on_image_archived = on_image_archived
        self.on_file_delivered = on_file_delivered
        self.on_image_delivered = on_image_delivered
        self.on_ledger_error = on_ledger_error
        self.log = _log if log is None else log.getChild(type(self).__name__)
        self._images: dict[str, ImageRecord] = {}
        self.items_done = 0
        self.items_failed = 0

    async def image(self, obsid: str) -> ImageRecord:
        """The ledger's record of an image (cached: it does not change once registered).

        Raises
        ------
        lsst.ts.archiver.ledger.UnknownImageError
            If the image is not in the ledger.
        lsst.ts.archiver.ledger.LedgerError
            If the ledger is unreachable.
        """
        image = self._images.get(obsid)
        if image is None:
            image = await self.runner.run(self.runner.ledger.image, obsid)
            if len(self._images) >= IMAGE_CACHE_SIZE:
                self._images.clear()
            self._images[obsid] = image
        return image

    async def item_final(
        self,
        destination: DestinationConfig,
        image: ImageRecord,
        item: DeliveryRecord,
        status: DeliveryStatus,
        description: str = "",
        uri: str | None = None,
    ) -> None:
        """An item reached its final state at a destination (recorded in the ledger).

        Reports it, and if the destination is an archive destination checks
        whether the exposure is now archived.

        Parameters
        ----------
        destination : `DestinationConfig`
            The destination.
        image : `~lsst.ts.archiver.ledger.ImageRecord`
            The item's image.
        item : `~lsst.ts.archiver.ledger.DeliveryRecord`
            The item (as claimed).
        status : `~lsst.ts.archiver.ledger.DeliveryStatus`
            OK or why it finally failed.
        description : `str`, optional
            The reason of a failure.
        uri : `str`, optional
            Where the item is at the destination.
        """
        if status is DeliveryStatus.OK:
            self.items_done += 1
        else:
            self.items_failed += 1
        await self._report(destination, image, item, status, description, uri)
        if destination.name in self.archive_destinations:
            await self._reopen_if_changed(image.name, destination, [item], status)
            await self.check_archived(image.name)
        await self.check_delivered(image.name, destination)

    async def items_ingested(
        self, destination: DestinationConfig, image: ImageRecord, items: Sequence[DeliveryRecord]
    ) -> None:
        """Items of one exposure are ingested (done) at a destination.

        Reports each, then checks once whether the exposure is archived.
        """
        self.items_done += len(items)
        for item in items:
            await self._report(destination, image, item, DeliveryStatus.OK, "", item.remote_uri)
        if items and destination.name in self.archive_destinations:
            await self._reopen_if_changed(image.name, destination, items, DeliveryStatus.OK)
            await self.check_archived(image.name)
        if items:
            await self.check_delivered(image.name, destination)

    async def report_settled(
        self, items: Sequence[DeliveryRecord], destinations: Mapping[str, DestinationConfig]
    ) -> None:
        """Report items another process settled (done or finally failed), as if settled here.

        Items of destinations not in ``destinations`` are ignored; then the
        exposures with items at an archive destination are checked
        (`check_archived`).

        Raises
        ------
        lsst.ts.archiver.ledger.LedgerError
            If the ledger is unreachable.
        """
        to_check: dict[str, None] = {}
        delivered: dict[tuple[str, str], DestinationConfig] = {}
        for item in items:
            destination = destinations.get(item.destination)
            if destination is None:
                continue
            image = await self.image(item.image)
            if item.stage is DeliveryStage.DONE:
                await self._report(destination, image, item, DeliveryStatus.OK, "", item.remote_uri)
            else:
                status = _failure_status(item.status_code)
                await self._report(destination, image, item, status, item.last_error or "", item.remote_uri)
            if item.destination in self.archive_destinations:
                to_check[item.image] = None
            delivered[item.image, item.destination] = destination
        for obsid in to_check:
            await self.check_archived(obsid)
        for (obsid, _), destination in delivered.items():
            await self.check_delivered(obsid, destination)

    async def check_archived(self, obsid: str) -> None:
        """Report ``imageArchived`` if the exposure is settled at every archive destination.

        Settled means every expected file is there or finally failed (in
        capture or delivery). The ledger records the outcome once (once more
        after a retry reopened the image); only the caller that records it
        reports it.

        Raises
        ------
        lsst.ts.archiver.ledger.LedgerError
            If the ledger is unreachable.
        """
        if not self.settles_images:
            return
        if not self.archive_destinations:
            return
        progress = await self._settled(obsid, self.archive_destinations)
        if progress is None:
            return
        expected = progress.expected
        missing_sorted, reasons = _missing(progress)
        archived = len(expected) - len(missing_sorted)
        where = ", ".join(self.archive_destinations)
        if missing_sorted:
            description = f"{archived} of {len(expected)} files archived in {where}; missing: " + "; ".join(
                reasons
            )
        else:
            description = f"All {len(expected)} files archived in {where}"
        status = 0 if not missing_sorted else 1
        if await self.runner.run(self.runner.ledger.mark_archived, obsid, status, description):
            await self._emit(
                self.on_image_archived,
                ImageArchived(
                    camera=progress.image.camera,
                    obsid=obsid,
                    expected_sensors=len(expected),
                    archived_sensors=archived,
                    missing_sensors=":".join(missing_sorted),
                    status_code=status,
                    description=description,
                ),
            )

    async def check_delivered(self, obsid: str, destination: DestinationConfig) -> None:
        """Report ``imageDelivered`` if every file the destination takes of the exposure is settled.

        Settled: there (delivered, and ingested if it ingests), or finally
        failed in capture or delivery. A destination that takes nothing of
        the exposure (its detectors or image types) reports nothing.

        Raises
        ------
        lsst.ts.archiver.ledger.LedgerError
            If the ledger is unreachable.
        """
        if not self.settles_images:
            return
        name = destination.name
        progress = await self._settled(obsid, [name])
        if progress is None or not progress.expected:
            return
        missing, reasons = _missing(progress)
        delivered = len(progress.expected) - len(missing)
        if missing:
            description = (
                f"{delivered} of {len(progress.expected)} files delivered to {name}; missing: "
                + "; ".join(reasons)
            )
        else:
            description = f"All {len(progress.expected)} files delivered to {name}"
        outcome = ExposureDelivery(
            image=obsid,
            destination=name,
            expected=len(progress.expected),
            delivered=delivered,
            missing=missing,
            status=1 if missing else 0,
            description=description,
        )
        if await self.runner.run(self.runner.ledger.record_outcome, outcome):
            await self._emit(
                self.on_image_delivered,
                ImageDelivered(
                    camera=progress.image.camera,
                    obsid=obsid,
                    destination=name,
                    role=destination.role.value,
                    expected_sensors=outcome.expected,
                    delivered_sensors=delivered,
                    missing_sensors=":".join(missing),
                    status_code=outcome.status,
                    description=description,
                ),
            )

    async def _settled(self, obsid: str, destinations: Collection[str]) -> ImageProgress | None:
        """The exposure's progress at ``destinations`` (their selections) if it is complete there, else None.

        The ledger's cheap `~lsst.ts.archiver.ledger.Ledger.is_settled` is asked first.
        """
        ledger = self.runner.ledger
        if not await self.runner.run(ledger.is_settled, obsid, destinations):
            return None
        progress = await self.runner.run(ledger.progress, obsid, destinations)
        progress = self._selected(progress, destinations)
        return progress if progress.complete else None

    def _selected(self, progress: ImageProgress, destinations: Collection[str]) -> ImageProgress:
        """``progress`` restricted to the files each of ``destinations`` takes."""
        selective = {name: self.selections[name] for name in destinations if name in self.selections}
        selective = {name: s for name, s in selective.items() if not s.takes_everything}
        if not selective:
            return progress
        image = progress.image
        return progress.restricted(
            {
                name: s.expected(image.camera, image.image_type, progress.expected)
                for name, s in selective.items()
            }
        )

    async def _reopen_if_changed(
        self,
        obsid: str,
        destination: DestinationConfig,
        items: Sequence[DeliveryRecord],
        status: DeliveryStatus,
    ) -> None:
        """Reopen an archived image if a redelivered item's outcome changed.

        ``items`` (as claimed) still carry the status of their previous
        outcome; if one was delivered and now failed, or the reverse, the
        image's counts change and ``imageArchived`` must be written again.
        """
        ok = status is DeliveryStatus.OK
        changed = [
            item.item
            for item in items
            if item.redelivery is not None
            and item.status_code is not None
            and (item.status_code == DeliveryStatus.OK) != ok
        ]
        if not changed:
            return
        if await self.runner.run(self.runner.ledger.reopen_image, obsid):
            self.log.info(
                "%s: %s %s at %s after redelivery (%s); imageArchived is decided again",
                obsid,
                ", ".join(changed),
                "delivered" if ok else "failed",
                destination.name,
                items[0].redelivery,
            )

    async def ledger_error(self, error: Exception) -> None:
        """The ledger could not be reached: log it and report it."""
        self.log.error("Ledger unavailable: %s", error)
        await self._emit(self.on_ledger_error, error)

    # ------------------------------------------------------------------

    async def _report(
        self,
        destination: DestinationConfig,
        image: ImageRecord,
        item: DeliveryRecord,
        status: DeliveryStatus,
        description: str,
        uri: str | None,
    ) -> None:
        role = destination.role
        await self._emit(
            self.on_file_delivered,
            FileDelivered(
                camera=image.camera,
                obsid=image.name,
                item=item.item,
                destination=destination.name,
                role=role.value,
                status=status,
                description=description,
                uri=uri,
                attempts=item.attempts,
            ),
        )
        if item.item != MANIFEST_ITEM and role is DestinationRole.OODS:
            raft, _, sensor = item.item.partition("_")
            if not description:
                description = f"{item.item} ingested into {destination.name}"
                if item.redelivery is not None:
                    description += f" again: {item.redelivery}"
            await self._emit(
                self.on_image_in_oods,
                ImageInOods(
                    camera=image.camera,
                    obsid=image.name,
                    raft=raft,
                    sensor=sensor,
                    status_code=int(status),
                    description=description,
                    destination=destination.name,
                ),
            )

    async def _emit(self, callback: ResultCallback[Any] | None, payload: Any) -> None:
        if callback is None:
            return
        try:
            result = callback(payload)
            if inspect.isawaitable(result):
                await result
        except Exception:
            self.log.exception("Result callback %r failed for %s", callback, payload)


def _missing(progress: ImageProgress) -> tuple[tuple[str, ...], list[str]]:
    """The expected detectors of a complete exposure that are missing (in order), and why.

    Returns
    -------
    missing : `tuple` [`str`, ...]
        Detectors whose capture, or delivery to one of the destinations,
        finally failed (the manifest item does not count).
    reasons : `list` [`str`]
        ``<detector>: capture failed: <why>`` and ``<detector> at
        <destination>: <why>``, one per failure.
    """
    failed = set(progress.capture_failed)
    reasons = [f"{name}: capture failed: {why}" for name, why in progress.capture_failed.items()]
    for destination, items in progress.failed.items():
        for name, why in items.items():
            if name != MANIFEST_ITEM:
                failed.add(name)
                reasons.append(f"{name} at {destination}: {why}")
    return tuple(name for name in progress.expected if name in failed), reasons


def _failure_status(code: int | None) -> DeliveryStatus:
    """The status of a finally failed item's code (a transfer failure if unknown)."""
    try:
        return DeliveryStatus(-1 if code is None else code)
    except ValueError:
        return DeliveryStatus.TRANSFER_FAILURE
