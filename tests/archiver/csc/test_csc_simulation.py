"""--simulate: the Archiver starts its own camera system; a slow DAQ is waited for."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsst.ts import salkit

from lsst.ts.archiver.csc import ArchiverCsc
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.testing import STD_TIMEOUT, EventLog, result_remote, running_archiver, write_config_dir

pytestmark = pytest.mark.integration  # a whole Archiver, end to end


async def test_simulation_mode_starts_the_camera_system_and_archives_its_images(tmp_path: Path) -> None:
    config_dir = write_config_dir("ATArchiver", tmp_path)
    csc = ArchiverCsc(
        "ATArchiver", config_dir=config_dir, initial_state=salkit.State.ENABLED, simulation_mode=1
    )
    try:
        await csc.start_task
        assert csc.summary_state == salkit.State.ENABLED
        assert csc.simulator is not None
        assert Path(csc.simulator.daq_root) == tmp_path / "daq" / "simulated" / "daq"
        remote = result_remote(csc.domain, "ATArchiver")
        camera = salkit.Remote(csc.domain, "ATCamera", include=["summaryState"])
        await asyncio.gather(remote.start_task, camera.start_task)
        log = EventLog(remote)
        await camera.cmd_takeImages.set_start(  # type: ignore[attr-defined]
            numImages=2,
            expTime=0.5,
            shutter=True,
            sensors="",
            keyValueMap="imageType: FLAT",
            obsNote="",
            timeout=STD_TIMEOUT,
        )
        await log.wait_for("evt_imageArchived", 1)
        archived = await log.wait_for("evt_imageArchived", 2)
        assert [a.statusCode for a in archived] == [0, 0]
    finally:
        await csc.close()
    assert csc.simulator is None


async def test_an_image_that_reaches_the_daq_late_is_waited_for(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    config_dir = write_config_dir(
        "ATArchiver", tmp_path, daq={"root": str(tmp_path / "daq"), "wait_timeout": 20.0}
    )
    name = "AT_O_20261123_000031"
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
        # The scenario, not a wait for a result: the DAQ creates the image 1 s
        # after the command, then fills its source 1 s later still.
        await asyncio.sleep(1.0)
        await asyncio.to_thread(store.create_image, name)
        await asyncio.sleep(1.0)
        image = store.find_image(name)
        filling_at = salkit.current_tai()
        await asyncio.to_thread(
            store.write_generated, name, image.sources[0].location, PixelGenerator(cosmic_rays=0)
        )
        [archived] = await log.wait_for("evt_imageArchived", 1)
    store.close()
    assert (archived.obsid, archived.statusCode) == (name, 0)
    # One retrieval, reported after the source was complete: nothing was read before.
    [retrieval] = log.of("evt_imageRetrievalForArchiving")
    assert retrieval.statusCode == 0
    assert retrieval.private_sndStamp > filling_at
