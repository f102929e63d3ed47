"""A locked Butler registry (doc/reliability.rst): the DBB's SQLite registry
is held by an open write transaction of another connection; the ingest waits
(and is retried) without blocking the CSC, and completes once the lock is
released, with no duplicate."""

from __future__ import annotations

import asyncio

import pytest
from fault_support import DBB_SLOT, Observer, Site, assert_archived_once, assert_confined, write_locked

from lsst.ts.archiver.butler import create_repository
from lsst.ts.archiver.ledger import DeliveryStage
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, wait_until

pytestmark = pytest.mark.integration  # a whole Archiver, end to end


async def test_locked_butler_registry_delays_ingest_until_released_without_duplicates(site: Site) -> None:
    name = site.name(51)
    config_dir = site.write_config()
    await asyncio.to_thread(
        lambda: create_repository(site.repo("dbb"), instruments=[site.instrument]).close()
    )
    await site.add_image(name)
    async with running_archiver(site.component, config_dir) as (csc, remote, log):
        observer = Observer(remote)
        with site.ledger() as ledger, write_locked(site.repo("dbb") / "gen3.sqlite3"):
            await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
            [in_oods] = await log.wait_for("evt_imageInOODS", 1)  # the OODS registry is not locked

            def claimed_for_ingest() -> bool:
                items = ledger.deliveries(image=name, destination="dbb", stages=[DeliveryStage.INGEST])
                return any(item.item == "R00_S00" and item.claimed_by for item in items)

            await wait_until(
                lambda: asyncio.to_thread(claimed_for_ingest), what="the DBB ingest claimed (and waiting)"
            )
            # The CSC stays responsive while its ingest thread waits on the lock.
            seen = len(observer.health)
            await wait_until(lambda: len(observer.health) >= seen + 2, what="2 more archiverHealth samples")
            await observer.wait_health(lambda s: s.queueDepth[DBB_SLOT] == 1, "queueDepth[dbb] = 1")
            assert log.of("evt_imageArchived") == [], "ingested while the registry was locked"
        [archived] = await log.wait_for("evt_imageArchived", 1)
        observer.assert_no_fault()
    assert in_oods.statusCode == 0
    assert archived.statusCode == 0, archived.description
    await assert_archived_once(site, {name: ["R00_S00"]})
    assert_confined(site)
