"""ATArchiver behaviour: late/missing headers, images missing from the DAQ, DISABLED
images, duplicate camera events, archiveImage and catchUp."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from astropy.io import fits
from lsst.ts import salkit

from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.ledger import Ledger, Trigger
from lsst.ts.archiver.simulators import HeaderFaultPolicy, start_simulated_system
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, wait_until, write_config_dir

QUICK = {"daq": {"wait_timeout": 2.0}, "header_service": {"name": "", "wait_timeout": 1.0}}


def config(tmp_path: Path, **overrides: object) -> Path:
    daq = {"root": str(tmp_path / "sim" / "daq"), "wait_timeout": 2.0}
    return write_config_dir("ATArchiver", tmp_path, **{**QUICK, "daq": daq, **overrides})


def ledger_of(tmp_path: Path) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")


@pytest.mark.integration  # a whole Archiver, end to end
async def test_missing_header_writes_archiver_metadata_flagged(tmp_path: Path) -> None:
    system = await start_simulated_system(
        "LATISS", tmp_path / "sim", fault_policy=HeaderFaultPolicy(drop_probability=1.0)
    )
    try:
        async with running_archiver("ATArchiver", config(tmp_path)) as (csc, remote, log):
            [name] = await system.take_images(1, exp_time=0.5)
            [archived] = await log.wait_for("evt_imageArchived", 1)
            [capture] = await log.wait_for("tel_focalPlaneCapture", 1)
    finally:
        await system.close()
    assert (archived.obsid, archived.statusCode, archived.archivedSensors) == (name, 0, 1)
    # ATArchiver's per-detector arrays have one slot: scalars.
    assert (capture.obsid, capture.detector, capture.status) == (name, 0, 0)
    assert capture.bytesWritten > 70_000_000 and capture.ingestTime > 0
    [retrieval] = log.of("evt_imageRetrievalForArchiving")
    assert retrieval.statusCode == 0
    with ledger_of(tmp_path) as ledger:
        assert ledger.image(name).header_source == "Archiver"
        [detector] = ledger.detectors(name)
        assert detector.path is not None
    with fits.open(detector.path) as hdul:
        assert hdul[0].header["HDRSRC"] == "Archiver"
        assert hdul[0].header["HDRNOTE"] == "no header after 1 s"
        assert hdul[0].header["OBSID"] == name
        assert hdul[0].header["EXPTIME"] == 0.5


@pytest.mark.integration  # a whole Archiver, end to end
async def test_image_missing_from_the_daq_is_reported_not_faulted(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "sim" / "daq", "lat").close()
    async with running_archiver("ATArchiver", config(tmp_path)) as (csc, remote, log):
        await remote.cmd_archiveImage.set_start(
            imageName="AT_O_20261123_000099", priority=0, timeout=STD_TIMEOUT
        )
        [archived] = await log.wait_for("evt_imageArchived", 1)
        assert csc.summary_state == salkit.State.ENABLED
    [retrieval] = log.of("evt_imageRetrievalForArchiving")
    assert (retrieval.raft, retrieval.sensor, retrieval.statusCode) == ("R00", "S00", 1)
    assert "AT_O_20261123_000099 not found" in retrieval.description
    assert (archived.statusCode, archived.expectedSensors, archived.archivedSensors) == (1, 1, 0)
    assert archived.missingSensors == "R00_S00"
    assert log.of("evt_imageInOODS") == []


async def test_bad_archive_image_commands_fail_with_a_reason(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "sim" / "daq", "lat").close()
    async with running_archiver("ATArchiver", config(tmp_path)) as (csc, remote, log):
        for name, reason in (("not-a-name", "image name"), ("CC_O_20261123_000001", "not a LATISS image")):
            with pytest.raises(salkit.AckError, match=reason):
                await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
        with pytest.raises(salkit.AckError, match="YYYYMMDD"):
            await remote.cmd_catchUp.set_start(startDate="2026-11-23", endDate="", timeout=STD_TIMEOUT)


@pytest.mark.integration  # a whole Archiver, end to end
async def test_images_announced_while_disabled_are_archived_when_enabled(tmp_path: Path) -> None:
    system = await start_simulated_system("LATISS", tmp_path / "sim")
    try:
        async with running_archiver("ATArchiver", config(tmp_path), salkit.State.DISABLED) as (
            csc,
            remote,
            log,
        ):
            [name] = await system.take_images(1, exp_time=0.5)
            with ledger_of(tmp_path) as ledger:
                await wait_until(lambda: ledger.has_image(name), what=f"{name} in the ledger")
                record = ledger.image(name)
                assert record.trigger is Trigger.CATCH_UP and record.archived_at is None
            enabled_at = salkit.current_tai()
            await remote.cmd_enable.start(timeout=STD_TIMEOUT)
            [archived] = await log.wait_for("evt_imageArchived", 1)
    finally:
        await system.close()
    assert (archived.obsid, archived.statusCode) == (name, 0)
    # Nothing was retrieved while DISABLED: the only retrieval was sent after enable.
    [retrieval] = log.of("evt_imageRetrievalForArchiving")
    assert retrieval.private_sndStamp > enabled_at
    with fits.open(ledger_of(tmp_path).detectors(name)[0].path) as hdul:
        # The camera metadata recorded while DISABLED is used.
        assert hdul[0].header["EXPTIME"] == 0.5


@pytest.mark.integration  # a whole Archiver, end to end
async def test_duplicate_end_of_image_telemetry_is_ignored(tmp_path: Path) -> None:
    system = await start_simulated_system("LATISS", tmp_path / "sim")
    try:
        async with running_archiver("ATArchiver", config(tmp_path)) as (csc, remote, log):
            [name] = await system.take_images(1, exp_time=0.5)
            await log.wait_for("evt_imageArchived", 1)
            await system.camera_csc.evt_endOfImageTelemetry.write()  # type: ignore[attr-defined]
            # The Archiver handles camera events in order: once a later image is
            # archived, the duplicate was handled.
            [later] = await system.take_images(1, exp_time=0.5)
            await log.wait_for("evt_imageArchived", 1, obsid=later)
            assert len(log.of("evt_imageRetrievalForArchiving", name)) == 1
            assert len(log.of("evt_imageArchived", name)) == 1
            with pytest.raises(salkit.AckError, match="already archived"):
                await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
    finally:
        await system.close()
    with ledger_of(tmp_path) as ledger:
        assert len(ledger.deliveries(image=name)) == 4  # (file + manifest) x 2 destinations


@pytest.mark.integration  # a whole Archiver, end to end
async def test_catch_up_selects_by_day_obs_and_archives_what_the_ledger_does_not_show(
    tmp_path: Path,
) -> None:
    store = EmulatedDaqStore(tmp_path / "sim" / "daq", "lat")
    names = ["AT_O_20261123_000011", "AT_O_20261123_000012"]
    later = "AT_O_20261124_000001"
    generator = PixelGenerator(cosmic_rays=0, saturated_spots=0)
    for name in [*names, later]:
        # Created now, whatever today's date: catchUp selects by the day_obs of the name.
        await asyncio.to_thread(store.add_image, name, generator=generator)
    store.close()
    overrides = {"catch_up": {"rate": 600.0, "priority": -10}}
    async with running_archiver("ATArchiver", config(tmp_path, **overrides)) as (csc, remote, log):
        await remote.cmd_catchUp.set_start(startDate="20261123", endDate="20261123", timeout=STD_TIMEOUT)
        await log.wait_for("evt_imageArchived", 1)
        archived = await log.wait_for("evt_imageArchived", 2)
        assert sorted(a.obsid for a in archived) == names
        assert all(a.statusCode == 0 for a in archived), [a.description for a in archived]
        # The whole store: only the image of the later day_obs is left to archive.
        await remote.cmd_catchUp.set_start(startDate="", endDate="", timeout=STD_TIMEOUT)
        archived = await log.wait_for("evt_imageArchived", 3)
        assert archived[2].obsid == later
        retrieved = [r.obsid for r in log.of("evt_imageRetrievalForArchiving")]
        assert sorted(retrieved) == sorted([*names, later])
    with ledger_of(tmp_path) as ledger:
        assert {ledger.image(n).trigger for n in names} == {Trigger.CATCH_UP}
        assert {ledger.image(n).priority for n in names} == {-10}
