"""The Archiver's console: a line per summary state and per image, the
destination directories it lacks named at start, library INFO noise as DEBUG."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import pytest

from lsst.ts.archiver.csc import LibraryInfoToDebug
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.testing import STD_TIMEOUT, running_archiver, wait_until, write_config_dir

NAME = "AT_O_20261123_000071"


def console_lines(caplog: pytest.LogCaptureFixture, name: str, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name and r.levelno == level]


@pytest.mark.integration  # a whole Archiver, end to end
async def test_states_an_incomplete_image_and_a_missing_destination_directory_are_console_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    await asyncio.to_thread(store.add_image, NAME, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    config_dir = write_config_dir("ATArchiver", tmp_path, workers=1)
    (tmp_path / "dbb-buffer").rmdir()  # the DBB is "not mounted": every transfer to it fails
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)  # type: ignore[attr-defined]
        [archived] = await log.wait_for("evt_imageArchived", 1)
        await wait_until(
            lambda: any(
                "incomplete" in line for line in console_lines(caplog, csc.log.name, logging.WARNING)
            ),
            what="the image's console line",
        )
    assert archived.statusCode == 1
    info = console_lines(caplog, csc.log.name, logging.INFO)
    states = [line for line in info if line.startswith("Summary state")]
    assert states == ["Summary state STANDBY", "Summary state DISABLED", "Summary state ENABLED"]
    warnings = console_lines(caplog, csc.log.name, logging.WARNING)
    missing = f"Destination dbb: directory {tmp_path / 'dbb-buffer'} does not exist (not mounted?)"
    assert any(line.startswith(missing) for line in warnings), warnings
    [image_line] = [line for line in warnings if line.startswith(f"{NAME} incomplete")]
    assert image_line.startswith(f"{NAME} incomplete (status 1): 0/1 detectors, ")
    assert " s after archiveImage, missing R00_S00: " in image_line


def butler_style_logger(stream: io.StringIO) -> logging.Logger:
    """A library logger below lsst.daf.butler writing to ``stream`` through the
    console's filter, whose reference is the logger ``TestArchiver``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(LibraryInfoToDebug("TestArchiver"))
    logger = logging.getLogger("lsst.daf.butler.test_console")
    logger.handlers[:] = [handler]
    logger.propagate = False
    return logger


def test_butler_info_lines_are_debug_lines_on_the_console(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    logger = butler_style_logger(stream)
    caplog.set_level(logging.INFO)  # the console's default
    caplog.set_level(logging.INFO, logger="TestArchiver")
    logger.info("Importing 2 datasets into repo")
    logger.warning("Something the operator must see")
    caplog.set_level(logging.DEBUG, logger="TestArchiver")  # --loglevel 10 or setLogLevel 10
    logger.info("Importing 3 datasets into repo")
    assert stream.getvalue().splitlines() == [
        "WARNING lsst.daf.butler.test_console: Something the operator must see",
        "DEBUG lsst.daf.butler.test_console: Importing 3 datasets into repo",
    ]


def test_the_console_filter_leaves_other_loggers_alone() -> None:
    record = logging.LogRecord("ATArchiver", logging.INFO, __file__, 1, "Summary state ENABLED", None, None)
    assert LibraryInfoToDebug("ATArchiver").filter(record)
    assert record.levelname == "INFO"
