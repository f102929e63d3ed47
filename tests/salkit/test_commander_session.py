"""CscCommander as an operator meets it: UTC times, history in send order, a
refusal instead of a silent hang, command timeouts, and clean endings."""

from __future__ import annotations

import asyncio
import collections.abc
import datetime
import os
import pathlib
import re
import signal

import pytest
from lsst.ts import salkit

from lsst.ts.salkit import STD_TIMEOUT, wait_until
from lsst.ts.salkit.test_csc import TestCsc

CONFIG_DIR = pathlib.Path(__file__).resolve().parents[1] / "data" / "config" / "Test" / "v1"
ISO_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z): (\w+): ")


@pytest.fixture
async def csc(monkeypatch: pytest.MonkeyPatch) -> collections.abc.AsyncIterator[TestCsc]:
    monkeypatch.setenv("LSST_SITE", "test")
    csc = TestCsc(index=1, config_dir=CONFIG_DIR)
    await csc.start_task
    yield csc
    await csc.close()


def test_tai_times_are_printed_as_utc_iso() -> None:
    utc = datetime.datetime(2026, 12, 2, 12, 34, 56, 789000, tzinfo=datetime.UTC).timestamp()
    tai = salkit.tai_from_utc_unix(utc)
    assert tai - utc == 37.0
    assert salkit.format_tai_iso(tai) == "2026-12-02T12:34:56.789Z"
    for name in ("private_sndStamp", "timestamp", "timestampEndOfReadout", "dateObs", "date"):
        assert salkit.is_tai_field(name), name
    for name in ("expTime", "darkTime", "timeout", "oldestPendingAge", "dated", "update"):
        assert not salkit.is_tai_field(name), name


async def test_history_is_printed_in_send_order_with_utc_times(csc: TestCsc) -> None:
    # arrays comes before scalars in the interface; send scalars first.
    await csc.evt_scalars.set_write(int0=1, force_output=True)  # type: ignore[attr-defined]
    await csc.evt_arrays.set_write(int0=[2, 2, 2, 2, 2], force_output=True)  # type: ignore[attr-defined]
    sent = {
        "scalars": csc.evt_scalars.data.private_sndStamp,  # type: ignore[attr-defined]
        "arrays": csc.evt_arrays.data.private_sndStamp,  # type: ignore[attr-defined]
    }
    async with salkit.CscCommander(name="Test", index=1, testing=True) as commander:
        replayed = [ISO_LINE.match(line) for line in commander.output_queue]
    stamps = [match.group(1) for match in replayed if match is not None]
    names = [match.group(2) for match in replayed if match is not None]
    assert len(names) == len(commander.output_queue) >= 6  # every line is an event with a UTC time
    assert stamps == sorted(stamps)
    assert names.index("summaryState") < names.index("scalars") < names.index("arrays")
    assert f"{salkit.format_tai_iso(sent['scalars'])}: scalars: " in "\n".join(commander.output_queue)


async def test_in_memory_commander_without_its_csc_refuses_with_the_fix() -> None:
    commander = salkit.CscCommander(name="Test", index=1, testing=True)
    try:
        with pytest.raises(salkit.CscUnreachableError) as caught:
            await asyncio.wait_for(commander.start(require_csc=True), STD_TIMEOUT)
    finally:
        await commander.close()
    message = str(caught.value)
    assert "in-memory" in message and "make kafka-up" in message
    assert 'eval "$(bin/salkit_kafka --dir .kafka env)"' in message


async def test_a_command_without_an_ack_times_out_with_a_message() -> None:
    async with salkit.CscCommander(name="Test", index=1, testing=True, command_timeout=0.3) as commander:
        assert await asyncio.wait_for(commander.run_command("setLogLevel 10 ''"), STD_TIMEOUT)
        assert list(commander.output_queue)[-1] == (
            "setLogLevel: no reply from Test:1 within 0.3 s; "
            "is it running, on the same SAL transport and topic sub-name?"
        )


async def test_commands_from_a_regular_file_run_until_its_end(csc: TestCsc, tmp_path: pathlib.Path) -> None:
    script = tmp_path / "commands.txt"
    script.write_text("setScalars 1 1 1 31 1 1 1 1 1 1 from_a_file\nhelp")  # no final newline
    async with salkit.CscCommander(name="Test", index=1, enable=True, testing=True) as commander:
        with script.open() as stream:  # a regular file cannot be polled: read in a thread
            await asyncio.wait_for(commander.run_interactive(stream), STD_TIMEOUT)
    assert csc.evt_scalars.data.int0 == 31  # type: ignore[attr-defined]
    assert any(line.startswith("Commands") for line in commander.output_queue)


async def test_ctrl_c_ends_a_session_cleanly(csc: TestCsc, monkeypatch: pytest.MonkeyPatch) -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "r") as stream, os.fdopen(write_fd, "w"):
        monkeypatch.setattr("sys.stdin", stream)
        commander = salkit.CscCommander(name="Test", index=1, testing=True)
        session = asyncio.create_task(commander.run_session())
        await wait_until(
            lambda: any("type help" in line for line in commander.output_queue), what="the prompt"
        )
        os.kill(os.getpid(), signal.SIGINT)
        assert await asyncio.wait_for(session, STD_TIMEOUT) == 0
    assert list(commander.output_queue)[-1] == "Interrupted; quitting"
    assert csc.summary_state == salkit.State.STANDBY  # the CSC is not affected
