"""Delivery with the ledger and the Butler registry on real PostgreSQL servers."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from delivery_test_support import Exposure, destination, ledger_runner, make_service, submit

from lsst.ts.archiver.butler import create_repository, open_repository, raw_run
from lsst.ts.archiver.ledger import DeliveryStage, Ledger
from lsst.ts.archiver.testing import STD_TIMEOUT, TemporaryPostgres, wait_until


async def test_postgres_ledger_and_registry_deliver_an_exposure(
    tmp_path: Path,
    postgres_server: TemporaryPostgres,
    postgres_database: Callable[[], str],
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
) -> None:
    (tmp_path / "dbb").mkdir()
    registry = postgres_database()
    exposure = exposure_factory()
    namespace = f"dbb_{secrets.token_hex(4)}"
    destinations = [
        destination(
            "dbb",
            "dbb",
            str(tmp_path / "dbb"),
            butler={
                "repo": str(tmp_path / "repo"),
                "ingest_mode": "copy",
                "registry_db": registry,
                "namespace": namespace,
            },
        )
    ]
    with Ledger(postgres_database()) as ledger, ledger_runner(ledger) as runner:
        assert ledger.dialect == "postgresql"
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure)
            await service.wait_until_idle(120)
        assert ledger.image(exposure.obsid).archived_at is not None
    (archived,) = results["archived"]
    assert (archived.archived_sensors, archived.status_code) == (9, 0)
    butler = open_repository(tmp_path / "repo", writeable=False)
    refs = butler.query_datasets(
        "raw", collections=raw_run(exposure.instrument), instrument=exposure.instrument
    )
    butler.close()
    assert len(refs) == 9


@pytest.fixture
def pausable_postgres() -> Iterator[TemporaryPostgres]:
    """A PostgreSQL server of its own, to be stopped and restarted by the test."""
    server = TemporaryPostgres()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_registry_unavailable_then_back_ingests_every_file_once(
    tmp_path: Path,
    pausable_postgres: TemporaryPostgres,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
) -> None:
    (tmp_path / "oods").mkdir()
    registry = pausable_postgres.create_database("oods")
    create_repository(tmp_path / "repo", db=registry, instruments=["LSSTComCam"]).close()
    exposure = exposure_factory(detectors=["R22_S20", "R22_S21", "R22_S22"])
    retry = {"max_attempts": 1000, "initial_delay": 0.1, "max_delay": 0.5}
    destinations = [
        destination(
            "oods", "oods", str(tmp_path / "oods"), retry=retry, butler={"repo": str(tmp_path / "repo")}
        )
    ]
    pausable_postgres.pause("immediate")
    with Ledger(tmp_path / "ledger.sqlite3") as ledger, ledger_runner(ledger) as runner:
        async with make_service(runner, destinations, results) as service:
            await submit(service, exposure, manifest=False)
            await wait_until(
                lambda: all(d.stage is DeliveryStage.INGEST and d.attempts >= 3 for d in ledger.deliveries()),
                timeout=3 * STD_TIMEOUT,
                what="every ingest tried three times",
            )
            errors = {d.last_error for d in ledger.deliveries()}
            assert results["oods"] == []
            await asyncio.to_thread(pausable_postgres.resume)
            await service.wait_until_idle(60)
    assert any("Ingest into oods failed" in str(e) for e in errors), errors
    assert sorted(r.status_code for r in results["oods"]) == [0, 0, 0]
    butler = open_repository(tmp_path / "repo", writeable=False)
    refs = butler.query_datasets(
        "raw", collections=raw_run(exposure.instrument), instrument=exposure.instrument
    )
    butler.close()
    assert len(refs) == 3


async def test_ledger_outage_is_reported_and_delivery_resumes_when_it_returns(
    tmp_path: Path,
    pausable_postgres: TemporaryPostgres,
    exposure_factory: Callable[..., Exposure],
    results: dict[str, list[Any]],
) -> None:
    (tmp_path / "copy").mkdir()
    exposure = exposure_factory(detectors=["R22_S00", "R22_S01"])
    with Ledger(pausable_postgres.create_database("ledger")) as ledger, ledger_runner(ledger) as runner:
        async with make_service(
            runner, [destination("copy", "copy", str(tmp_path / "copy"))], results
        ) as service:
            await service.register_image(
                exposure.obsid,
                camera=exposure.instrument,
                day_obs=exposure.day_obs,
                expected=exposure.expected,
            )
            await asyncio.to_thread(pausable_postgres.pause, "immediate")
            await wait_until(
                lambda: results["ledger"], timeout=3 * STD_TIMEOUT, what="a ledger error reported"
            )
            assert "unavailable" in str(results["ledger"][0])
            await asyncio.to_thread(pausable_postgres.resume)
            for detector, path in exposure.files.items():
                await service.file_written(exposure.obsid, detector, str(path))
            await service.wait_until_idle(60)
    assert sorted(f.item for f in results["files"]) == sorted(exposure.files)
    (archived,) = results["archived"]
    assert archived.archived_sensors == 2
