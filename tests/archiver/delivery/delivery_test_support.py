"""Shared helpers of the delivery tests (imported by test modules)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from lsst.ts.archiver.delivery import DeliveryService, DestinationConfig
from lsst.ts.archiver.ledger import Ledger, LedgerRunner
from lsst.ts.archiver.testing import RawExposure

DAY_OBS = 20261123


Exposure = RawExposure
"""The files of one exposure on the staging disk (`lsst.ts.archiver.testing.RawExposure`)."""


FAST_RETRY = {"max_attempts": 50, "initial_delay": 0.05, "max_delay": 0.3, "multiplier": 2.0}


def destination(name: str, role: str, target: str, **extra: Any) -> DestinationConfig:
    """A destination with fast retries."""
    data: dict[str, Any] = {"name": name, "role": role, "target": target, "retry": FAST_RETRY}
    data.update(extra)
    return DestinationConfig.from_dict(data)


@contextlib.contextmanager
def ledger_runner(ledger: Ledger) -> Iterator[LedgerRunner]:
    """A `LedgerRunner` of ``ledger``, closed at the end of the block."""
    runner = LedgerRunner(ledger)
    try:
        yield runner
    finally:
        runner.close()


class RecordingHandler(logging.Handler):
    """Keeps every record it handles (install it on the logger a test passes in)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def make_service(
    runner: LedgerRunner, destinations: Sequence[Any], results: dict[str, list[Any]], **kwargs: Any
) -> DeliveryService:
    """A service whose callbacks append to ``results``."""

    async def archived(result: Any) -> None:
        results["archived"].append(result)

    return DeliveryService(
        runner,
        destinations,
        poll_interval=0.05,
        on_image_in_oods=results["oods"].append,
        on_image_archived=archived,
        on_file_delivered=results["files"].append,
        on_ledger_error=results["ledger"].append,
        **kwargs,
    )


async def submit(service: DeliveryService, exposure: Exposure, *, manifest: bool = True) -> None:
    """Register an exposure and hand over all its files, as the CSC would."""
    await service.register_image(
        exposure.obsid, camera=exposure.instrument, day_obs=exposure.day_obs, expected=exposure.expected
    )
    if manifest:
        await service.manifest_written(exposure.obsid, str(exposure.manifest))
    for detector, path in exposure.files.items():
        await service.file_written(exposure.obsid, detector, str(path))
