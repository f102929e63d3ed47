"""Cleanup: staging directories of archived images and old OODS raws expire; the DBB keeps them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsst.daf.butler import Butler

from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.staging import StagingArea
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, wait_until, write_config_dir

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

NAME = "AT_O_20261123_000041"


def raw_count(repo: Path) -> int:
    butler = Butler.from_config(str(repo), collections=["LATISS/raw/all"])
    try:
        return len(list(butler.query_datasets("raw", instrument="LATISS", limit=None, explain=False)))
    finally:
        butler.close()


async def test_archived_images_expire_from_staging_and_the_oods_only(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    await asyncio.to_thread(store.add_image, NAME, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    # 0.0005 h = 1.8 s: long enough for the image to be archived first.
    cleanup = {"enabled": True, "retention": 0.0005, "oods_retention": 0.0005, "interval": 0.5}
    config_dir = write_config_dir("ATArchiver", tmp_path, cleanup=cleanup)
    staging = StagingArea(tmp_path / "staging").image_dir(NAME)
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)
        [archived] = await log.wait_for("evt_imageArchived", 1)
        assert archived.statusCode == 0
        [in_oods] = await log.wait_for("evt_imageInOODS", 1)
        assert in_oods.statusCode == 0

        async def expired() -> bool:
            return not staging.exists() and await asyncio.to_thread(raw_count, tmp_path / "repo-oods") == 0

        await wait_until(expired, what="the staging directory and the OODS raw to expire")
    assert not staging.exists()
    assert raw_count(tmp_path / "repo-oods") == 0
    assert not list((tmp_path / "oods").rglob("*.fits"))
    assert raw_count(tmp_path / "repo-dbb") == 1
