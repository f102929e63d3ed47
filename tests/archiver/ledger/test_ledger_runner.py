"""`LedgerRunner`: ledger calls from asyncio, in one bounded pool."""

from __future__ import annotations

import threading

import pytest
from ledger_test_support import EXPECTED, IMAGE

from lsst.ts.archiver.ledger import Ledger, LedgerRunner


async def test_ledger_runner_runs_calls_in_its_own_bounded_pool(ledger: Ledger) -> None:
    seen: list[str] = []
    original = ledger.has_image

    def spy(name: str) -> bool:
        seen.append(threading.current_thread().name)
        return original(name)

    ledger.has_image = spy  # type: ignore[method-assign]
    runner = LedgerRunner(ledger, max_workers=2)
    assert await runner.run(
        ledger.register_image, IMAGE, camera="LSSTCam", day_obs=20261123, expected=EXPECTED
    )
    assert await runner.run(ledger.has_image, IMAGE)
    assert seen and seen[0].startswith("ledger") and seen[0] != threading.main_thread().name
    runner.close()
    with pytest.raises(RuntimeError, match="closed"):
        await runner.run(ledger.has_image, IMAGE)
