"""Several delivery processes on one ledger, hostile input, health figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from delivery_test_support import Exposure, destination, ledger_runner, make_service, submit

from lsst.ts.archiver.delivery import UnsafeNameError
from lsst.ts.archiver.ledger import DeliveryStage, Ledger


async def test_two_services_sharing_a_ledger_deliver_each_file_once(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "copy").mkdir()
    exposures = [exposure_factory(seq_num=n) for n in (1, 2, 3)]
    config = destination("copy", "copy", str(tmp_path / "copy"), concurrency=2)
    with (
        Ledger(tmp_path / "ledger.sqlite3") as first_ledger,
        Ledger(tmp_path / "ledger.sqlite3") as second_ledger,
        ledger_runner(first_ledger) as first_runner,
        ledger_runner(second_ledger) as second_runner,
    ):
        first = make_service(first_runner, [config], results, exclusive=False, worker_id="node-a")
        second = make_service(second_runner, [config], results, exclusive=False, worker_id="node-b")
        async with first, second:
            for exposure in exposures:
                await submit(first, exposure)
            await first.wait_until_idle(60)
            await second.wait_until_idle(60)
        deliveries = first_ledger.deliveries()
    delivered = Counter((f.obsid, f.item) for f in results["files"])
    assert len(delivered) == 30 and set(delivered.values()) == {1}
    assert all(d.stage is DeliveryStage.DONE and d.attempts == 1 for d in deliveries)
    assert len(results["archived"]) == 3


async def test_hostile_names_are_refused_before_anything_is_recorded(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    config = destination("copy", "copy", str(tmp_path / "copy"))
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, [config], results) as service:
            for obsid, camera, expected in [
                ("../../etc", "LSSTComCam", {"R22_S11": 4}),
                ("CC_O_20261123_000001", "LSST/../Cam", {"R22_S11": 4}),
                ("CC_O_20261123_000001", "LSSTComCam", {"../R22_S11": 4}),
            ]:
                with pytest.raises(UnsafeNameError):
                    await service.register_image(obsid, camera=camera, day_obs=20261123, expected=expected)
        assert ledger.unfinished_images() == []


async def test_a_source_file_outside_the_image_is_reported_failed_not_copied(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "copy").mkdir()
    exposure = exposure_factory(detectors=["R22_S11"])
    secret = tmp_path / "secret.txt"
    secret.write_text("not a raw file")
    config = destination("copy", "oods", str(tmp_path / "copy"))
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, [config], results) as service:
            await service.register_image(
                exposure.obsid,
                camera=exposure.instrument,
                day_obs=exposure.day_obs,
                expected=exposure.expected,
            )
            await service.file_written(exposure.obsid, "R22_S11", str(secret))
            await service.wait_until_idle(30)
            summary = await service.pending_summary()
    (result,) = results["oods"]
    assert result.status_code == 3 and "does not belong to image" in result.description
    assert list((tmp_path / "copy").rglob("*")) == []
    assert (summary.images_pending, summary.detectors_pending, summary.queue_depths) == (0, 0, {"copy": 0})
