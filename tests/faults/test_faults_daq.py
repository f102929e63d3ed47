"""DAQ faults (doc/reliability.rst): an image that never reaches the DAQ, one
evicted before capture, a corrupt source, a truncated source. Each is
reported per detector with its status, the image is reported archived with
status 1, the CSC stays ENABLED, and nothing is written for it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fault_support import (
    Observer,
    Site,
    assert_archived_once,
    assert_confined,
    camera_system,
    staging_raws,
)
from lsst.ts import salkit

from lsst.ts.archiver.capture import CaptureStatus
from lsst.ts.archiver.ledger import CaptureState
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver

pytestmark = pytest.mark.integration  # a whole Archiver, end to end


async def test_image_missing_from_the_daq_is_image_not_found_per_detector_without_fault(
    comcam_site: Site,
) -> None:
    site = comcam_site
    name = site.name(1)
    config_dir = site.write_config()
    async with (
        camera_system(site.camera) as camera,
        running_archiver(site.component, config_dir) as (csc, remote, log),
    ):
        observer = Observer(remote)
        await camera.end_of_image(name)
        [archived] = await log.wait_for("evt_imageArchived", 1)
        retrievals = log.of("evt_imageRetrievalForArchiving", name)
        assert csc.summary_state == salkit.State.ENABLED
        observer.assert_no_fault()
    detectors = {d.name for d in site.camera.detectors}
    assert len(retrievals) == len(detectors) == 9
    assert {f"{r.raft}_{r.sensor}" for r in retrievals} == detectors
    assert {r.statusCode for r in retrievals} == {CaptureStatus.IMAGE_NOT_FOUND}
    assert all("not found in DAQ folder 'raw'" in r.description for r in retrievals)
    assert (archived.statusCode, archived.expectedSensors, archived.archivedSensors) == (1, 9, 0)
    assert set(archived.missingSensors.split(":")) == detectors
    assert "IMAGE_NOT_FOUND" in archived.description
    assert staging_raws(site) == []
    await assert_archived_once(site, {name: []})
    assert_confined(site)


async def test_image_evicted_before_capture_is_image_evicted_and_the_next_image_is_archived(
    site: Site,
) -> None:
    evicted, kept = site.name(2), site.name(3)
    config_dir = site.write_config()
    await site.add_image(evicted)
    with site.daq_store() as store:
        store.set_capacity(store.find_image(evicted).size)  # room for one image only
    await site.add_image(kept)  # evicts the first
    async with running_archiver(site.component, config_dir) as (csc, remote, log):
        observer = Observer(remote)
        for name in (evicted, kept):
            await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
        [failed] = await log.wait_for("evt_imageArchived", 1, obsid=evicted)
        [archived] = await log.wait_for("evt_imageArchived", 1, obsid=kept)
        observer.assert_no_fault()
    [retrieval] = log.of("evt_imageRetrievalForArchiving", evicted)
    assert retrieval.statusCode == CaptureStatus.IMAGE_EVICTED
    assert "evicted" in retrieval.description
    assert (failed.statusCode, failed.missingSensors) == (1, "R00_S00")
    assert "IMAGE_EVICTED" in failed.description
    assert archived.statusCode == 0, archived.description
    await assert_archived_once(site, {evicted: [], kept: ["R00_S00"]})
    assert_confined(site)


async def _archive_damaged_source(site: Site, damage: str) -> tuple[Any, list[Any]]:
    """Archive an image whose one DAQ source file is damaged; return its imageArchived and retrievals."""
    name = site.name(4)
    config_dir = site.write_config()
    await site.add_image(name)
    [source] = site.source_files(name)
    data = source.read_bytes()
    if damage == "corrupt":
        middle = len(data) // 2
        source.write_bytes(
            data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]
        )
    else:
        source.write_bytes(data[: len(data) // 3])
    async with running_archiver(site.component, config_dir) as (csc, remote, log):
        observer = Observer(remote)
        await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
        [archived] = await log.wait_for("evt_imageArchived", 1)
        await observer.wait_log(f"{name} R00_S00: capture failed after 3 attempt(s) (CORRUPT_DATA", 30)
        observer.assert_no_fault()
        assert csc.summary_state == salkit.State.ENABLED
    with site.ledger() as ledger:
        [detector] = await asyncio.to_thread(ledger.detectors, name)
    assert (detector.state, detector.status) == (CaptureState.FAILED, CaptureStatus.CORRUPT_DATA)
    # Retried in the capture (logged), one archiving pass in the ledger.
    retries = observer.logs(f"{name} R00_S00: attempt", 30)
    assert [m.message.split(" failed")[0] for m in retries] == [
        f"{name} R00_S00: attempt 1 of 3",
        f"{name} R00_S00: attempt 2 of 3",
    ]
    assert staging_raws(site) == []
    await assert_archived_once(site, {name: []})
    assert_confined(site)
    return archived, log.of("evt_imageRetrievalForArchiving", name)


async def test_corrupt_daq_source_fails_its_checksum_is_retried_then_failed_with_corrupt_data(
    site: Site,
) -> None:
    archived, [retrieval] = await _archive_damaged_source(site, "corrupt")
    assert retrieval.statusCode == CaptureStatus.CORRUPT_DATA
    assert "CRC-32" in retrieval.description
    assert (archived.statusCode, archived.missingSensors) == (1, "R00_S00")


async def test_truncated_daq_source_is_retried_then_failed_with_corrupt_data(site: Site) -> None:
    archived, [retrieval] = await _archive_damaged_source(site, "truncated")
    assert retrieval.statusCode == CaptureStatus.CORRUPT_DATA
    assert "bytes" in retrieval.description
    assert (archived.statusCode, archived.missingSensors) == (1, "R00_S00")
