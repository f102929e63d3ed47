"""The OODS face: with ``oods_face.enabled`` a CCArchiver also runs as CCOODS, and a Remote
of CCOODS used as observatory scripts use it (flush, then ``next``) sees every file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsst.ts import salkit

from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, write_config_dir

NAME = "CC_O_20261123_000041"


@pytest.mark.integration  # a whole Archiver, end to end
async def test_a_ccoods_remote_sees_every_file_the_archiver_ingests_into_the_oods(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "comcam")
    await asyncio.to_thread(store.add_image, NAME, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    config_dir = write_config_dir(
        "CCArchiver", tmp_path, header_service={"name": "", "wait_timeout": 1.0}, oods_face={"enabled": True}
    )
    async with running_archiver("CCArchiver", config_dir) as (csc, remote, log):
        assert csc.oods_face is not None and csc.oods_face.salinfo.name == "CCOODS"
        async with (
            salkit.Domain() as domain,
            salkit.Remote(domain, "CCOODS", include=["imageInOODS", "summaryState"]) as oods,
        ):
            state = await oods.evt_summaryState.aget(timeout=STD_TIMEOUT)
            assert state.summaryState == salkit.State.ENABLED
            oods.evt_imageInOODS.flush()
            await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)
            seen = [await oods.evt_imageInOODS.next(flush=False, timeout=STD_TIMEOUT) for _ in range(9)]
            archiver_events = await log.wait_for("evt_imageInOODS", 9, obsid=NAME)
    assert {(e.camera, e.obsid, e.statusCode) for e in seen} == {("LSSTComCam", NAME, 0)}
    assert sorted((e.raft, e.sensor) for e in seen) == sorted((e.raft, e.sensor) for e in archiver_events)
    assert len({(e.raft, e.sensor) for e in seen}) == 9
    assert all(e.description for e in seen)


async def test_the_oods_face_is_off_by_default(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "daq", "comcam").close()
    config_dir = write_config_dir("CCArchiver", tmp_path)
    async with running_archiver("CCArchiver", config_dir, initial_state=salkit.State.DISABLED) as (
        csc,
        _r,
        _l,
    ):
        assert csc.oods_face is None
