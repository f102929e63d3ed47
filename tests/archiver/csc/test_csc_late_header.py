"""A header that arrives after the header timeout but before the files are written is used."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from astropy.io import fits
from lsst.ts import salkit

from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.fits import Card, HeaderServiceFile, render_header_file
from lsst.ts.archiver.ledger import Ledger
from lsst.ts.archiver.testing import running_archiver, wait_until, write_config_dir

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

NAME = "AT_O_20261123_000051"


async def test_late_header_before_the_write_is_merged(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    config_dir = write_config_dir(
        "ATArchiver",
        tmp_path,
        daq={"root": str(tmp_path / "daq"), "wait_timeout": 30.0},
        header_service={"name": "", "wait_timeout": 0.5},
    )
    header_path = tmp_path / "header.yaml"
    header_path.write_text(
        render_header_file(HeaderServiceFile(primary=(Card("OBSID", NAME), Card("OBJECT", "late target"))))
    )
    camera = salkit.Controller("ATCamera")
    header_service = salkit.Controller("ATHeaderService")
    try:
        await asyncio.gather(camera.start_task, header_service.start_task)
        async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
            tai = salkit.current_tai()
            await camera.evt_endOfImageTelemetry.set_write(  # type: ignore[attr-defined]
                imageName=NAME, imageIndex=1, imagesInSequence=1, exposureTime=2.0, timestampDateObs=tai - 2.0,
                timestampDateEnd=tai, force_output=True,
            )  # fmt: skip
            # The scenario, not a wait for a result: the header comes 1.5 s after the
            # image, past the Archiver's 0.5 s header wait; the DAQ is still slow.
            await asyncio.sleep(1.5)
            await header_service.evt_largeFileObjectAvailable.set_write(  # type: ignore[attr-defined]
                url=header_path.as_uri(), id=NAME, mimeType="YAML", force_output=True
            )
            await wait_until(
                lambda: csc.headers.get(NAME) is not None,
                what=f"the Archiver to hear of the header of {NAME}",
            )
            await asyncio.to_thread(store.add_image, NAME, generator=PixelGenerator(cosmic_rays=0))
            [archived] = await log.wait_for("evt_imageArchived", 1)
    finally:
        await camera.close()
        await header_service.close()
        store.close()
    assert archived.statusCode == 0
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}") as ledger:
        assert ledger.image(NAME).header_source == "HeaderService"
        [detector] = ledger.detectors(NAME)
    with fits.open(detector.path) as hdul:
        assert hdul[0].header["HDRSRC"] == "HeaderService"
        assert hdul[0].header["OBJECT"] == "late target"
        assert hdul[0].header["EXPTIME"] == 2.0
