"""Catch-up bandwidth (``catch_up_bandwidth``): a budget per destination; live images never wait for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from delivery_test_support import Exposure, destination, ledger_runner, make_service

from lsst.ts.archiver.delivery import BandwidthBudget
from lsst.ts.archiver.ledger import DeliveryStage, Ledger, Trigger
from lsst.ts.archiver.testing import wait_until


def test_the_budget_refills_at_its_rate_up_to_one_second_s_worth() -> None:
    clock = [0.0]
    budget = BandwidthBudget(1000.0, clock=lambda: clock[0])
    assert budget.available
    budget.spend(2500)  # a large file: the budget goes below zero
    assert not budget.available
    clock[0] += 1.4
    assert not budget.available  # -1500 + 1400
    clock[0] += 0.2
    assert budget.available
    clock[0] += 100.0
    budget.spend(1000)  # it never held more than one second's worth
    assert not budget.available
    with pytest.raises(ValueError, match="positive rate"):
        BandwidthBudget(0.0)


def test_claims_can_leave_catch_up_images(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        for name, trigger in (
            ("CC_O_20261123_000001", Trigger.CATCH_UP),
            ("CC_O_20261123_000002", Trigger.LIVE),
        ):
            ledger.register_image(
                name, camera="LSSTComCam", day_obs=20261123, expected={"R22_S11": 4}, trigger=trigger
            )
            ledger.enqueue(name, "R22_S11", ["dbb"], f"/staging/{name}.fits")
        (live,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", limit=5, skip_catch_up=True)
        assert live.image == "CC_O_20261123_000002"
        (catch_up,) = ledger.claim("dbb", DeliveryStage.TRANSFER, "w", limit=5)
        assert catch_up.image == "CC_O_20261123_000001"


async def test_catch_up_stays_within_its_bandwidth_and_a_live_image_is_not_held_back(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "copy").mkdir()
    backlog = [exposure_factory(seq_num=n, detectors=["R22_S11"]) for n in range(1, 7)]
    live = exposure_factory(seq_num=100, detectors=["R22_S11"])
    backlog_bytes = sum(p.stat().st_size for e in backlog for p in [*e.files.values(), e.manifest])
    rate = backlog_bytes / 3.0  # bytes/s: the backlog needs about 3 s (at least 2: 1 s is in the budget)
    config = destination("copy", "copy", str(tmp_path / "copy"), catch_up_bandwidth=rate / 1e6)
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, [config], results) as service:

            async def submit(exposure: Exposure, trigger: Trigger) -> None:
                await service.register_image(
                    exposure.obsid,
                    camera=exposure.instrument,
                    day_obs=exposure.day_obs,
                    expected=exposure.expected,
                    trigger=trigger,
                    priority=-10 if trigger is Trigger.CATCH_UP else 0,
                )
                await service.manifest_written(exposure.obsid, str(exposure.manifest))
                for detector, path in exposure.files.items():
                    await service.file_written(exposure.obsid, detector, str(path))

            start = time.monotonic()
            for exposure in backlog:
                await submit(exposure, Trigger.CATCH_UP)
            # The live image comes once the budget is spent and catch-up items wait.
            await wait_until(lambda: results["archived"], what="a first catch-up image archived")
            await submit(live, Trigger.LIVE)
            await service.wait_until_idle(60)
            elapsed = time.monotonic() - start
    archived = [a.obsid for a in results["archived"]]
    assert sorted(archived) == sorted(e.obsid for e in [*backlog, live])
    assert archived.index(live.obsid) < len(archived) - 2, archived  # not behind the backlog
    # A lower bound only (the budget cannot be beaten); the machine may be slower.
    assert elapsed >= 1.5, elapsed
