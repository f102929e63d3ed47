"""`DestinationWorker`: the asyncio loops that drain one destination's queue.

Two loops per destination, both fed from the ledger:

* transfer: claims up to ``concurrency`` due items and transfers each in a
  thread; a verified transfer moves the item to ingest (or done);
* ingest (destinations with a Butler): claims every item waiting for ingest,
  groups them by exposure and ingests each group as one batch in a thread.

While a transfer or an ingest batch runs, its claims are renewed every
third of the lease, so a long transfer is not taken over by a worker of
another process; a worker that lost a claim anyway (its lease expired and
another worker took the item) records nothing for that item and logs it.

Failures are retried with the destination's backoff; when attempts run out
the item is failed with the reason and status code. A destination behind a
link (``link``) that is unreachable is different: the link is down
(`LinkState`), one probe at a time is sent, and those attempts do not count,
so an outage of any length fails no item. A destination with a
``catch_up_bandwidth`` spends a `BandwidthBudget` on catch-up images; while
it is spent only live and commanded images are claimed. Every retry and every
final failure is logged with the destination, obsid, item and reason; an
error no step expected (a bug) is logged with its traceback and counts as a
failed attempt too, so it also ends as a final failure with a status.
Final outcomes go to the `DeliveryTracker`, which reports them.

The worker owns its I/O threads (``concurrency`` transfers, one ingest
batch, one spare for closing the destination), so a slow destination never
takes threads from another; the ledger is reached only through the shared
`~lsst.ts.archiver.ledger.LedgerRunner`. Nothing here blocks the event loop.
"""

from __future__ import annotations

__all__ = ["DestinationWorker"]

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

from ..butler import FileStatus
from ..ledger import (
    MANIFEST_ITEM,
    DeliveryRecord,
    DeliveryStage,
    DeliveryStatus,
    LedgerError,
    LedgerRunner,
    Trigger,
)
from .budget import BandwidthBudget
from .destination import Destination
from .errors import PermanentDeliveryError
from .link import LinkState, is_unreachable
from .tracker import DeliveryTracker

_log = logging.getLogger(__name__)

T = TypeVar("T")


class DestinationWorker:
    """Drains one destination's queue (see module docstring).

    Parameters
    ----------
    runner : `~lsst.ts.archiver.ledger.LedgerRunner`
        How to reach the ledger.
    destination : `Destination`
        The destination.
    tracker : `DeliveryTracker`
        Where final outcomes and ledger failures are reported.
    worker_id : `str`
        Identity of this process in claims.
    poll_interval : `float`, optional
        How often the idle loops look for due retries (s).
    ingest_batch_size : `int`, optional
        Most items one ingest claim takes.
    log : `logging.Logger`, optional
        Parent logger (e.g. a child of the CSC's log, so that retries and
        failures reach SAL); the worker logs to a child of it. Default: this
        module's logger.
    """

    def __init__(
        self,
        runner: LedgerRunner,
        destination: Destination,
        tracker: DeliveryTracker,
        *,
        worker_id: str,
        poll_interval: float = 0.5,
        ingest_batch_size: int = 500,
        log: logging.Logger | None = None,
    ) -> None:
        self.runner = runner
        self.destination = destination
        self.config = destination.config
        self.tracker = tracker
        self.worker_id = worker_id
        self.poll_interval = poll_interval
        self.ingest_batch_size = ingest_batch_size
        self.log = _log if log is None else log.getChild(type(self).__name__)
        self._io_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.config.concurrency + 2, thread_name_prefix=f"delivery-{self.name}"
        )
        self._transfer_wake = asyncio.Event()
        self._ingest_wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._ingesting = 0
        self._stopping = False
        self.link = (
            LinkState(self.name, self.config.link, self.config.retry, self.log)
            if self.config.link is not None
            else None
        )
        bandwidth = self.config.catch_up_bandwidth
        self.catch_up_budget = BandwidthBudget(bandwidth * 1e6) if bandwidth > 0 else None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def name(self) -> str:
        """Destination name."""
        return self.destination.name

    @property
    def in_flight(self) -> int:
        """Transfers and ingest batches running now (including their result reporting)."""
        return len(self._in_flight) + self._ingesting

    def start(self) -> None:
        """Start the loops."""
        self._tasks.append(asyncio.create_task(self._transfer_loop(), name=f"transfer:{self.name}"))
        if self.destination.ingests:
            self._tasks.append(asyncio.create_task(self._ingest_loop(), name=f"ingest:{self.name}"))

    def wake(self) -> None:
        """New work may be due."""
        self._transfer_wake.set()
        self._ingest_wake.set()

    async def stop(self, timeout: float) -> None:
        """Stop claiming, let running transfers finish for up to ``timeout`` s,
        cancel what is left, then close the destination (its Butler and
        notification sink, again for up to ``timeout`` s)."""
        self._stopping = True
        self.wake()
        pending = set(self._tasks) | set(self._in_flight)
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=1.0)
        try:
            await asyncio.wait_for(self._io(self.destination.close), timeout)
        except TimeoutError:
            self.log.warning("Destination %s: its Butler did not close within %s s", self.name, timeout)
        self._io_pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------

    async def _io(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io_pool, functools.partial(function, *args))

    async def _sleep(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def _claim(
        self, stage: DeliveryStage, limit: int, *, skip_catch_up: bool = False
    ) -> list[DeliveryRecord]:
        """Claim due items; on a ledger failure report it, back off and return none."""
        try:
            return await self.runner.run(
                self.runner.ledger.claim,
                self.name,
                stage,
                self.worker_id,
                limit=limit,
                lease=self.config.lease,
                skip_catch_up=skip_catch_up,
            )
        except LedgerError as e:
            await self.tracker.ledger_error(e)
            await asyncio.sleep(self.poll_interval)
            return []

    @contextlib.asynccontextmanager
    async def _renewing(self, items: Sequence[DeliveryRecord]) -> AsyncIterator[None]:
        """Renew the claims on ``items`` every third of the lease while the block runs."""
        task = asyncio.create_task(self._renew(items), name=f"renew:{self.name}")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _renew(self, items: Sequence[DeliveryRecord]) -> None:
        lease = self.config.lease
        held = {item.id for item in items}
        while held:
            await asyncio.sleep(lease / 3)
            try:
                renewed = await self.runner.run(self.runner.ledger.renew_claims, held, self.worker_id, lease)
            except LedgerError as e:
                # Keep trying: the claims last until their lease, and the
                # outcome is refused if another worker took them meanwhile.
                self.log.warning("Destination %s: cannot renew claims: %s", self.name, e)
                continue
            for item in items:
                if item.id in held - renewed:
                    self.log.warning(
                        "Destination %s: lost the claim on %s %s (lease expired, taken over); "
                        "its outcome will not be recorded",
                        self.name,
                        item.image,
                        item.item,
                    )
            held = renewed

    # ------------------------------------------------------------------ transfer

    async def _transfer_loop(self) -> None:
        while not self._stopping:
            self._transfer_wake.clear()
            free = self.config.concurrency - len(self._in_flight)
            if self.link is not None:
                free = self.link.transfers_allowed(free, len(self._in_flight))
            claimed = await self._claim_transfers(free) if free > 0 else []
            for item in claimed:
                task = asyncio.create_task(self._transfer(item), name=f"transfer:{self.name}:{item.id}")
                self._in_flight.add(task)
                task.add_done_callback(self._transfer_done)
            if claimed and len(claimed) == free:
                continue
            await self._sleep(self._transfer_wake, self.poll_interval)

    async def _claim_transfers(self, free: int) -> list[DeliveryRecord]:
        """Claim up to ``free`` items to transfer; with a catch-up budget, live
        images first and catch-up items one at a time while it lasts."""
        budget = self.catch_up_budget
        if budget is None:
            return await self._claim(DeliveryStage.TRANSFER, free)
        claimed = await self._claim(DeliveryStage.TRANSFER, free, skip_catch_up=True)
        if len(claimed) < free and budget.available:
            for item in await self._claim(DeliveryStage.TRANSFER, 1):
                claimed.append(item)
                try:
                    catching_up = (await self.tracker.image(item.image)).trigger is Trigger.CATCH_UP
                except LedgerError:
                    catching_up = True  # the transfer reports the ledger error itself
                if catching_up:
                    budget.spend(await self._io(_file_size, item.source))
        return claimed

    def _transfer_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._transfer_wake.set()
        if not task.cancelled() and task.exception() is not None:
            self.log.error("Destination %s: transfer task failed: %r", self.name, task.exception())

    async def _transfer(self, item: DeliveryRecord) -> None:
        try:
            await self._transfer_item(item)
        except LedgerError as e:
            await self.tracker.ledger_error(e)
        except Exception as e:
            await self._unexpected(
                [item], DeliveryStatus.TRANSFER_FAILURE, f"Transfer to {self.name} failed unexpectedly: {e!r}"
            )

    async def _transfer_item(self, item: DeliveryRecord) -> None:
        ledger = self.runner.ledger
        try:
            image = await self.tracker.image(item.image)
            async with self._renewing([item]):
                result = await self._io(self.destination.deliver, image, item)
        except PermanentDeliveryError as e:
            await self._give_up(item, DeliveryStatus.TRANSFER_FAILURE, f"Transfer to {self.name} failed: {e}")
            return
        except LedgerError as e:
            await self.tracker.ledger_error(e)
            return
        except Exception as e:
            reason = f"Transfer to {self.name} failed: {e!r}"
            if self.link is not None and is_unreachable(e):
                delay = self.link.lost(reason)
                await self.runner.run(
                    ledger.mark_retry, item.id, self.worker_id, reason, delay=delay, count_attempt=False
                )
            else:
                await self._failed_attempt(item, DeliveryStatus.TRANSFER_FAILURE, reason)
            return
        link_back = self.link is not None and self.link.reached()
        ingest = self.destination.ingests and item.item != MANIFEST_ITEM
        try:
            recorded = await self.runner.run(
                ledger.mark_transferred,
                item.id,
                self.worker_id,
                remote_uri=result.uri,
                size=result.size,
                checksum=result.checksum,
                ingest=ingest,
            )
        except LedgerError as e:
            # The copy is there but not recorded: after the lease the item is
            # transferred again (an idempotent overwrite).
            await self.tracker.ledger_error(e)
            return
        if not recorded:
            self.log.warning(
                "Destination %s: lost the claim on %s %s during transfer", self.name, item.image, item.item
            )
            return
        if link_back:
            # The backlog drains now, not after each item's backoff.
            await self.runner.run(ledger.make_due, self.name)
            self._transfer_wake.set()
        if ingest:
            self._ingest_wake.set()
        else:
            await self.tracker.item_final(self.config, image, item, DeliveryStatus.OK, "", result.uri)

    async def _unexpected(self, items: list[DeliveryRecord], status: DeliveryStatus, reason: str) -> None:
        """An error no step expected: log it (with its traceback) and count it as a failed attempt.

        Items already settled are left as they are (the ledger only changes
        items this worker still holds); after the retry budget the item
        finally fails with ``status``, which the tracker reports.
        """
        self.log.exception(
            "Destination %s: %s (%s)", self.name, reason, ", ".join(f"{i.image} {i.item}" for i in items)
        )
        try:
            for item in items:
                await self._failed_attempt(item, status, reason)
        except LedgerError as e:
            await self.tracker.ledger_error(e)
        except Exception:
            self.log.exception(
                "Destination %s: could not record the failed attempt; the items are retried when "
                "their claims expire",
                self.name,
            )

    async def _failed_attempt(self, item: DeliveryRecord, status: DeliveryStatus, reason: str) -> None:
        if self.config.retry.exhausted(item.attempts):
            await self._give_up(item, status, f"{reason} (after {item.attempts} attempts)")
            return
        delay = self.config.retry.delay(item.attempts)
        self.log.info(
            "Destination %s: %s %s attempt %d failed, retry in %.1f s: %s",
            self.name,
            item.image,
            item.item,
            item.attempts,
            delay,
            reason,
        )
        await self.runner.run(self.runner.ledger.mark_retry, item.id, self.worker_id, reason, delay=delay)

    async def _give_up(self, item: DeliveryRecord, status: DeliveryStatus, reason: str) -> None:
        self.log.error("Destination %s: %s %s failed: %s", self.name, item.image, item.item, reason)
        recorded = await self.runner.run(
            self.runner.ledger.mark_failed, item.id, self.worker_id, status, reason
        )
        if recorded:
            image = await self.tracker.image(item.image)
            await self.tracker.item_final(self.config, image, item, status, reason, item.remote_uri)

    # ------------------------------------------------------------------ ingest

    async def _ingest_loop(self) -> None:
        while not self._stopping:
            self._ingest_wake.clear()
            claimed = await self._claim(DeliveryStage.INGEST, self.ingest_batch_size)
            groups: dict[str, list[DeliveryRecord]] = {}
            for item in claimed:
                groups.setdefault(item.image, []).append(item)
            for name, items in groups.items():
                self._ingesting += 1
                try:
                    await self._ingest(name, items)
                except LedgerError as e:
                    await self.tracker.ledger_error(e)
                    await asyncio.sleep(self.poll_interval)
                except Exception as e:
                    await self._unexpected(
                        items,
                        DeliveryStatus.INGEST_FAILURE,
                        f"Ingest of {name} into {self.name} failed unexpectedly: {e!r}",
                    )
                    await asyncio.sleep(self.poll_interval)
                finally:
                    self._ingesting -= 1
            if claimed:
                continue
            await self._sleep(self._ingest_wake, self.poll_interval)

    async def _ingest(self, name: str, items: list[DeliveryRecord]) -> None:
        image = await self.tracker.image(name)
        try:
            async with self._renewing(items):
                report = await self._io(self.destination.ingest, items)
        except Exception as e:
            reason = f"Ingest into {self.name} failed: {e!r}"
            for item in items:
                await self._failed_attempt(item, DeliveryStatus.INGEST_FAILURE, reason)
            return
        ok = [item for item, result in zip(items, report.files, strict=True) if result.ok]
        recorded = await self.runner.run(
            self.runner.ledger.mark_ingested_many, [item.id for item in ok], self.worker_id
        )
        for item in ok:
            if item.id not in recorded:
                self.log.warning(
                    "Destination %s: lost the claim on %s %s during ingest; not recorded",
                    self.name,
                    item.image,
                    item.item,
                )
        await self.tracker.items_ingested(self.config, image, [item for item in ok if item.id in recorded])
        for item, result in zip(items, report.files, strict=True):
            if result.ok:
                continue
            if result.status is FileStatus.METADATA_FAILURE:
                await self._give_up(
                    item, DeliveryStatus.METADATA_FAILURE, f"Ingest into {self.name}: {result.message}"
                )
            else:
                await self._failed_attempt(
                    item, DeliveryStatus.INGEST_FAILURE, f"Ingest into {self.name}: {result.message}"
                )


def _file_size(path: str) -> int:
    """Size of a source file (0 if it is gone: the transfer reports that)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
