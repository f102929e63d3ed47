"""The S3 destination's server stopped in the middle of a run (doc/reliability.rst):
the DBB is a real S3 server (SeaweedFS); it stops after one image is
delivered and before the next is; the next one's transfers are retried and,
the server restarted within the retry budget, it is delivered once."""

from __future__ import annotations

import asyncio

import pytest
from fault_support import (
    DBB_SLOT,
    QUICK_RETRY,
    Observer,
    Site,
    assert_archived_once,
    assert_confined,
    destinations,
)

from lsst.ts.archiver.ledger import DeliveryStage
from lsst.ts.archiver.testing import STD_TIMEOUT, TemporarySeaweedFS, running_archiver, wait_until

pytestmark = pytest.mark.integration  # a real S3 server and a whole Archiver


#: Retries of the S3 DBB for ~60 s: longer than a SeaweedFS restart.
S3_RETRY = {**QUICK_RETRY, "max_attempts": 60, "max_delay": 1.0}


async def test_s3_server_stopped_mid_delivery_is_retried_and_delivered_once_when_restarted(
    site: Site, seaweedfs: TemporarySeaweedFS, s3_bucket: str
) -> None:
    before, during = site.name(71), site.name(72)
    config_dir = site.write_config(destinations=destinations(site, S3_RETRY, dbb=f"s3://{s3_bucket}/dbb"))
    for name in (before, during):
        await site.add_image(name)
    try:
        async with running_archiver(site.component, config_dir) as (csc, remote, log):
            observer = Observer(remote)
            await remote.cmd_archiveImage.set_start(imageName=before, priority=0, timeout=STD_TIMEOUT)
            [first] = await log.wait_for("evt_imageArchived", 1, obsid=before)
            assert first.statusCode == 0, first.description

            await asyncio.to_thread(seaweedfs.stop)
            await remote.cmd_archiveImage.set_start(imageName=during, priority=0, timeout=STD_TIMEOUT)
            with site.ledger() as ledger:

                def failed_attempts() -> list[str]:
                    items = ledger.deliveries(image=during, destination="dbb")
                    return [i.last_error for i in items if i.last_error]

                # The manifest's first (the raw's may still be inside the S3 client's own retries).
                [error, *_] = await wait_until(
                    lambda: asyncio.to_thread(failed_attempts), what="a failed S3 transfer to the DBB"
                )
                items = await asyncio.to_thread(ledger.deliveries, image=during, destination="dbb")
            assert DeliveryStage.FAILED not in {i.stage for i in items}, "the budget outlasts the outage"
            await observer.wait_health(lambda s: s.queueDepth[DBB_SLOT] >= 1, "queueDepth[dbb] >= 1")
            [in_oods] = await log.wait_for("evt_imageInOODS", 1, obsid=during)  # not held up
            assert in_oods.statusCode == 0
            await asyncio.to_thread(seaweedfs.start)
            [second] = await log.wait_for("evt_imageArchived", 1, obsid=during)
            observer.assert_no_fault()
    finally:
        await asyncio.to_thread(seaweedfs.start)  # for the next test on the session server
    assert "onnect" in error, error
    assert second.statusCode == 0, second.description
    await assert_archived_once(site, {name: ["R00_S00"] for name in (before, during)}, local_targets=["oods"])
    listing = seaweedfs.client().list_objects_v2(Bucket=s3_bucket, Prefix="dbb/")
    keys = sorted(o["Key"].rsplit("/", 1)[1] for o in listing.get("Contents", []))
    assert keys == sorted(
        f"{name}_{suffix}"
        for name in (before, during)
        for suffix in ("R00_S00.fits", "R00_S00.json", "expectedSensors.json")
    )
    assert_confined(site)
