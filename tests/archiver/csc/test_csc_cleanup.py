"""Cleanup: staging directories of archived images and old OODS raws expire; the DBB keeps them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from archiver_test_support import running_archiver, write_config_dir
from lsst.daf.butler import Butler

from lsst.ts.archiver.capture import image_staging_dir
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator

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
    staging = image_staging_dir(tmp_path / "staging", NAME)
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=10)
        [archived] = await log.wait_for("evt_imageArchived", 1, timeout=120)
        assert archived.statusCode == 0
        [in_oods] = await log.wait_for("evt_imageInOODS", 1, timeout=60)
        assert in_oods.statusCode == 0
        for _ in range(200):
            if not staging.exists() and await asyncio.to_thread(raw_count, tmp_path / "repo-oods") == 0:
                break
            await asyncio.sleep(0.1)
    assert not staging.exists()
    assert raw_count(tmp_path / "repo-oods") == 0
    assert not list((tmp_path / "oods").rglob("*.fits"))
    assert raw_count(tmp_path / "repo-dbb") == 1
