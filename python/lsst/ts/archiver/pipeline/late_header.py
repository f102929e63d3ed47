"""`LateHeaders`: a Header Service header that arrives after the image's files were written.

A header that arrives in time, or after ``header_service.wait_timeout`` but
before the files are written, is merged by `ImagePipeline` as the files are
written. This module handles the header that comes later still, when the
files were written with the Archiver's own metadata (``HDRSRC =
'Archiver'``). It is told of every announcement (`HeaderTracker`
listener, through the pipeline), waits until the image's capture run, if
any, has ended, and then:

* **within** ``header_service.late_header_window`` seconds after the files
  were written, it fetches the header (`HeaderTracker.fetch`, under the
  fetch policy), saves it as the image's header side file
  (`~lsst.ts.archiver.staging.StagingArea.save_header`, so that any later
  capture of the image merges it too) and has the capture pool write every
  written detector file again with the merged header. The new file replaces
  the old one atomically (temporary name + rename) with new checksums
  (``DATASUM``/``CHECKSUM``) and a new sidecar; its pixels are checked
  against the old file's ``DATASUM`` of every amplifier. The ledger records
  each file's new size and checksum and then the header source, and
  `~lsst.ts.archiver.delivery.DeliveryService.redeliver` sends every file to
  every destination again: transfer (overwrite) and an ingest that replaces
  the Butler dataset in place, keeping its dataset id. ``imageInOODS`` is
  written again per file (status 0, "... ingested into oods again: late
  Header Service header applied"); ``imageArchived`` only if its counts
  change.
* **outside** the window (or with the window 0), or when the header cannot
  be fetched or the image is no longer in the DAQ, nothing is rewritten: the
  ledger keeps a note (``header_note``) and a warning says so ("Late header
  for X arrived N s after the files were written; not applied ...").

The files are written again **from the DAQ**, not from the staged file:
the capture pool's worker processes run exactly the code that writes a file
whose header arrived in time (header merge, value checks, translation and
its fallback, ``HDRNOTE``), so the rewritten file is the file an on-time
header would have given, and the CPU work stays in the capture processes
(any `~lsst.ts.archiver.capture.CapturePool` backend). Reading the staged
file back would need a second, lossy way to rebuild the Archiver's own
metadata (camera events and DAQ provenance) from a written header. The DAQ
keeps images for days, far longer than the window; an image already gone
from it is recorded as not applied.

Durable: before any file is rewritten the ledger marks the image
(``header_pending``) and the header side file is saved, so a restart
finishes the work (`LateHeaders.resume`); every step can be repeated.
Nothing here speaks SAL.
"""

from __future__ import annotations

__all__ = ["LATE_HEADER_REASON", "LateHeaderResult", "LateHeaders"]

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from astropy.io import fits

from ..capture import CaptureStatus, DetectorOutcome
from ..daq import DaqError, DaqStore, StoreUnavailableError
from ..delivery import DeliveryService
from ..error_codes import ArchiverFault, ErrorCode
from ..fits import ExposureMetadata, HeaderSource
from ..ledger import CaptureState, DetectorRecord, ImageRecord, LedgerError, LedgerRunner, UnknownImageError
from ..metadata import file_checksum
from ..staging import StagingArea
from .headers import FetchedHeader, HeaderAnnouncement, HeaderTracker

_log = logging.getLogger(__name__)

LATE_HEADER_REASON = "late Header Service header applied"
"""Why the files are delivered again (in each ``imageInOODS`` description)."""

_HEADER_SERVICE = HeaderSource.HEADER_SERVICE.value
_ARCHIVER = HeaderSource.ARCHIVER.value

Recapture = Callable[[str, Sequence[str], ExposureMetadata, FetchedHeader], Awaitable[list[DetectorOutcome]]]
"""Write detector files of an image again with a header: ``(obsid, detectors,
metadata, header) -> outcomes``; raises `~lsst.ts.archiver.error_codes.ArchiverFault`
for conditions that stop the Archiver."""

FaultReporter = Callable[[ErrorCode, str], None]
"""Told of a condition that stops the Archiver (``(code, report)``); must not block."""


@dataclass(frozen=True)
class LateHeaderResult:
    """What became of a late header.

    Attributes
    ----------
    obsid : `str`
        The image.
    applied : `bool`
        Whether files were rewritten with it and delivered again.
    note : `str`
        What the ledger records (``header_note``).
    rewritten : `tuple` [`str`, ...]
        Detectors whose file was rewritten and delivered again.
    seconds : `float`
        Time from the start of the rewrite to the files queued again.
    """

    obsid: str
    applied: bool
    note: str
    rewritten: tuple[str, ...] = ()
    seconds: float = 0.0


class LateHeaders:
    """Apply (or record) Header Service headers that arrive after the files were written.

    Parameters
    ----------
    store : `~lsst.ts.archiver.daq.DaqStore`
        The DAQ store (is the image still there?).
    folder : `str`
        DAQ folder of the images.
    delivery : `~lsst.ts.archiver.delivery.DeliveryService`
        Records rewritten files and delivers them again.
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        The ledger.
    headers : `HeaderTracker`
        Announcements, and the fetch under its policy.
    staging : `~lsst.ts.archiver.staging.StagingArea`
        Where the header side file and the camera metadata are.
    window : `float`
        ``header_service.late_header_window``: seconds after the files were
        written during which a late header is applied; 0: never.
    recapture : callable
        Writes detector files again with a header (`Recapture`; the image
        pipeline's capture with its retries).
    wait_capture : callable
        ``await wait_capture(obsid)`` returns when no capture run of the
        image is active.
    on_fault : callable
        Told of a condition that stops the Archiver (`FaultReporter`).
    log : `logging.Logger`, optional
        Where to log (a child of the CSC's log, so the lines reach SAL
        ``logMessage``); default this module's logger.
    """

    def __init__(
        self,
        store: DaqStore,
        folder: str,
        delivery: DeliveryService,
        runner: LedgerRunner,
        headers: HeaderTracker,
        staging: StagingArea,
        *,
        window: float,
        recapture: Recapture,
        wait_capture: Callable[[str], Awaitable[None]],
        on_fault: FaultReporter,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.folder = folder
        self.delivery = delivery
        self.runner = runner
        self.headers = headers
        self.staging = staging
        self.window = window
        self._recapture = recapture
        self._wait_capture = wait_capture
        self._on_fault = on_fault
        self.log = log if log is not None else _log
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._tasks: set[asyncio.Task[LateHeaderResult | None]] = set()

    # ------------------------------------------------------------------ lifecycle

    def announced(self, announcement: HeaderAnnouncement) -> asyncio.Task[LateHeaderResult | None]:
        """Look at an announcement in the background (is it late? apply or record it).

        Announcements of the same image are handled one after the other.
        """
        return self._spawn(announcement.obsid, self._follow(announcement))

    async def resume(self) -> list[str]:
        """Finish what a restart interrupted and look at announcements heard meanwhile.

        Images marked ``header_pending`` get their files rewritten with the
        saved header; images written with the Archiver's own metadata within
        the window whose header the tracker heard of (e.g. while the CSC was
        not ENABLED) are looked at as if just announced. Runs in the
        background.

        Returns
        -------
        names : `list` [`str`]
            The images whose interrupted rewrite is being finished.
        """
        ledger = self.runner.ledger
        pending = await self.runner.run(ledger.images_with_header_pending)
        for image in pending:
            self._spawn(image.name, self._finish(image))
        if self.window > 0:
            since = time.time() - self.window
            recent = await self.runner.run(ledger.images_by_header_source, _ARCHIVER, captured_since=since)
            resumed = {image.name for image in pending}
            for image in recent:
                announcement = self.headers.get(image.name)
                if announcement is not None and image.name not in resumed:
                    self.announced(announcement)
        return [image.name for image in pending]

    async def wait_idle(self) -> None:
        """Wait until every late header being looked at is done (for tests and shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def stop(self) -> None:
        """Cancel the late headers being handled (an interrupted rewrite is finished by `resume`)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(
        self, obsid: str, coro: Awaitable[LateHeaderResult | None]
    ) -> asyncio.Task[LateHeaderResult | None]:
        task = asyncio.create_task(self._guarded(obsid, coro), name=f"late header {obsid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, obsid: str, coro: Awaitable[LateHeaderResult | None]) -> LateHeaderResult | None:
        """One image at a time; every failure reported, never raised out of the task."""
        lock, users = self._locks.get(obsid, (asyncio.Lock(), 0))
        self._locks[obsid] = (lock, users + 1)
        try:
            async with lock:
                return await coro
        except ArchiverFault as fault:
            self._fault(obsid, fault.code, fault.report)
        except LedgerError as e:
            report = f"Ledger unavailable while applying the late header of {obsid}: {e}"
            self._fault(obsid, ErrorCode.LEDGER_UNAVAILABLE, report)
        except StoreUnavailableError as e:
            report = f"DAQ store unavailable while applying the late header of {obsid}: {e}"
            self._fault(obsid, ErrorCode.DAQ_STORE_UNAVAILABLE, report)
        except Exception:
            self.log.exception(
                "Late header of %s not applied: unexpected error; the files keep the Archiver's metadata",
                obsid,
            )
        finally:
            lock, users = self._locks[obsid]
            if users > 1:
                self._locks[obsid] = (lock, users - 1)
            else:
                del self._locks[obsid]
        return None

    def _fault(self, obsid: str, code: ErrorCode, report: str) -> None:
        self.log.error(f"Late header of {obsid} interrupted: {report}")
        self._on_fault(code, report)

    # ------------------------------------------------------------------ one announcement

    async def _follow(self, announcement: HeaderAnnouncement) -> LateHeaderResult | None:
        await self._wait_capture(announcement.obsid)
        return await self.apply(announcement)

    async def apply(self, announcement: HeaderAnnouncement) -> LateHeaderResult | None:
        """Apply a late header to an image's written files, or record why not.

        Returns
        -------
        result : `LateHeaderResult` or `None`
            None if the header is not late: the image is unknown, its header
            is not decided yet (its capture will merge the header), its files
            already have a Header Service header, none is written, or the
            announcement came before the image was registered (its capture
            had it).

        Raises
        ------
        lsst.ts.archiver.error_codes.ArchiverFault
            If the staging area cannot be written.
        lsst.ts.archiver.ledger.LedgerError
            If the ledger is unreachable.
        """
        obsid = announcement.obsid
        arrived = time.time() - max(0.0, time.monotonic() - announcement.received)
        ledger = self.runner.ledger
        try:
            image = await self.runner.run(ledger.image, obsid)
        except UnknownImageError:
            return None
        if image.header_source != _ARCHIVER or arrived < image.registered_at:
            return None
        written = _written(await self.runner.run(ledger.detectors, obsid))
        if not written:
            return None
        age = max(0.0, arrived - max(d.written_at or 0.0 for d in written))
        url = announcement.url
        heard = f"late header from {url} arrived {age:.0f} s after the files were written"
        if self.window <= 0 or age > self.window:
            why = (
                "header_service.late_header_window is 0"
                if self.window <= 0
                else f"later than header_service.late_header_window = {self.window:g} s"
            )
            self.log.warning(
                f"Late header for {obsid} arrived {age:.1f} s after the files were written; not applied "
                f"({why}): the files keep the Archiver's metadata (HDRSRC='Archiver')"
            )
            return await self._not_applied(obsid, f"{heard}; not applied ({why})")
        header = await self.headers.fetch(announcement)
        if header.text is None:
            # The tracker has logged why the fetch failed.
            return await self._not_applied(obsid, f"{heard}; not applied: {header.problem}")
        await self.runner.run(ledger.set_header_pending, obsid, url, note=f"{heard}; being applied")
        await asyncio.to_thread(self.staging.save_header, obsid, header.text)
        return await self._rewrite(obsid, written, FetchedHeader(header.text, url), heard)

    async def _finish(self, image: ImageRecord) -> LateHeaderResult | None:
        """Finish a rewrite a restart interrupted (the image is marked ``header_pending``)."""
        obsid = image.name
        await self._wait_capture(obsid)
        url = image.header_pending or ""
        heard = image.header_note or f"late header from {url}"
        heard = heard.removesuffix("; being applied")
        text = await asyncio.to_thread(self.staging.load_header, obsid)
        if text is None:
            self.log.warning(
                f"Late header of {obsid} ({url}) lost in a restart before it was saved; not applied"
            )
            return await self._not_applied(obsid, f"{heard}; not applied: lost in a restart")
        written = _written(await self.runner.run(self.runner.ledger.detectors, obsid))
        self.log.info(f"Finishing the late header of {obsid} that a restart interrupted")
        return await self._rewrite(obsid, written, FetchedHeader(text, url), heard)

    async def _not_applied(self, obsid: str, note: str) -> LateHeaderResult:
        await self.runner.run(self.runner.ledger.set_header_source, obsid, _ARCHIVER, note=note)
        return LateHeaderResult(obsid, applied=False, note=note)

    async def _rewrite(
        self, obsid: str, written: Sequence[DetectorRecord], header: FetchedHeader, heard: str
    ) -> LateHeaderResult:
        """Write the files again with the header, record them and deliver them again."""
        started = time.monotonic()
        if not written:
            return await self._not_applied(obsid, f"{heard}; not applied: no file written")
        try:
            self.store.find_image(obsid, self.folder)
        except StoreUnavailableError:
            raise
        except DaqError as e:
            self.log.warning(f"Late header of {obsid} not applied: the image is no longer in the DAQ ({e})")
            return await self._not_applied(obsid, f"{heard}; not applied: the image is no longer in the DAQ")
        metadata = await asyncio.to_thread(self.staging.load_metadata, obsid) or ExposureMetadata(obsid=obsid)
        old_sums = await asyncio.to_thread(_pixel_sums_of, [d.path for d in written if d.path is not None])
        outcomes = await self._recapture(obsid, [d.name for d in written], metadata, header)
        rewritten = [o for o in outcomes if o.status is CaptureStatus.OK and o.path is not None]
        kept = [o for o in outcomes if o.status is not CaptureStatus.OK or o.path is None]
        old_paths = {d.name: d.path for d in written}
        checked = await asyncio.gather(
            *(asyncio.to_thread(_checksum_and_sums, o.path) for o in rewritten if o.path is not None)
        )
        for outcome, (checksum, sums) in zip(rewritten, checked, strict=True):
            assert outcome.path is not None
            before = old_sums.get(old_paths.get(outcome.name) or "")
            if before is not None and before != sums:
                self.log.error(
                    f"{obsid} {outcome.name}: the rewritten file's pixels differ from the first file's "
                    "(amplifier DATASUMs); it is delivered anyway, as read from the DAQ"
                )
            await self.delivery.file_rewritten(
                obsid, outcome.name, outcome.path, size=outcome.size, checksum=checksum
            )
        failed = ", ".join(f"{o.name} ({o.status.name}: {o.description})" for o in kept)
        if kept:
            self.log.warning(f"Late header of {obsid}: {len(kept)} file(s) not rewritten: {failed}")
        names = tuple(o.name for o in rewritten)
        if not names:
            return await self._not_applied(
                obsid, f"{heard}; not applied: no file could be rewritten: {failed}"
            )
        destinations = await self.delivery.redeliver(obsid, names, LATE_HEADER_REASON)
        merged = not kept and all(o.header_merged for o in rewritten)
        note = f"{heard}; applied: {len(names)} file(s) rewritten and delivered again"
        if not all(o.header_merged for o in rewritten):
            note += " (the merged header could not be used: see HDRNOTE)"
        if kept:
            note += f"; not rewritten, so still with the Archiver's metadata: {failed}"
        await self.runner.run(
            self.runner.ledger.set_header_source, obsid, _HEADER_SERVICE if merged else _ARCHIVER, note=note
        )
        seconds = time.monotonic() - started
        where = ", ".join(destinations) or "no destination"
        self.log.info(
            f"Late header of {obsid} applied: {len(names)} file(s) rewritten in {seconds:.2f} s and "
            f"queued again for {where}"
        )
        return LateHeaderResult(obsid, applied=True, note=note, rewritten=names, seconds=seconds)


def _written(detectors: Sequence[DetectorRecord]) -> list[DetectorRecord]:
    """The detectors with a written file."""
    return [d for d in detectors if d.state is CaptureState.WRITTEN and d.path is not None]


def _pixel_sums(path: str) -> tuple[str, ...] | None:
    """The ``DATASUM`` of every amplifier image of a raw file (``ZDATASUM`` if
    compressed: the uncompressed pixels'); None if the file cannot be read. Blocking."""
    try:
        with fits.open(path, disable_image_compression=True, memmap=False, lazy_load_hdus=True) as hdul:
            return tuple(str(hdu.header.get("ZDATASUM", hdu.header.get("DATASUM", ""))) for hdu in hdul[1:])
    except (OSError, ValueError):
        return None


def _pixel_sums_of(paths: Sequence[str]) -> dict[str, tuple[str, ...] | None]:
    """`_pixel_sums` of files that exist, by path. Blocking."""
    return {path: _pixel_sums(path) for path in paths if os.path.exists(path)}


def _checksum_and_sums(path: str) -> tuple[str, tuple[str, ...] | None]:
    """MD5 (``md5:<hex>``) and amplifier `_pixel_sums` of a file. Blocking."""
    return file_checksum(path, "md5"), _pixel_sums(path)
