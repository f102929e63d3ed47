"""A delivery-only process: ``run_archiver_worker --role delivery``.

Runs a non-exclusive `DeliveryService` for the configured destinations
against the configured ledger (PostgreSQL, shared with the CSC and with
other delivery processes) until asked to stop. Its workers claim items with
renewable leases, so several such processes on any hosts share the queues
and never deliver or ingest an item twice; being non-exclusive, a process
never takes over another's live claims, only those whose lease expired.
The CSC records what capture produced; these processes only deliver: the
CSC (the ledger's owner) reports what they settle (``imageInOODS``) and
decides when each exposure is archived (``imageArchived``).

Each process heartbeats in the ledger (`~lsst.ts.archiver.ledger.WorkerRegistry`,
role ``delivery``, state ``idle`` or ``busy``, items done and failed) every
``heartbeat_interval`` seconds, with an expiry of three intervals; the CSC
reports its joins, changes and losses as ``workerStatus`` and counts it in
``archiverHealth.workersAlive``. A clean stop removes the row.
"""

from __future__ import annotations

__all__ = ["DELIVERY_ROLE", "HEARTBEAT_INTERVAL", "DeliveryProcessConfig", "run_delivery"]

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..ledger import Ledger, LedgerError, LedgerRunner
from .config import DestinationConfig, DestinationConfigError, destinations_from_config
from .destination import Destination
from .service import DeliveryService

_log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 2.0
"""Default seconds between a delivery process's heartbeats (its row expires after three)."""

DELIVERY_ROLE = "delivery"
"""``role`` of a delivery process in the ledger's worker registry and in ``workerStatus``."""


@dataclasses.dataclass(frozen=True)
class DeliveryProcessConfig:
    """What a delivery process needs of the Archiver's configuration.

    Attributes
    ----------
    ledger_url : `str`
        The Archiver's ``ledger_url`` (a PostgreSQL URL when several
        processes deliver).
    destinations : `tuple` [`DestinationConfig`, ...]
        The Archiver's ``destinations``.
    """

    ledger_url: str
    destinations: tuple[DestinationConfig, ...]

    @classmethod
    def from_file(cls, path: str | Path, *, ledger_url: str | None = None) -> DeliveryProcessConfig:
        """Read ``ledger_url`` and ``destinations`` from an Archiver configuration file (YAML).

        Parameters
        ----------
        path : `str` or `pathlib.Path`
            The CSC's configuration file (or any YAML file with those keys).
        ledger_url : `str` or `None`, optional
            Overrides the file's ``ledger_url``.

        Raises
        ------
        DestinationConfigError
            If the file cannot be read or lacks a key.
        """
        try:
            data: Any = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as e:
            raise DestinationConfigError(f"Cannot read the delivery configuration {str(path)!r}: {e}") from e
        if not isinstance(data, dict):
            raise DestinationConfigError(f"Configuration {str(path)!r} is not a mapping")
        url = ledger_url or data.get("ledger_url")
        if not url:
            raise DestinationConfigError(
                f"Configuration {str(path)!r} has no ledger_url; set it or pass --ledger-url"
            )
        if "destinations" not in data:
            raise DestinationConfigError(f"Configuration {str(path)!r} has no destinations")
        return cls(ledger_url=str(url), destinations=destinations_from_config(data["destinations"]))


async def run_delivery(
    ledger_url: str,
    destinations: Sequence[DestinationConfig | Destination],
    stop: asyncio.Event,
    *,
    worker_id: str | None = None,
    poll_interval: float = 0.5,
    stop_timeout: float = 30.0,
    heartbeat_interval: float = HEARTBEAT_INTERVAL,
    log: logging.Logger | None = None,
) -> None:
    """Deliver from a shared ledger until ``stop`` is set (non-exclusive).

    Parameters
    ----------
    ledger_url : `str`
        The ledger.
    destinations : sequence of `DestinationConfig` or `Destination`
        The destinations to deliver to.
    stop : `asyncio.Event`
        Set to stop: claiming stops and running transfers get
        ``stop_timeout`` s to finish (unfinished claims expire with their
        lease and other processes take them).
    worker_id : `str` or `None`, optional
        Identity in claims (default host:pid:random).
    poll_interval : `float`, optional
        How often idle workers look for due items (s).
    stop_timeout : `float`, optional
        Time (s) running transfers get at stop.
    heartbeat_interval : `float`, optional
        Seconds between heartbeats in the ledger.
    log : `logging.Logger` or `None`, optional
        Parent logger.
    """
    log = _log if log is None else log

    def ledger_error(e: Exception) -> None:
        log.error("The ledger is unreachable: %s", e)

    with Ledger(ledger_url) as ledger:
        runner = LedgerRunner(ledger)
        try:
            service = DeliveryService(
                runner,
                destinations,
                worker_id=worker_id,
                exclusive=False,
                settles_images=False,
                poll_interval=poll_interval,
                on_ledger_error=ledger_error,
                log=log,
            )
            # Registered before the first claim: an Archiver (exclusive) starting
            # now leaves this process's claims alone.
            await _beat(runner, service, heartbeat_interval)
            await service.start()
            log.info("Delivery process %s delivers to %s", service.worker_id, ", ".join(service.destinations))
            beating = asyncio.create_task(_heartbeat(runner, service, heartbeat_interval, log))
            try:
                await stop.wait()
            finally:
                beating.cancel()
                await asyncio.gather(beating, return_exceptions=True)
                await service.stop(stop_timeout)
                with contextlib.suppress(LedgerError):
                    await runner.run(ledger.workers.leave, service.worker_id)
                log.info("Delivery process %s stopped", service.worker_id)
        finally:
            runner.close()


async def _heartbeat(
    runner: LedgerRunner, service: DeliveryService, interval: float, log: logging.Logger
) -> None:
    """Beat in the ledger's worker registry every ``interval`` s (see module docstring)."""
    reachable = True
    while True:
        await asyncio.sleep(interval)
        try:
            await _beat(runner, service, interval)
            if not reachable:
                log.info("Delivery process %s: heartbeats reach the ledger again", service.worker_id)
            reachable = True
        except LedgerError as e:
            if reachable:
                log.warning("Delivery process %s: cannot write its heartbeat: %s", service.worker_id, e)
            reachable = False


async def _beat(runner: LedgerRunner, service: DeliveryService, interval: float) -> None:
    """One heartbeat: alive for three intervals, idle or busy, items done and failed."""
    await runner.run(
        runner.ledger.workers.beat,
        service.worker_id,
        host=socket.gethostname(),
        pid=os.getpid(),
        role=DELIVERY_ROLE,
        state="busy" if service.busy else "idle",
        ttl=3 * interval,
        tasks_done=service.tracker.items_done,
        tasks_failed=service.tracker.items_failed,
    )
