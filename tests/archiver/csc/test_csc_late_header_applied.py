"""A Header Service header that arrives after the files were written is applied within
``header_service.late_header_window``: files rewritten, delivered again, Butler datasets
replaced in place (same dataset ids); later than that it is only recorded."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from lsst.ts import salkit

from lsst.ts.archiver.butler import open_repository, raw_run
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.fits import Card, HeaderServiceFile, render_header_file
from lsst.ts.archiver.ledger import DeliveryStage, DetectorRecord
from lsst.ts.archiver.metadata import file_checksum
from lsst.ts.archiver.pipeline import LATE_HEADER_REASON
from lsst.ts.archiver.testing import STD_TIMEOUT, EventLog, open_verified, running_archiver, wait_until
from lsst.ts.archiver.testing import write_config_dir as write_archiver_config

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

NAME = "AT_O_20261123_000061"
INSTRUMENT = "LATISS"
REPOS = ("repo-oods", "repo-dbb")


@dataclass
class Site:
    """One test's DAQ store, header file and configuration, all under ``root``."""

    root: Path
    store: EmulatedDaqStore
    header_url: str

    def write_config(self, late_header_window: float) -> Path:
        return write_archiver_config(
            "ATArchiver",
            self.root,
            daq={"root": str(self.root / "daq"), "wait_timeout": 30.0},
            header_service={"name": "", "wait_timeout": 0.5, "late_header_window": late_header_window},
        )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    store.add_image(NAME, generator=PixelGenerator(cosmic_rays=0))
    header = tmp_path / "header.yaml"
    header.write_text(
        render_header_file(
            HeaderServiceFile(
                primary=(Card("OBSID", NAME), Card("OBJECT", "late target"), Card("RA", 150.25))
            )
        )
    )
    yield Site(tmp_path, store, header.as_uri())
    store.close()


@contextlib.asynccontextmanager
async def camera_and_header_service() -> AsyncIterator[tuple[salkit.Controller, salkit.Controller]]:
    camera = salkit.Controller("ATCamera")
    header_service = salkit.Controller("ATHeaderService")
    try:
        await asyncio.gather(camera.start_task, header_service.start_task)
        yield camera, header_service
    finally:
        await camera.close()
        await header_service.close()


async def take_image(camera: salkit.Controller, log: EventLog) -> Any:
    """The camera announces the image; wait until it is archived (without a header by then)."""
    tai = salkit.current_tai()
    await camera.evt_endOfImageTelemetry.set_write(  # type: ignore[attr-defined]
        imageName=NAME, imageIndex=1, imagesInSequence=1, exposureTime=2.0, timestampDateObs=tai - 2.0,
        timestampDateEnd=tai, force_output=True,
    )  # fmt: skip
    [archived] = await log.wait_for("evt_imageArchived", 1)
    await log.wait_for("evt_imageInOODS", 1)
    return archived


async def announce_header(header_service: salkit.Controller, url: str) -> None:
    await header_service.evt_largeFileObjectAvailable.set_write(  # type: ignore[attr-defined]
        url=url, id=NAME, mimeType="YAML", force_output=True
    )


def datasets(root: Path) -> dict[str, tuple[uuid.UUID, fits.Header, Any]]:
    """Repository → (dataset id, primary header, exposure record) of the image's one dataset."""
    found = {}
    for repo in REPOS:
        butler = open_repository(root / repo, writeable=False)
        try:
            refs = butler.query_datasets(
                "raw", collections=raw_run(INSTRUMENT), instrument=INSTRUMENT, explain=False
            )
            assert len(refs) == 1, f"{repo} has {len(refs)} datasets of {NAME}, not one"
            hdul = butler.get(refs[0])
            (exposure,) = butler.registry.queryDimensionRecords("exposure", instrument=INSTRUMENT)
            found[repo] = (refs[0].id, hdul[0].header, exposure)
        finally:
            butler.close()
    return found


async def staged_file(csc: Any) -> DetectorRecord:
    [detector] = await asyncio.to_thread(csc.runtime.ledger.detectors, NAME)
    assert detector.path is not None
    return detector


def amplifiers(path: str) -> list[np.ndarray]:
    with fits.open(path) as hdul:
        return [np.array(hdu.data) for hdu in hdul[1:]]


async def test_header_after_the_write_rewrites_redelivers_and_replaces_the_datasets_in_place(
    site: Site,
) -> None:
    config_dir = site.write_config(late_header_window=600.0)
    async with (
        camera_and_header_service() as (camera, header_service),
        running_archiver("ATArchiver", config_dir) as (csc, remote, log),
    ):
        archived = await take_image(camera, log)
        first = await staged_file(csc)
        assert fits.getheader(first.path, 0)["HDRSRC"] == "Archiver"
        pixels = await asyncio.to_thread(amplifiers, first.path)
        before = await asyncio.to_thread(datasets, site.root)
        archived_at = (await asyncio.to_thread(csc.runtime.ledger.image, NAME)).archived_at

        announced = time.monotonic()
        await announce_header(header_service, site.header_url)
        oods = await log.wait_for("evt_imageInOODS", 2)
        await csc.runtime.pipeline.wait_idle()
        await csc.runtime.delivery.wait_until_idle(STD_TIMEOUT)
        applied_in = time.monotonic() - announced
        image = await asyncio.to_thread(csc.runtime.ledger.image, NAME)
        deliveries = await asyncio.to_thread(csc.runtime.ledger.deliveries, image=NAME)
        rewritten = await staged_file(csc)
        assert log.of("evt_imageArchived") == [archived], "the counts did not change: no second imageArchived"

    print(f"late header applied and delivered again to the OODS and the DBB in {applied_in:.2f} s")
    assert archived.statusCode == 0
    assert (oods[1].statusCode, oods[1].description) == (
        0,
        f"R00_S00 ingested into oods again: {LATE_HEADER_REASON}",
    )
    # The staged file: the merged header, the same pixels, checksums that verify.
    with open_verified(Path(rewritten.path)) as hdul:
        primary = hdul[0].header
        assert (primary["HDRSRC"], primary["OBJECT"], primary["RA"]) == (
            "HeaderService",
            "late target",
            150.25,
        )
        assert "HDRNOTE" not in primary and primary["EXPTIME"] == 2.0
        for amplifier, hdu in zip(pixels, hdul[1:], strict=True):
            np.testing.assert_array_equal(hdu.data, amplifier)
    # The ledger: the new file's size and checksum, the header source, one archiving.
    assert rewritten.path == first.path and rewritten.written_at == first.written_at
    assert rewritten.size == Path(rewritten.path).stat().st_size
    assert rewritten.checksum == file_checksum(rewritten.path, "md5")
    assert (image.header_source, image.header_pending, image.archived_at) == (
        "HeaderService",
        None,
        archived_at,
    )
    assert image.header_note is not None and "applied: 1 file(s) rewritten" in image.header_note
    files = [d for d in deliveries if d.item == "R00_S00"]
    assert {d.destination for d in files} == {"oods", "dbb"}
    assert all((d.stage, d.redelivery) == (DeliveryStage.DONE, LATE_HEADER_REASON) for d in files)
    # Both Butler repositories: still one dataset each, with the same id, now with the header.
    after = await asyncio.to_thread(datasets, site.root)
    for repo in REPOS:
        dataset_id, header, exposure = after[repo]
        assert dataset_id == before[repo][0], f"{repo}: the dataset id changed"
        assert (before[repo][1]["HDRSRC"], header["HDRSRC"]) == ("Archiver", "HeaderService")
        assert header["OBJECT"] == "late target"
        assert exposure.target_name == "late target", f"{repo}: the exposure record was not updated"


async def test_header_later_than_the_window_is_recorded_and_nothing_is_rewritten(site: Site) -> None:
    config_dir = site.write_config(late_header_window=0.001)
    async with (
        camera_and_header_service() as (camera, header_service),
        running_archiver("ATArchiver", config_dir) as (csc, remote, log),
    ):
        messages: list[Any] = []
        remote.evt_logMessage.callback = messages.append  # type: ignore[attr-defined]
        await take_image(camera, log)
        first = await staged_file(csc)
        checksum = await asyncio.to_thread(file_checksum, first.path, "md5")
        before = await asyncio.to_thread(datasets, site.root)

        await announce_header(header_service, site.header_url)
        [warning] = await wait_until(
            lambda: [m for m in messages if f"Late header for {NAME} arrived" in m.message],
            what="the logMessage that the late header is not applied",
        )
        await csc.runtime.pipeline.wait_idle()
        image = await asyncio.to_thread(csc.runtime.ledger.image, NAME)
        deliveries = await asyncio.to_thread(csc.runtime.ledger.deliveries, image=NAME)
        assert len(log.of("evt_imageInOODS")) == 1

    assert "s after the files were written; not applied" in warning.message
    assert warning.level == 30  # WARNING
    assert image.header_source == "Archiver" and image.header_pending is None
    assert image.header_note is not None and "not applied (later than" in image.header_note
    assert all(d.redelivery is None for d in deliveries)
    assert await asyncio.to_thread(file_checksum, first.path, "md5") == checksum
    assert fits.getheader(first.path, 0)["HDRSRC"] == "Archiver"
    after = await asyncio.to_thread(datasets, site.root)
    for repo in REPOS:
        assert after[repo][0] == before[repo][0] and after[repo][1]["HDRSRC"] == "Archiver"


async def test_a_rewrite_interrupted_by_a_restart_is_finished_when_the_archiver_is_enabled_again(
    site: Site,
) -> None:
    config_dir = site.write_config(late_header_window=600.0)
    async with camera_and_header_service() as (camera, header_service):
        async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
            await take_image(camera, log)
            before = await asyncio.to_thread(datasets, site.root)
            # What a crash leaves after the late header was accepted and saved, before any file
            # was rewritten: the ledger's mark and the header side file.
            runtime = csc.runtime
            await asyncio.to_thread(
                runtime.ledger.set_header_pending,
                NAME,
                site.header_url,
                note="late header arrived; being applied",
            )
            header_text = Path(site.header_url.removeprefix("file://")).read_text()
            await asyncio.to_thread(runtime.staging.save_header, NAME, header_text)
        async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
            # (The new Remote may also get the first run's last imageInOODS as history.)
            [again] = await wait_until(
                lambda: [s for s in log.of("evt_imageInOODS") if LATE_HEADER_REASON in s.description],
                what="imageInOODS of the file delivered again",
            )
            await csc.runtime.pipeline.wait_idle()
            await csc.runtime.delivery.wait_until_idle(STD_TIMEOUT)
            image = await asyncio.to_thread(csc.runtime.ledger.image, NAME)
            rewritten = await staged_file(csc)
    assert again.description == f"R00_S00 ingested into oods again: {LATE_HEADER_REASON}"
    assert (image.header_source, image.header_pending) == ("HeaderService", None)
    with open_verified(Path(rewritten.path)) as hdul:
        assert (hdul[0].header["HDRSRC"], hdul[0].header["OBJECT"]) == ("HeaderService", "late target")
    after = await asyncio.to_thread(datasets, site.root)
    for repo in REPOS:
        assert after[repo][0] == before[repo][0] and after[repo][1]["OBJECT"] == "late target"
