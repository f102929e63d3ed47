"""Full and read-only disks (doc/reliability.rst), each a real tmpfs mounted
by the test: a full staging disk is a FAULT (5804) that leaves no partial
file and resumes after recovery; a full or read-only destination is retried,
finally failed with a status after its budget (no FAULT), and ``retryImage``
after the space or the mount is back delivers it exactly once."""

from __future__ import annotations

import pytest
from fault_support import (
    DBB_SLOT,
    OODS_SLOT,
    Observer,
    Site,
    assert_archived_once,
    assert_confined,
    files_under,
    mounted_tmpfs,
    staging_raws,
)
from lsst.ts import salkit

from lsst.ts.archiver.error_codes import ErrorCode
from lsst.ts.archiver.ledger import DeliveryStatus
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, wait_until

pytestmark = pytest.mark.integration  # a whole Archiver, end to end, on a real tmpfs


#: A LATISS raw file is ~76 MB (and its DAQ source 42 MB); 32 MB holds
#: the small files (sidecars, manifests, side files) but not a raw.
TOO_SMALL = "32m"
ROOMY = "512m"


async def test_full_staging_disk_is_a_fault_leaves_no_partial_file_and_the_image_resumes_after_recovery(
    site: Site,
) -> None:
    name = site.name(41)
    config_dir = site.write_config()
    await site.add_image(name)
    with mounted_tmpfs(site.staging, TOO_SMALL) as staging:
        async with running_archiver(site.component, config_dir) as (csc, remote, log):
            observer = Observer(remote)
            await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
            fault = await observer.wait_error_code(ErrorCode.STAGING_FULL)
            await wait_until(lambda: csc.summary_state == salkit.State.FAULT, what="FAULT")
            assert str(site.staging) in fault.errorReport and "free space" in fault.errorReport
            await wait_until(lambda: csc.runtime is None, what="the runtime closed")
            # Nothing half-written under a final name, and no capture reported as failed.
            assert staging_raws(site) == []
            assert log.of("evt_imageRetrievalForArchiving") == [] and log.of("evt_imageArchived") == []
            leftovers = [p.name for p in files_under(site.staging) if p.stat().st_size > 1 << 20]
            assert leftovers == [], f"partial files left taking space: {leftovers}"

            staging.remount(f"size={ROOMY}")  # the operator frees space
            await salkit.set_summary_state(remote, salkit.State.ENABLED, timeout=STD_TIMEOUT)
            [archived] = await log.wait_for("evt_imageArchived", 1)
            await log.wait_for("evt_imageInOODS", 1)
        assert archived.statusCode == 0, archived.description
        assert [r.statusCode for r in log.of("evt_imageRetrievalForArchiving")] == [0]
        await assert_archived_once(site, {name: ["R00_S00"]})
        assert_confined(site)


async def test_full_destination_disk_fails_after_the_retry_budget_without_fault_and_retry_image_delivers_once(
    site: Site,
) -> None:
    name = site.name(42)
    config_dir = site.write_config()
    await site.add_image(name)
    with mounted_tmpfs(site.target("dbb"), TOO_SMALL) as dbb:
        async with running_archiver(site.component, config_dir) as (csc, remote, log):
            observer = Observer(remote)
            await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
            [failed] = await log.wait_for("evt_imageArchived", 1)
            assert (failed.statusCode, failed.missingSensors) == (1, "R00_S00")
            assert "R00_S00 at dbb" in failed.description and "No space left" in failed.description
            await observer.wait_log(f"Destination dbb: {name} R00_S00 attempt 1 failed, retry in")
            error = await observer.wait_log(f"Destination dbb: {name} R00_S00 failed", 40)
            assert "after 3 attempts" in error.message
            await observer.wait_health(lambda s: s.failedItems[DBB_SLOT] == 1, "failedItems[dbb] = 1")
            observer.assert_no_fault()
            assert staging_raws(site) != [], "the staging file is kept for a retry"
            assert not [p for p in files_under(site.target("dbb")) if p.suffix == ".fits"], "no partial raw"

            dbb.remount(f"size={ROOMY}")  # the operator frees space
            await remote.cmd_retryImage.set_start(imageName=name, destination="dbb", timeout=STD_TIMEOUT)
            _, archived = await log.wait_for("evt_imageArchived", 2)
            await observer.wait_health(lambda s: s.failedItems[DBB_SLOT] == 0, "failedItems[dbb] = 0")
            observer.assert_no_fault()
        assert archived.statusCode == 0, archived.description
        assert len(log.of("evt_imageRetrievalForArchiving")) == 1  # captured once
        await assert_archived_once(site, {name: ["R00_S00"]})
        assert_confined(site)


async def test_read_only_destination_fails_after_the_retry_budget_without_fault_and_retry_image_delivers_once(
    site: Site,
) -> None:
    name = site.name(43)
    config_dir = site.write_config()
    await site.add_image(name)
    with mounted_tmpfs(site.target("oods"), ROOMY) as oods:
        oods.remount("ro")  # as root, only the mount stops writes
        async with running_archiver(site.component, config_dir) as (csc, remote, log):
            observer = Observer(remote)
            await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
            [in_oods] = await log.wait_for("evt_imageInOODS", 1)
            assert in_oods.statusCode == DeliveryStatus.TRANSFER_FAILURE
            assert "Read-only file system" in in_oods.description
            [archived] = await log.wait_for("evt_imageArchived", 1)
            assert archived.statusCode == 0  # the DBB does not wait for the OODS
            # The raw and the manifest finally failed at the OODS.
            await observer.wait_health(lambda s: s.failedItems[OODS_SLOT] == 2, "failedItems[oods] = 2")
            await observer.wait_log(f"Destination oods: {name} R00_S00 failed", 40)
            observer.assert_no_fault()

            oods.remount("rw")
            await remote.cmd_retryImage.set_start(imageName=name, destination="oods", timeout=STD_TIMEOUT)
            _, in_oods = await log.wait_for("evt_imageInOODS", 2)
            await observer.wait_health(lambda s: s.failedItems[OODS_SLOT] == 0, "failedItems[oods] = 0")
            observer.assert_no_fault()
        assert in_oods.statusCode == 0, in_oods.description
        assert len(log.of("evt_imageArchived")) == 1  # an OODS retry cannot change it
        assert len(log.of("evt_imageRetrievalForArchiving")) == 1
        await assert_archived_once(site, {name: ["R00_S00"]})
        assert_confined(site)
