"""Camera and Header Service events that come twice, out of order or
malformed (doc/reliability.rst): one capture per image, whatever the order;
a malformed event is ignored with a ``logMessage`` and writes nothing."""

from __future__ import annotations

import asyncio

import pytest
from astropy.io import fits
from fault_support import (
    Observer,
    Site,
    assert_archived_once,
    assert_confined,
    camera_system,
    files_under,
)

from lsst.ts.archiver.fits import Card, HeaderServiceFile, render_header_file
from lsst.ts.archiver.testing import running_archiver, wait_until

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

ERROR = 40
WARNING = 30


def write_header(site: Site, name: str, target: str) -> str:
    """A Header Service header file of an image under the site's headers; return its URL."""
    path = site.headers / f"{name}.yaml"
    path.write_text(
        render_header_file(HeaderServiceFile(primary=(Card("OBSID", name), Card("OBJECT", target))))
    )
    return path.as_uri()


def primary_header(site: Site, name: str) -> fits.Header:
    [path] = [p for p in files_under(site.staging) if p.name == f"{name}_R00_S00.fits"]
    return fits.getheader(path)


async def test_duplicate_end_of_image_telemetry_captures_the_image_once(site: Site) -> None:
    name = site.name(21)
    config_dir = site.write_config()
    await site.add_image(name)
    async with (
        camera_system(site.camera) as camera,
        running_archiver(site.component, config_dir) as (csc, remote, log),
    ):
        observer = Observer(remote)
        await camera.end_of_image(name)
        await camera.end_of_image(name)  # while the first is being archived
        await observer.wait_log(f"Duplicate endOfImageTelemetry for {name}", WARNING)
        [archived] = await log.wait_for("evt_imageArchived", 1)
        await camera.end_of_image(name)  # once it is archived
        await wait_until(
            lambda: len(observer.logs(f"Duplicate endOfImageTelemetry for {name}")) == 2,
            what="the second duplicate to be logged",
        )
        await log.wait_for("evt_imageInOODS", 1)
        observer.assert_no_fault()
    assert archived.statusCode == 0, archived.description
    assert len(log.of("evt_imageRetrievalForArchiving")) == 1
    assert len(log.of("evt_imageArchived")) == 1
    await assert_archived_once(site, {name: ["R00_S00"]})
    assert_confined(site)


async def test_end_of_image_telemetry_before_the_daq_has_the_image_waits_for_it(site: Site) -> None:
    name = site.name(22)
    config_dir = site.write_config(daq={"wait_timeout": 30.0})
    async with (
        camera_system(site.camera) as camera,
        running_archiver(site.component, config_dir) as (csc, remote, log),
    ):
        observer = Observer(remote)
        await camera.end_of_image(name)
        await wait_until(lambda: csc.runtime.pipeline.is_active(name), what=f"{name} waiting for the DAQ")
        await site.add_image(name)
        [archived] = await log.wait_for("evt_imageArchived", 1)
        observer.assert_no_fault()
    assert archived.statusCode == 0, archived.description
    [retrieval] = log.of("evt_imageRetrievalForArchiving")
    assert retrieval.statusCode == 0
    assert primary_header(site, name)["EXPTIME"] == 2.0  # the camera event's metadata is kept
    await assert_archived_once(site, {name: ["R00_S00"]})
    assert_confined(site)


async def test_header_announced_before_end_of_image_telemetry_is_merged(site: Site) -> None:
    name = site.name(23)
    config_dir = site.write_config()
    await site.add_image(name)
    async with (
        camera_system(site.camera) as camera,
        running_archiver(site.component, config_dir) as (csc, remote, log),
    ):
        observer = Observer(remote)
        await camera.header(name, write_header(site, name, "early header"))
        await wait_until(lambda: csc.headers.get(name) is not None, what=f"the header of {name} heard")
        await camera.end_of_image(name)
        [archived] = await log.wait_for("evt_imageArchived", 1)
        observer.assert_no_fault()
    assert archived.statusCode == 0, archived.description
    header = primary_header(site, name)
    assert (header["HDRSRC"], header["OBJECT"]) == ("HeaderService", "early header")
    with site.ledger() as ledger:
        assert (await asyncio.to_thread(ledger.image, name)).header_source == "HeaderService"
    await assert_archived_once(site, {name: ["R00_S00"]})
    assert_confined(site)


async def test_header_announced_after_end_of_image_telemetry_is_merged(site: Site) -> None:
    name = site.name(24)
    config_dir = site.write_config(header_service={"wait_timeout": 30.0, "fetch_timeout": 5.0})
    await site.add_image(name)
    async with (
        camera_system(site.camera) as camera,
        running_archiver(site.component, config_dir) as (csc, remote, log),
    ):
        observer = Observer(remote)
        await camera.end_of_image(name)
        await wait_until(lambda: csc.runtime.pipeline.is_active(name), what=f"{name} started")
        await camera.header(name, write_header(site, name, "late header"))
        [archived] = await log.wait_for("evt_imageArchived", 1)
        observer.assert_no_fault()
    assert archived.statusCode == 0, archived.description
    header = primary_header(site, name)
    assert (header["HDRSRC"], header["OBJECT"]) == ("HeaderService", "late header")
    await assert_archived_once(site, {name: ["R00_S00"]})
    assert_confined(site)


#: endOfImageTelemetry names that are not image names: non-ASCII digits
#: (fullwidth, Arabic-Indic), whitespace, path traversal, separators, blank,
#: another camera's image.
MALFORMED_NAMES = (
    "AT_O_2026112\uff13_000025",
    "AT_O_\u0662\u0660\u0662\u0666\u0661\u0661\u0662\u0663_000025",
    " AT_O_20261123_000025",
    "AT_O_20261123_000025\n",
    "AT_O_20261123_000025/../../../../escaped",
    "../../../../escaped",
    "AT_O_20261123_000025\x00",
    "",
)


async def test_malformed_camera_and_header_events_are_ignored_with_a_log_message_and_write_nothing(
    site: Site,
) -> None:
    config_dir = site.write_config()
    async with (
        camera_system(site.camera) as camera,
        running_archiver(site.component, config_dir) as (csc, remote, log),
    ):
        observer = Observer(remote)
        for bad in MALFORMED_NAMES:
            await camera.end_of_image(bad)
        await wait_until(
            lambda: (
                len(observer.logs("endOfImageTelemetry with a bad imageName", ERROR)) == len(MALFORMED_NAMES)
            ),
            what=f"{len(MALFORMED_NAMES)} logMessages about bad imageNames",
        )
        await camera.end_of_image("CC_O_20261123_000025")
        await observer.wait_log("not a LATISS image; ignored", WARNING)
        for bad in ("../../../../escaped", "AT_O_2026112\uff13_000025"):
            await camera.header(bad, f"file://{site.headers}/{bad}.yaml")
        await wait_until(
            lambda: len(observer.logs("largeFileObjectAvailable with a bad id", WARNING)) == 2,
            what="2 logMessages about bad header ids",
        )
        observer.assert_no_fault()
        assert not csc.runtime.pipeline.active_images
    messages = [m.message for m in observer.logs("endOfImageTelemetry with a bad imageName")]
    assert all("ignored" in m for m in messages)
    assert any("non-ASCII" in m for m in messages) and any("whitespace" in m for m in messages)
    assert log.of("evt_imageRetrievalForArchiving") == [] and log.of("evt_imageArchived") == []
    with site.ledger() as ledger:
        assert await asyncio.to_thread(ledger.unfinished_images) == []
        assert not await asyncio.to_thread(ledger.has_image, "AT_O_20261123_000025")
    assert files_under(site.staging) == []
    assert_confined(site)
