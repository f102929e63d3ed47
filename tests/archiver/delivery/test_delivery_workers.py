"""Several delivery processes on one ledger, hostile input, health figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from delivery_test_support import Exposure, destination, ledger_runner, make_service, submit

from lsst.ts.archiver.delivery import UnsafeNameError
from lsst.ts.archiver.ledger import DeliveryStage, DeliveryStatus, Ledger
from lsst.ts.archiver.testing import wait_until


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


async def test_an_exclusive_service_takes_over_dead_claims_but_not_a_live_delivery_process_s(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "copy").mkdir()
    exposure = exposure_factory(detectors=["R22_S00", "R22_S01"])
    config = destination("copy", "copy", str(tmp_path / "copy"))
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        queuing = make_service(runner, [config], results, exclusive=False)
        await submit(queuing, exposure, manifest=False)
        # A delivery process that is alive (beating) holds one item, a crashed
        # run of the Archiver left a claim on the other.
        ledger.workers.beat("process-b", host="node2", pid=9, role="delivery", state="busy", ttl=600.0)
        (held,) = ledger.claim("copy", DeliveryStage.TRANSFER, "process-b", lease=600.0)
        (left,) = ledger.claim("copy", DeliveryStage.TRANSFER, "Archiver:123", lease=600.0)
        async with make_service(runner, [config], results, worker_id="Archiver:456"):
            await wait_until(
                lambda: {d.id: d.stage for d in ledger.deliveries()}[left.id] is DeliveryStage.DONE,
                what="the crashed run's item delivered",
            )
            claims = {d.id: (d.stage, d.claimed_by) for d in ledger.deliveries()}
            assert claims[held.id] == (DeliveryStage.TRANSFER, "process-b")
            assert claims[left.id] == (DeliveryStage.DONE, None)


async def test_the_owner_reports_what_a_delivery_process_settled_once(
    tmp_path: Path, exposure_factory: Callable[..., Exposure], results: dict[str, list[Any]]
) -> None:
    (tmp_path / "oods").mkdir()
    exposure = exposure_factory(detectors=["R22_S00", "R22_S01", "R22_S02"])
    config = destination("oods", "oods", str(tmp_path / "oods"))
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        queuing = make_service(runner, [config], results, exclusive=False)
        await submit(queuing, exposure, manifest=False)
        # A live delivery process holds every item (the owner cannot claim them) ...
        ledger.workers.beat("process-b", host="node2", pid=9, role="delivery", state="busy", ttl=600.0)
        first, second, third = ledger.claim("oods", DeliveryStage.TRANSFER, "process-b", limit=3, lease=600.0)
        async with make_service(runner, [config], results, worker_id="Archiver:1"):
            # ... and settles them while the owner runs: one delivered, one failed, ...
            ledger.mark_transferred(
                first.id, "process-b", remote_uri="/x", size=1, checksum=None, ingest=False
            )
            ledger.mark_failed(second.id, "process-b", DeliveryStatus.TRANSFER_FAILURE, "disk gone")
            await wait_until(lambda: len(results["oods"]) == 2, what="imageInOODS of two items")
            assert results["archived"] == []
            # ... and, seconds later, the last one (the owner reads the first two again).
            ledger.mark_transferred(
                third.id, "process-b", remote_uri="/y", size=1, checksum=None, ingest=False
            )
            await wait_until(lambda: results["archived"], what="imageArchived from the owner")
        assert {d.settled_by for d in ledger.deliveries()} == {"process-b"}
    (archived,) = results["archived"]
    assert (archived.archived_sensors, archived.missing_sensors, archived.status_code) == (2, second.item, 1)
    oods = sorted((f"{r.raft}_{r.sensor}", r.status_code) for r in results["oods"])
    assert oods == sorted([(first.item, 0), (second.item, 3), (third.item, 0)])
    assert sorted(f.item for f in results["files"]) == sorted(d.item for d in (first, second, third))
