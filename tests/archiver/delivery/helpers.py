"""Shared helpers of the delivery tests (imported by test modules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conftest import Exposure

from lsst.ts.archiver.delivery import DeliveryService, DestinationConfig
from lsst.ts.archiver.ledger import Ledger

FAST_RETRY = {"max_attempts": 50, "initial_delay": 0.05, "max_delay": 0.3, "multiplier": 2.0}


def destination(name: str, role: str, target: str, **extra: Any) -> DestinationConfig:
    """A destination with fast retries."""
    data: dict[str, Any] = {"name": name, "role": role, "target": target, "retry": FAST_RETRY}
    data.update(extra)
    return DestinationConfig.from_dict(data)


def make_service(
    ledger: Ledger, destinations: Sequence[Any], results: dict[str, list[Any]], **kwargs: Any
) -> DeliveryService:
    """A service whose callbacks append to ``results``."""

    async def archived(result: Any) -> None:
        results["archived"].append(result)

    return DeliveryService(
        ledger,
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
