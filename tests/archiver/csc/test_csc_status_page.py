"""The CSC's status page in a real browser: Debian's headless Chromium takes a screenshot
of the page of a running Archiver that archived an image, and dumps its DOM."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lsst.ts.archiver.maps import STATE_COLOURS, DetectorState
from lsst.ts.archiver.simulators import start_simulated_system
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, write_config_dir

pytestmark = pytest.mark.integration  # a whole Archiver, end to end, and a browser process

WINDOW = (1200, 900)


def chromium_command(profile: Path, *args: str) -> list[str]:
    chromium = shutil.which("chromium")
    assert chromium is not None, "Debian's chromium is not installed: run tools/bootstrap.sh"
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-background-networking",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *args,
    ]


async def run_chromium(profile: Path, *args: str) -> str:
    """Run headless Chromium to the end; return its standard output."""
    process = await asyncio.create_subprocess_exec(
        *chromium_command(profile, *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 4 * STD_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return stdout.decode(errors="replace")


def colour_pixels(path: Path, colour: str) -> int:
    rgb = np.asarray(Image.open(path).convert("RGB"))
    wanted = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    return int(np.all(rgb == wanted, axis=-1).sum())


async def test_status_page_in_headless_chromium_shows_the_archived_image(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config_dir = write_config_dir(
        "ATArchiver",
        tmp_path,
        daq={"root": str(tmp_path / "sim" / "daq"), "wait_timeout": 2.0},
        header_service={"name": "", "wait_timeout": 1.0},
        status_page={"port": 0, "host": "127.0.0.1"},
    )
    system = await start_simulated_system("LATISS", tmp_path / "sim")
    try:
        async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
            [obsid] = await system.take_images(1, exp_time=0.5)
            [archived] = await log.wait_for("evt_imageArchived", 1)
            assert (archived.obsid, archived.statusCode) == (obsid, 0)
            page = csc.status_page
            assert page is not None and page.port > 0
            url = f"http://127.0.0.1:{page.port}/"
            assert page.url == url
            assert f"Status page: {url} (read-only)" in caplog.messages
            status = json.loads(
                await asyncio.to_thread(
                    lambda: urllib.request.urlopen(url + "status.json", timeout=10).read()
                )
            )
            assert status["images"][0]["obsid"] == obsid
            screenshot = tmp_path / "page.png"
            dom = await run_chromium(tmp_path / "profile", f"--screenshot={screenshot}", "--dump-dom", url)
        assert csc.status_page is None  # stopped with the runtime
    finally:
        await system.close()
    with Image.open(screenshot) as image:
        assert (image.format, image.size) == ("PNG", WINDOW)
    # The LATISS map (one CCD, archived) is drawn 440 px wide on the page: a large green square.
    assert colour_pixels(screenshot, STATE_COLOURS[DetectorState.ARCHIVED]) > 20_000
    assert len(np.unique(np.asarray(Image.open(screenshot).convert("L")))) > 16  # not blank
    assert f'<img src="/map/{obsid}.png"' in dom
    assert f"<b>{obsid}</b>: archived after" in dom
    assert "ATArchiver (LATISS)" in dom
