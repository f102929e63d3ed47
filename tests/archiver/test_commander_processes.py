"""The command-line clients and CSCs in processes of their own, on the default
in-memory transport: commanders refuse at once (naming the fix), a lone CSC
warns, and Ctrl-C ends a CSC, its capture workers and a commander session
cleanly, with no traceback."""

from __future__ import annotations

import asyncio
import os
import pathlib
import signal
import sys

import pytest

from lsst.ts.archiver.testing import STD_TIMEOUT, wait_until, write_config_dir

pytestmark = pytest.mark.integration  # runs the bin scripts

BIN = pathlib.Path(__file__).resolve().parents[2] / "bin"


def in_memory_environ() -> dict[str, str]:
    """This environment without any SAL transport setting (the default: in-memory)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("LSST_SALKIT", "LSST_KAFKA", "LSST_SCHEMA", "LSST_TOPIC"))
    }
    env["LSST_SITE"] = "test"
    return env


class Console:
    """A bin script in a process group of its own (as in a terminal), its
    output collected line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        assert process.stdout is not None
        self._reader = asyncio.create_task(self._read(process.stdout))

    @classmethod
    async def start(cls, script: str, *args: str, stdin: bool = False) -> Console:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BIN / script),
            *args,
            env=in_memory_environ(),
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        return cls(process)

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            self.lines.append(line.decode().rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    async def wait_for(self, text: str) -> None:
        def printed() -> bool:
            if self.process.returncode is not None and self._reader.done():
                raise AssertionError(f"exited ({self.process.returncode}) without {text!r}:\n{self.text}")
            return any(text in line for line in self.lines)

        await wait_until(printed, what=f"{text!r} in:\n{self.text}")

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")

    def ctrl_c(self) -> None:
        """SIGINT to the whole process group, as a terminal's Ctrl-C."""
        try:
            os.killpg(self.process.pid, signal.SIGINT)
        except ProcessLookupError:
            pass  # already gone

    async def exit_status(self) -> int:
        status = await asyncio.wait_for(self.process.wait(), STD_TIMEOUT)
        await asyncio.wait_for(self._reader, STD_TIMEOUT)
        return status

    async def kill(self) -> None:
        if self.process.returncode is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()


async def test_commanders_on_the_in_memory_transport_refuse_at_once() -> None:
    consoles = [
        await Console.start("archiver_commander", "ATArchiver", stdin=True),
        await Console.start("camera_commander", "CCCamera", "--enable", stdin=True),
    ]
    try:
        statuses = await asyncio.gather(*(console.exit_status() for console in consoles))
    finally:
        for console in consoles:
            await console.kill()
    for console, status in zip(consoles, statuses, strict=True):
        assert status == 2, console.text
        assert "Traceback" not in console.text
        assert "the SAL transport is the in-memory one" in console.text
        assert "make kafka-up" in console.text
        assert 'eval "$(bin/salkit_kafka --dir .kafka env)"' in console.text
    assert "bin/archiver_commander ATArchiver --simulate --enable" in consoles[0].text
    assert "bin/archiver_commander CCArchiver --simulate --enable, then takeImages" in consoles[1].text


async def test_a_lone_csc_on_the_in_memory_transport_warns_and_stops_on_ctrl_c(
    tmp_path: pathlib.Path,
) -> None:
    camera = await Console.start("run_camera_simulator", "ATCamera", "--daq-root", str(tmp_path))
    try:
        # Printed once the signal handlers are in place.
        await camera.wait_for("WARNING: ATCamera uses the in-memory SAL transport")
        camera.ctrl_c()
        assert await camera.exit_status() == 0, camera.text
    finally:
        await camera.kill()
    assert "nothing outside this process can reach it" in camera.text
    assert "Traceback" not in camera.text


async def test_ctrl_c_ends_the_csc_its_workers_and_a_commander_session_cleanly(
    tmp_path: pathlib.Path,
) -> None:
    csc_config = write_config_dir("ATArchiver", tmp_path / "csc", workers=1)
    session_config = write_config_dir("ATArchiver", tmp_path / "session", workers=1)
    csc = await Console.start(
        "run_atarchiver", "--simulate", "--state", "enabled", "--configdir", str(csc_config)
    )
    session = await Console.start(
        "archiver_commander", "ATArchiver", "--simulate", "--enable", "--configdir", str(session_config),
        stdin=True,
    )  # fmt: skip
    try:
        await asyncio.gather(
            csc.wait_for("Summary state ENABLED"), session.wait_for("summaryState=<State.ENABLED")
        )
        for console in (csc, session):
            console.ctrl_c()
        # A second Ctrl-C once the CSC has begun to close (its capture pool,
        # simulators and runtime take far longer than the line takes to arrive).
        await csc.wait_for("Received signal SIGINT; quitting")
        csc.ctrl_c()
        statuses = await asyncio.gather(csc.exit_status(), session.exit_status())
    finally:
        for console in (csc, session):
            await console.kill()
    assert statuses == [0, 0], f"{csc.text}\n----\n{session.text}"
    assert "NOTE: ATArchiver uses the in-memory SAL transport" in csc.text
    assert "ATArchiver INFO: Received signal SIGINT; quitting" in csc.text
    assert "Received SIGINT again; still shutting down, please wait" in csc.text
    assert "Interrupted; quitting" in session.lines, session.text
    for console in (csc, session):
        assert "Traceback" not in console.text, console.text
        assert "KeyboardInterrupt" not in console.text, console.text
