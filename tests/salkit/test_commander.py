"""CscCommander in testing mode against the demonstration TestCsc (sal-wire.md §2.9)."""

from __future__ import annotations

import asyncio
import collections.abc
import os
import pathlib
import re

import pytest
from lsst.ts import salkit

from lsst.ts.salkit import STD_TIMEOUT, wait_until
from lsst.ts.salkit.test_csc import TestCsc

CONFIG_DIR = pathlib.Path(__file__).resolve().parents[1] / "data" / "config" / "Test" / "v1"
EVENT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z: (\w+): (.*)$")


@pytest.fixture
async def csc(monkeypatch: pytest.MonkeyPatch) -> collections.abc.AsyncIterator[TestCsc]:
    monkeypatch.setenv("LSST_SITE", "test")
    csc = TestCsc(index=1, config_dir=CONFIG_DIR)
    await csc.start_task
    yield csc
    await csc.close()


@pytest.fixture
async def commander(csc: TestCsc) -> collections.abc.AsyncIterator[salkit.CscCommander]:
    async with salkit.CscCommander(name="Test", index=1, enable=True, testing=True) as commander:
        yield commander


async def wait_for_line(
    commander: salkit.CscCommander, predicate: collections.abc.Callable[[str], bool]
) -> str:
    """Remove and return the first output line that matches."""

    def matching_line() -> str | None:
        return next((line for line in commander.output_queue if predicate(line)), None)

    line = await wait_until(matching_line, what="the expected output line")
    commander.output_queue.remove(line)
    return line


async def test_enable_option_reaches_enabled_and_prints_states(
    csc: TestCsc, commander: salkit.CscCommander
) -> None:
    assert csc.summary_state == salkit.State.ENABLED
    line = await wait_for_line(commander, lambda line: "summaryState=<State.ENABLED: 2>" in line)
    match = EVENT_LINE.match(line)
    assert match is not None and match.group(1) == "summaryState"


async def test_command_with_typed_arguments(csc: TestCsc, commander: salkit.CscCommander) -> None:
    assert await commander.run_command("setScalars t 3 -4 5 6 7 8 9 1.5 2.25 'two words'")
    data = csc.evt_scalars.data  # type: ignore[attr-defined]
    assert (data.boolean0, data.byte0, data.short0, data.int0, data.longLong0) == (True, 3, -4, 5, 7)
    assert (data.float0, data.double0, data.string0) == (1.5, 2.25, "two words")
    await wait_for_line(commander, lambda line: line == "setScalars done: Done")
    line = await wait_for_line(commander, lambda line: ": scalars: " in line)
    assert "int0=5" in line and "string0='two words'" in line
    assert "private_" not in line and "salIndex" not in line


async def test_array_arguments(csc: TestCsc, commander: salkit.CscCommander) -> None:
    args = " ".join(["0,1,0,1,1"] + ["1,2,3,4,5"] * 7 + ["0.5,1,1.5,2,2.5"] * 2)
    await commander.run_command(f"setArrays {args}")
    data = csc.evt_arrays.data  # type: ignore[attr-defined]
    assert data.boolean0 == [False, True, False, True, True]
    assert data.int0 == [1, 2, 3, 4, 5]
    assert data.double0 == [0.5, 1.0, 1.5, 2.0, 2.5]


async def test_telemetry_is_printed_only_when_it_changes(
    csc: TestCsc, commander: salkit.CscCommander
) -> None:
    for value in (1.0, 1.001, 2.0):  # 1.001 rounds to the same 2 digits as 1.0
        await csc.tel_scalars.set_write(double0=value)  # type: ignore[attr-defined]

    def scalars_lines() -> list[str]:
        return [line for line in commander.output_queue if ": scalars: " in line]

    # The last value printed: the one in between would have been printed before it.
    await wait_until(lambda: any("double0=2," in line for line in scalars_lines()), what="double0=2 printed")
    lines = scalars_lines()
    assert len(lines) == 2
    assert "double0=1," in lines[0] and "double0=2," in lines[1]


async def test_bad_arguments_and_failed_commands_are_reported(
    csc: TestCsc, commander: salkit.CscCommander
) -> None:
    await commander.run_command("setScalars 1 2")
    await wait_for_line(commander, lambda line: "setScalars needs 11 argument(s)" in line)
    await commander.run_command("setScalars maybe 3 -4 5 6 7 8 9 1.5 2.25 x")
    await wait_for_line(commander, lambda line: "boolean0='maybe' is not a boolean" in line)
    await commander.run_command("wait -302 0")
    await wait_for_line(
        commander, lambda line: "Command wait failed" in line and "wait failed as requested" in line
    )
    await commander.run_command("no_such_command")
    await wait_for_line(commander, lambda line: "Unknown command 'no_such_command'" in line)


async def test_help_exit_and_state_commands(csc: TestCsc, commander: salkit.CscCommander) -> None:
    await commander.run_command("help")
    help_text = await wait_for_line(commander, lambda line: line.startswith("Commands"))
    assert "start [configurationOverride]" in help_text
    assert "wait ack duration" in help_text
    await commander.run_command("disable")
    await commander.run_command("standby")
    await commander.run_command("start")
    await wait_for_line(commander, lambda line: "summaryState=<State.DISABLED: 1>" in line)
    line = await wait_for_line(commander, lambda line: ": configurationApplied: " in line)
    assert "configurations='_init.yaml,_test.yaml'" in line
    assert csc.summary_state == salkit.State.DISABLED
    assert not await commander.run_command("exit")


async def test_log_messages_are_shortened(csc: TestCsc, commander: salkit.CscCommander) -> None:
    csc.log.warning("a warning for the commander")
    line = await wait_for_line(commander, lambda line: ": logMessage: " in line)
    assert line.endswith(f"name='{csc.log.name}', level=30, message='a warning for the commander'")


async def test_interactive_session_reads_commands_until_exit(
    csc: TestCsc, commander: salkit.CscCommander
) -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "r") as stream, os.fdopen(write_fd, "w") as writer:
        writer.write(
            "setScalars 1 1 1 17 1 1 1 1 1 1 from_stdin\nhelp\nexit\nsetScalars 1 1 1 18 1 1 1 1 1 1 x\n"
        )
        writer.flush()
        await asyncio.wait_for(commander.run_interactive(stream), STD_TIMEOUT)
    assert csc.evt_scalars.data.int0 == 17  # type: ignore[attr-defined]  # nothing after exit
    await wait_for_line(commander, lambda line: line.startswith("Commands"))


async def test_interactive_session_ends_at_end_of_input(csc: TestCsc, commander: salkit.CscCommander) -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "r") as stream:
        os.close(write_fd)
        await asyncio.wait_for(commander.run_interactive(stream), STD_TIMEOUT)


async def test_amain_enables_the_csc_and_reads_stdin(csc: TestCsc, monkeypatch: pytest.MonkeyPatch) -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "r") as stream, os.fdopen(write_fd, "w") as writer:
        writer.write("setScalars 1 1 1 23 1 1 1 1 1 1 via_amain\nexit\n")
        writer.flush()
        monkeypatch.setattr("sys.stdin", stream)
        await asyncio.wait_for(
            salkit.CscCommander.amain(index=True, args=["1", "--enable"], name="Test"), STD_TIMEOUT
        )
    assert csc.summary_state == salkit.State.ENABLED
    assert csc.evt_scalars.data.string0 == "via_amain"  # type: ignore[attr-defined]
