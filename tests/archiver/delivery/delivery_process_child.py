"""Child process of the several-processes tests: one delivery process on a shared ledger.

Usage: ``python delivery_process_child.py <spec.json>``

Runs `lsst.ts.archiver.delivery.process.run_delivery` (non-exclusive) until
SIGTERM, logging at INFO to stderr (``delivers to`` once it has started). The spec gives ``ledger_url``, ``destinations`` (configurations),
``name`` (the worker id), ``record`` (a file to which every transfer and
every ingested item is appended as ``transfer|ingest <destination> <image>
<item>``), ``transfer_delay`` (s added to each transfer, so that several
processes share a queue) and optionally ``slow``: ``{"destination",
"item", "image" (optional), "seconds", "marker"}``, a transfer of that item that writes
``marker`` when it starts and then takes ``seconds``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

from lsst.ts.archiver.delivery import Destination, TransferResult, destinations_from_config
from lsst.ts.archiver.delivery.process import run_delivery
from lsst.ts.archiver.ledger import DeliveryRecord, ImageRecord


class RecordingDestination(Destination):
    """A destination that records what it transferred and ingested (and may be slow)."""

    def __init__(self, *args: Any, spec: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec

    def _record(self, what: str, item: DeliveryRecord) -> None:
        with open(self.spec["record"], "a") as f:
            f.write(f"{what} {self.name} {item.image} {item.item}\n")

    def deliver(self, image: ImageRecord, item: DeliveryRecord) -> TransferResult:
        slow = self.spec.get("slow")
        if (
            slow
            and (slow["destination"], slow["item"]) == (self.name, item.item)
            and slow.get("image", item.image) == item.image
        ):
            Path(slow["marker"]).write_text(f"{item.id}\n")
            time.sleep(slow["seconds"])
        else:
            time.sleep(self.spec.get("transfer_delay", 0.0))
        result = super().deliver(image, item)
        self._record("transfer", item)
        return result

    def ingest(self, items: Any) -> Any:
        report = super().ingest(items)
        for item, result in zip(items, report.files, strict=True):
            if result.ok:
                self._record("ingest", item)
        return report


async def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    destinations = [
        RecordingDestination(config, spec=spec) for config in destinations_from_config(spec["destinations"])
    ]
    await run_delivery(
        spec["ledger_url"], destinations, stop, worker_id=spec["name"], poll_interval=0.05, stop_timeout=10
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
