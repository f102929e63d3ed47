"""archiver_commander: per-detector failures as they come, one summary line per image."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lsst.ts.archiver.commander import ArchiverCommander
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.testing import running_archiver, wait_until, write_config_dir

pytestmark = pytest.mark.integration  # a whole Archiver, end to end

GOOD = "AT_O_20261123_000021"
MISSING = "AT_O_20261123_000022"


async def wait_for_line(commander: ArchiverCommander, text: str) -> str:
    """Return the first output line of the commander that contains ``text``."""

    def line_with_text() -> str | None:
        return next((line for line in commander.output_queue if text in line), None)

    return await wait_until(line_with_text, what=f"an output line with {text!r}")


async def test_commander_prints_one_summary_line_per_image(tmp_path: Path) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    await asyncio.to_thread(store.add_image, GOOD, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    config_dir = write_config_dir(
        "ATArchiver", tmp_path, daq={"root": str(tmp_path / "daq"), "wait_timeout": 1.0}
    )
    async with running_archiver("ATArchiver", config_dir) as (csc, remote, log):
        commander = ArchiverCommander("ATArchiver", testing=True)
        await commander.start()
        try:
            await commander.run_command(f"archiveImage {GOOD} 0")
            line = await wait_for_line(commander, f"{GOOD}: OK")
            assert "1/1 archived, 1 written, 1 in OODS" in line
            await commander.run_command(f"archiveImage {MISSING} 0")
            line = await wait_for_line(commander, f"{MISSING}: INCOMPLETE")
            assert "0/1 archived" in line and "1 capture failures" in line and "missing R00_S00" in line
            failure = await wait_for_line(commander, f"{MISSING} R00_S00: capture failed (status 1)")
            assert "not found" in failure
            assert not any("imageRetrievalForArchiving" in line for line in commander.output_queue)
        finally:
            await commander.close()
