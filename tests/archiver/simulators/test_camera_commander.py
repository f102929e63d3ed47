"""camera_commander: takeImages from a shell, with defaults for the trailing
arguments, one short line per image-sequence event."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from lsst.ts import salkit

from lsst.ts.archiver.commander import ArchiverCommander
from lsst.ts.archiver.daq import EmulatedDaqStore
from lsst.ts.archiver.simulators import SMALL_AMPLIFIER_REGISTERS, CameraSimulatorCsc
from lsst.ts.archiver.simulators.camera_commander import (
    TAKE_IMAGES_HELP,
    CameraCommander,
    complete_take_images_args,
)
from lsst.ts.archiver.testing import STD_TIMEOUT, wait_until

SEQUENCE_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z: (startIntegration|startReadout|endReadout|"
    r"endOfImageTelemetry): (AT_O_\d{8}_\d{6}) \((\d)/2\)$"
)


def test_trailing_take_images_arguments_get_their_defaults() -> None:
    assert complete_take_images_args(["2", "1.5"]) == ["2", "1.5", "true", "", "", ""]
    assert complete_take_images_args(["1", "0", "f", "R00_S00"]) == ["1", "0", "f", "R00_S00", "", ""]
    for args in (["1"], ["1", "2", "3", "4", "5", "6", "7"]):
        with pytest.raises(ValueError, match="takeImages needs 2 to 6 arguments"):
            complete_take_images_args(args)
    with pytest.raises(ValueError, match="not a camera"):
        CameraCommander("ATArchiver")


async def test_take_images_from_the_commander(tmp_path: Path) -> None:
    camera = CameraSimulatorCsc(
        "ATCamera",
        tmp_path / "daq",
        initial_state=salkit.State.ENABLED,
        registers=SMALL_AMPLIFIER_REGISTERS,
        time_scale=0.05,
    )
    await camera.start_task
    try:
        async with CameraCommander("ATCamera", testing=True) as commander:
            await commander.run_command("help")
            assert TAKE_IMAGES_HELP in "\n".join(commander.output_queue)
            await commander.run_command("takeImages 1")
            assert "takeImages needs 2 to 6 arguments" in commander.output_queue[-1]
            await asyncio.wait_for(
                commander.run_command("takeImages 2 0.1 f '' 'imageType: DARK'"), STD_TIMEOUT
            )
            assert commander.output_queue[-1] == "takeImages done: Done"

            def sequence_lines() -> list[re.Match[str]] | None:
                matches = [SEQUENCE_LINE.match(line) for line in commander.output_queue]
                found = [match for match in matches if match is not None]
                return found if len(found) == 8 else None

            lines = await wait_until(sequence_lines, what="4 sequence events for each of 2 images")
        names = sorted({match.group(2) for match in lines})
        assert len(names) == 2
        with EmulatedDaqStore(tmp_path / "daq", camera.camera.partition, create=False) as store:
            assert sorted(image.name for image in store.list_images()) == names
    finally:
        await camera.close()


async def test_archiver_commander_take_images_needs_the_simulated_camera() -> None:
    commander = ArchiverCommander("ATArchiver", testing=True)
    try:
        await commander.run_command("takeImages 1 0")
        assert "use bin/camera_commander <AT|CC|MT>Camera (over Kafka)" in commander.output_queue[-1]
        commander.use_simulated_camera()  # as with --simulate, before the Archiver started it
        await commander.run_command("help")
        assert f"takeImages {TAKE_IMAGES_HELP}" in commander.output_queue[-1]
        await commander.run_command("takeImages 1")
        assert "takeImages needs 2 to 6 arguments" in commander.output_queue[-1]
        await commander.run_command("takeImages 1 0")
        assert commander.output_queue[-1].startswith("The simulated camera is not running yet")
    finally:
        await commander.close()
