"""`DestinationWorker`: the asyncio loops that drain one destination's queue.

Two loops per destination, both fed from the ledger:

* transfer: claims up to ``concurrency`` due items and transfers each in a
  thread; a verified transfer moves the item to ingest (or done);
* ingest (destinations with a Butler): claims every item waiting for ingest,
  groups them by exposure and ingests each group as one batch in a thread.

Failures are retried with the destination's backoff; when attempts run out
the item is failed with the reason and status code. Nothing here blocks the
event loop, and a worker never waits for another destination.
"""

from __future__ import annotations

__all__ = ["DestinationWorker"]

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..butler import FileStatus
from ..ledger import DeliveryRecord, DeliveryStage, DeliveryStatus, ImageRecord, LedgerError
from .destination import Destination
from .errors import PermanentDeliveryError

if TYPE_CHECKING:
    from .service import DeliveryService

_log = logging.getLogger(__name__)

T = TypeVar("T")


class DestinationWorker:
    """Drains one destination's queue (see module docstring).

    Parameters
    ----------
    service : `DeliveryService`
        The owning service (ledger access, executors, result reporting).
    destination : `Destination`
        The destination.
    """

    def __init__(self, service: DeliveryService, destination: Destination) -> None:
        self.service = service
        self.destination = destination
        self.config = destination.config
        self._transfer_wake = asyncio.Event()
        self._ingest_wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._ingesting = 0
        self._stopping = False
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
        """Stop claiming, let running transfers finish for up to ``timeout`` s, then cancel."""
        self._stopping = True
        self.wake()
        pending = set(self._tasks) | set(self._in_flight)
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=1.0)

    # ------------------------------------------------------------------

    async def _db(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.service._db(function, *args, **kwargs)

    async def _io(self, function: Callable[..., T], *args: Any) -> T:
        return await self.service._io(function, *args)

    async def _sleep(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def _claim(self, stage: DeliveryStage, limit: int) -> list[DeliveryRecord]:
        """Claim due items; on a ledger failure report it, back off and return none."""
        try:
            return await self._db(
                self.service.ledger.claim,
                self.name,
                stage,
                self.service.worker_id,
                limit=limit,
                lease=self.config.lease,
            )
        except LedgerError as e:
            await self.service._ledger_failed(e)
            await asyncio.sleep(self.service.poll_interval)
            return []

    # ------------------------------------------------------------------ transfer

    async def _transfer_loop(self) -> None:
        while not self._stopping:
            self._transfer_wake.clear()
            free = self.config.concurrency - len(self._in_flight)
            claimed = await self._claim(DeliveryStage.TRANSFER, free) if free > 0 else []
            for item in claimed:
                task = asyncio.create_task(self._transfer(item), name=f"transfer:{self.name}:{item.id}")
                self._in_flight.add(task)
                task.add_done_callback(self._transfer_done)
            if claimed and len(claimed) == free:
                continue
            await self._sleep(self._transfer_wake, self.service.poll_interval)

    def _transfer_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._transfer_wake.set()
        if not task.cancelled() and task.exception() is not None:
            _log.error("Destination %s: transfer task failed: %r", self.name, task.exception())

    async def _transfer(self, item: DeliveryRecord) -> None:
        ledger = self.service.ledger
        worker = self.service.worker_id
        try:
            image = await self.service._image(item.image)
            result = await self._io(self.destination.deliver, image, item)
        except PermanentDeliveryError as e:
            await self._give_up(item, DeliveryStatus.TRANSFER_FAILURE, f"Transfer to {self.name} failed: {e}")
            return
        except LedgerError as e:
            await self.service._ledger_failed(e)
            return
        except Exception as e:
            await self._failed_attempt(
                item, DeliveryStatus.TRANSFER_FAILURE, f"Transfer to {self.name} failed: {e!r}"
            )
            return
        ingest = self.destination.ingests and item.item != self.service.manifest_item
        try:
            recorded = await self._db(
                ledger.mark_transferred,
                item.id,
                worker,
                remote_uri=result.uri,
                size=result.size,
                checksum=result.checksum,
                ingest=ingest,
            )
        except LedgerError as e:
            # The copy is there but not recorded: after the lease the item is
            # transferred again (an idempotent overwrite).
            await self.service._ledger_failed(e)
            return
        if not recorded:
            _log.warning(
                "Destination %s: lost the claim on %s %s during transfer", self.name, item.image, item.item
            )
            return
        if ingest:
            self._ingest_wake.set()
        else:
            await self.service._item_final(self.destination, image, item, DeliveryStatus.OK, "", result.uri)

    async def _failed_attempt(self, item: DeliveryRecord, status: DeliveryStatus, reason: str) -> None:
        if self.config.retry.exhausted(item.attempts):
            await self._give_up(item, status, f"{reason} (after {item.attempts} attempts)")
            return
        delay = self.config.retry.delay(item.attempts)
        _log.info(
            "Destination %s: %s %s attempt %d failed, retry in %.1f s: %s",
            self.name,
            item.image,
            item.item,
            item.attempts,
            delay,
            reason,
        )
        await self._db(self.service.ledger.mark_retry, item.id, self.service.worker_id, reason, delay=delay)

    async def _give_up(self, item: DeliveryRecord, status: DeliveryStatus, reason: str) -> None:
        _log.error("Destination %s: %s %s failed: %s", self.name, item.image, item.item, reason)
        recorded = await self._db(
            self.service.ledger.mark_failed, item.id, self.service.worker_id, status, reason
        )
        if recorded:
            image = await self.service._image(item.image)
            await self.service._item_final(self.destination, image, item, status, reason, item.remote_uri)

    # ------------------------------------------------------------------ ingest

    async def _ingest_loop(self) -> None:
        while not self._stopping:
            self._ingest_wake.clear()
            claimed = await self._claim(DeliveryStage.INGEST, self.service.ingest_batch_size)
            groups: dict[str, list[DeliveryRecord]] = {}
            for item in claimed:
                groups.setdefault(item.image, []).append(item)
            for name, items in groups.items():
                self._ingesting += 1
                try:
                    await self._ingest(name, items)
                except LedgerError as e:
                    await self.service._ledger_failed(e)
                    await asyncio.sleep(self.service.poll_interval)
                except Exception:
                    _log.exception(
                        "Destination %s: unexpected error ingesting %s; will retry", self.name, name
                    )
                    await asyncio.sleep(self.service.poll_interval)
                finally:
                    self._ingesting -= 1
            if claimed:
                continue
            await self._sleep(self._ingest_wake, self.service.poll_interval)

    async def _ingest(self, name: str, items: list[DeliveryRecord]) -> None:
        image: ImageRecord = await self.service._image(name)
        try:
            report = await self._io(self.destination.ingest, items)
        except Exception as e:
            reason = f"Ingest into {self.name} failed: {e!r}"
            for item in items:
                await self._failed_attempt(item, DeliveryStatus.INGEST_FAILURE, reason)
            return
        ok = [item for item, result in zip(items, report.files, strict=True) if result.ok]
        recorded = await self._db(
            self.service.ledger.mark_ingested_many, [item.id for item in ok], self.service.worker_id
        )
        for item in ok:
            if item.id in recorded:
                await self.service._item_final(
                    self.destination, image, item, DeliveryStatus.OK, "", item.remote_uri, check_archive=False
                )
        if recorded and self.name in self.service.archive_destinations:
            await self.service._check_archived(name)
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
