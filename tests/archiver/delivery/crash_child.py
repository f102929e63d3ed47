"""Child process of the crash test: delivers an exposure, then hangs inside ingest.

Usage: ``python crash_child.py <ledger url> <destinations.json> <exposure.json> <marker>``

The Butler ingester is wrapped so that its first call waits until the ledger
shows every file transferred, writes ``marker`` and then blocks forever: the
parent kills this process with SIGKILL at exactly that point (files at the
destination, transfers recorded, nothing ingested).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from lsst.ts.archiver.delivery import (
    DeliveryService,
    Destination,
    DestinationConfig,
    destinations_from_config,
)
from lsst.ts.archiver.delivery.destination import open_ingester
from lsst.ts.archiver.ledger import DeliveryStage, Ledger, LedgerRunner


class HangingIngester:
    """Stands in for RawIngester: signals, then never returns."""

    def __init__(self, ledger: Ledger, marker: Path) -> None:
        self.ledger = ledger
        self.marker = marker

    def ingest(self, files: Any) -> Any:
        while self.ledger.deliveries(stages=[DeliveryStage.TRANSFER]):
            time.sleep(0.05)
        self.marker.write_text("transferred, ingest started\n")
        while True:
            time.sleep(3600)


async def main(ledger_url: str, destinations_path: str, exposure_path: str, marker: str) -> None:
    ledger = Ledger(ledger_url)
    configs = destinations_from_config(json.loads(Path(destinations_path).read_text()))
    exposure = json.loads(Path(exposure_path).read_text())

    def factory(config: DestinationConfig) -> Any:
        open_ingester(config).butler.close()  # the repository really exists and opens
        return HangingIngester(ledger, Path(marker))

    service = DeliveryService(
        LedgerRunner(ledger), [Destination(c, ingester_factory=factory) for c in configs], poll_interval=0.05
    )
    await service.start()
    await service.register_image(
        exposure["obsid"],
        camera=exposure["instrument"],
        day_obs=exposure["day_obs"],
        expected=exposure["expected"],
    )
    await service.manifest_written(exposure["obsid"], exposure["manifest"])
    for detector, path in exposure["files"].items():
        await service.file_written(exposure["obsid"], detector, path)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
