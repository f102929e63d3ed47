"""One canonical image name at every boundary: a name with non-ASCII digits or
whitespace around it is rejected (never stripped) with its value and the
expected form, wherever it comes from: ``archiveImage``, the camera's
``endOfImageTelemetry``, the Header Service's ``largeFileObjectAvailable``,
the DAQ catalog (``catchUp``). Nothing of it reaches the ledger or staging.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsst.ts import salkit

from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.ledger import Ledger
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, wait_until, write_config_dir

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

GOOD = "AT_O_20261123_000091"
ARABIC_INDIC = "AT_O_\u0662\u0660\u0662\u0666\u0661\u0661\u0662\u0663_000092"  # day_obs in ٢٠٢٦١١٢٣
PADDED = " AT_O_20261123_000093 "
EXPECTED_FORM = "SS_C_YYYYMMDD_NNNNNN"


def config(tmp_path: Path) -> Path:
    return write_config_dir("ATArchiver", tmp_path, header_service={"name": "", "wait_timeout": 0.5})


async def add_images(tmp_path: Path, *names: str) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    for name in names:
        await asyncio.to_thread(store.add_image, name, generator=PixelGenerator(cosmic_rays=0))
    store.close()


def nothing_recorded_for(tmp_path: Path, *names: str) -> None:
    """Neither the ledger nor the staging area has anything of ``names``, as given or
    as a lenient parse would have read them (stripped, digits made ASCII)."""
    readings = {r for name in names for r in (name, name.strip(), _ascii_digits(name.strip()))}
    with Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite3'}") as ledger:
        assert [r for r in readings if ledger.has_image(r)] == []
    staged = [p.name for p in (tmp_path / "staging").rglob("*")]
    assert [s for s in staged if any(r in s for r in readings)] == []


def _ascii_digits(text: str) -> str:
    return "".join(str(int(c)) if c.isdigit() else c for c in text)


def collect_log_messages(remote: salkit.Remote) -> list[Any]:
    messages: list[Any] = []
    remote.evt_logMessage.callback = messages.append  # type: ignore[attr-defined]
    return messages


async def wait_logged(messages: list[Any], level: int, *words: str) -> Any:
    [message, *_] = await wait_until(
        lambda: [m for m in messages if m.level >= level and all(w in m.message for w in words)],
        what=f"a logMessage with {words}",
    )
    return message


async def test_archive_image_rejects_non_ascii_digits_and_surrounding_whitespace(tmp_path: Path) -> None:
    await add_images(tmp_path, GOOD)
    async with running_archiver("ATArchiver", config(tmp_path)) as (csc, remote, log):
        for name, reason in ((ARABIC_INDIC, "non-ASCII"), (PADDED, "whitespace around it")):
            with pytest.raises(salkit.AckError, match=reason) as info:
                await remote.cmd_archiveImage.set_start(imageName=name, priority=0, timeout=STD_TIMEOUT)
            assert repr(name) in info.value.ackcmd.result and EXPECTED_FORM in info.value.ackcmd.result
        await remote.cmd_archiveImage.set_start(imageName=GOOD, priority=0, timeout=STD_TIMEOUT)
        await log.wait_for("evt_imageArchived", 1, obsid=GOOD)
    nothing_recorded_for(tmp_path, ARABIC_INDIC, PADDED)


async def test_end_of_image_telemetry_with_a_malformed_name_is_logged_and_ignored(tmp_path: Path) -> None:
    await add_images(tmp_path, GOOD)
    camera = salkit.Controller("ATCamera")
    try:
        await camera.start_task
        async with running_archiver("ATArchiver", config(tmp_path)) as (csc, remote, log):
            messages = collect_log_messages(remote)
            for name in (ARABIC_INDIC, PADDED, GOOD):
                await camera.evt_endOfImageTelemetry.set_write(  # type: ignore[attr-defined]
                    imageName=name, imageIndex=1, imagesInSequence=1, exposureTime=1.0, force_output=True
                )
            # Camera events are handled in order: once the good image is archived,
            # the malformed ones were handled.
            await log.wait_for("evt_imageArchived", 1, obsid=GOOD)
            for name in (ARABIC_INDIC, PADDED):
                message = await wait_logged(
                    messages, 40, "endOfImageTelemetry with a bad imageName", repr(name)
                )
                assert EXPECTED_FORM in message.message
            assert [r.obsid for r in log.of("evt_imageRetrievalForArchiving")] == [GOOD]
    finally:
        await camera.close()
    nothing_recorded_for(tmp_path, ARABIC_INDIC, PADDED)


async def test_a_header_announced_for_a_malformed_id_is_logged_and_ignored(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "daq", "lat").close()
    header_service = salkit.Controller("ATHeaderService")
    try:
        await header_service.start_task
        async with running_archiver("ATArchiver", config(tmp_path)) as (csc, remote, log):
            messages = collect_log_messages(remote)
            for name in (ARABIC_INDIC, PADDED, GOOD):
                await header_service.evt_largeFileObjectAvailable.set_write(  # type: ignore[attr-defined]
                    url=f"file:///headers/{name.strip()}.yaml", id=name, mimeType="YAML", force_output=True
                )
            await wait_until(lambda: csc.headers.get(GOOD) is not None, what=f"the header of {GOOD}")
            for name in (ARABIC_INDIC, PADDED):
                message = await wait_logged(
                    messages, 30, "largeFileObjectAvailable with a bad id", repr(name)
                )
                assert EXPECTED_FORM in message.message
                assert csc.headers.get(name) is None and csc.headers.get(name.strip()) is None
    finally:
        await header_service.close()


async def test_catch_up_skips_daq_images_with_malformed_names_with_a_warning(tmp_path: Path) -> None:
    await add_images(tmp_path, ARABIC_INDIC, GOOD)
    async with running_archiver("ATArchiver", config(tmp_path)) as (csc, remote, log):
        messages = collect_log_messages(remote)
        await remote.cmd_catchUp.set_start(startDate="20261123", endDate="20261123", timeout=STD_TIMEOUT)
        await log.wait_for("evt_imageArchived", 1, obsid=GOOD)
        message = await wait_logged(messages, 30, "lists an image with a bad name", repr(ARABIC_INDIC))
        assert EXPECTED_FORM in message.message
        assert [r.obsid for r in log.of("evt_imageRetrievalForArchiving")] == [GOOD]
    nothing_recorded_for(tmp_path, ARABIC_INDIC)
