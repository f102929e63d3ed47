"""A delivery-only process: ``run_archiver_worker --role delivery``.

Runs a non-exclusive `DeliveryService` for the configured destinations
against the configured ledger (PostgreSQL, shared with the CSC and with
other delivery processes) until asked to stop. Its workers claim items with
renewable leases, so several such processes on any hosts share the queues
and never deliver or ingest an item twice; being non-exclusive, a process
never takes over another's live claims, only those whose lease expired.
The CSC records what capture produced; these processes only deliver.
"""

from __future__ import annotations

__all__ = ["DeliveryProcessConfig", "run_delivery"]

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from ..ledger import Ledger, LedgerRunner
from .config import DestinationConfig, DestinationConfigError, destinations_from_config
from .destination import Destination
from .service import DeliveryService

_log = logging.getLogger(__name__)


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
                poll_interval=poll_interval,
                on_ledger_error=ledger_error,
                log=log,
            )
            await service.start()
            log.info("Delivery process %s delivers to %s", service.worker_id, ", ".join(service.destinations))
            try:
                await stop.wait()
            finally:
                await service.stop(stop_timeout)
                log.info("Delivery process %s stopped", service.worker_id)
        finally:
            runner.close()
