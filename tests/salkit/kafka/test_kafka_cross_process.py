"""A controller in one process and remotes in another, over tansu and the
development schema registry: state transitions, a failing command, late
joiners, large events, a component with 300+ topics."""

from __future__ import annotations

import asyncio
import collections.abc
import contextlib
import os
import pathlib
import subprocess
import sys

import pytest
import yaml
from lsst.ts import salkit

from lsst.ts.salkit import STD_TIMEOUT
from lsst.ts.salkit.kafka import KafkaConfig

pytestmark = pytest.mark.integration  # controllers in other processes, over tansu

HERE = pathlib.Path(__file__).resolve().parent
CONTROLLER_SCRIPT = HERE / "kafka_test_controller.py"
LARGE_STRING_LENGTH = 900_000  # as in kafka_test_controller
NUM_MANY_EVENTS = 320


async def start_process(*args: str) -> asyncio.subprocess.Process:
    """Start a controller script; return once it printed "ready"."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CONTROLLER_SCRIPT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), STD_TIMEOUT)
    assert line.strip() == b"ready", f"controller process said {line!r} (exit code {process.returncode})"
    return process


@contextlib.asynccontextmanager
async def controller_process(*args: str) -> collections.abc.AsyncIterator[asyncio.subprocess.Process]:
    process = await start_process(*args)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STD_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_state_transitions_and_failing_command_across_processes(kafka_env: KafkaConfig) -> None:
    async with controller_process("1") as process, salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", 1)
        await remote.start_task
        # The remote joined after the controller wrote STANDBY: it gets it as history.
        state = await remote.evt_summaryState.next(flush=False, timeout=STD_TIMEOUT)
        assert state.summaryState == salkit.State.STANDBY
        assert state.private_identity == "Test:1" and state.private_origin == process.pid
        for command, expected in [
            ("start", salkit.State.DISABLED),
            ("enable", salkit.State.ENABLED),
            ("disable", salkit.State.DISABLED),
            ("standby", salkit.State.STANDBY),
        ]:
            ack = await getattr(remote, f"cmd_{command}").start(timeout=STD_TIMEOUT)
            assert ack.ack == salkit.SalRetCode.CMD_COMPLETE
            state = await remote.evt_summaryState.next(flush=False, timeout=STD_TIMEOUT)
            assert state.summaryState == expected

        with pytest.raises(salkit.AckError) as info:
            await remote.cmd_fault.start(timeout=STD_TIMEOUT)
        assert info.value.ackcmd.ack == salkit.SalRetCode.CMD_FAILED
        assert info.value.ackcmd.error == 1
        assert info.value.ackcmd.result == "Failed: fault requested"

        # INPROGRESS then COMPLETE.
        ack = await remote.cmd_wait.set_start(
            ack=salkit.SalRetCode.CMD_INPROGRESS, duration=0.2, wait_done=False, timeout=STD_TIMEOUT
        )
        assert ack.ack == salkit.SalRetCode.CMD_INPROGRESS
        ack = await remote.cmd_wait.next_ackcmd(ack, timeout=STD_TIMEOUT)
        assert ack.ack == salkit.SalRetCode.CMD_COMPLETE

        await remote.cmd_exitControl.start(timeout=STD_TIMEOUT)
        state = await remote.evt_summaryState.next(flush=False, timeout=STD_TIMEOUT)
        assert state.summaryState == salkit.State.OFFLINE
        assert await asyncio.wait_for(process.wait(), STD_TIMEOUT) == 0


async def test_late_joiner_reads_last_summary_state(kafka_env: KafkaConfig) -> None:
    async with controller_process("2"), salkit.Domain() as domain:
        commander = salkit.Remote(domain, "Test", 2, include=["summaryState"])
        await commander.start_task
        await commander.cmd_start.start(timeout=STD_TIMEOUT)
        await commander.cmd_enable.start(timeout=STD_TIMEOUT)
        # Another process joins late: run a remote in a fresh interpreter.
        code = (
            "import asyncio\n"
            "from lsst.ts import salkit\n"
            "async def main():\n"
            "    async with salkit.Domain() as domain:\n"
            "        remote = salkit.Remote(domain, 'Test', 2, readonly=True, include=['summaryState'])\n"
            "        await remote.start_task\n"
            "        data = remote.evt_summaryState.get()\n"
            "        print(data.summaryState, remote.evt_summaryState.has_data)\n"
            "asyncio.run(main())\n"
        )
        result = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", code], capture_output=True, text=True, timeout=STD_TIMEOUT
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.split() == [str(int(salkit.State.ENABLED)), "True"]


async def test_large_events_cross_processes(kafka_env: KafkaConfig) -> None:
    async with controller_process("3"), salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", 3, include=["scalars"])
        await remote.start_task
        await remote.cmd_setScalars.set_start(string0="large", int0=11, timeout=STD_TIMEOUT)
        event = await remote.evt_scalars.next(flush=False, timeout=STD_TIMEOUT)
        assert len(event.string0) == LARGE_STRING_LENGTH and event.int0 == 11
        telemetry = await remote.tel_scalars.next(flush=False, timeout=STD_TIMEOUT)
        assert len(telemetry.string0) == LARGE_STRING_LENGTH


@pytest.fixture
def many_topics_component(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> collections.abc.Iterator[str]:
    """A non-indexed component with NUM_MANY_EVENTS events (plus generics)."""
    name = "KafkaManyTopics"
    events = {
        f"event{i:03d}": {
            "description": f"Event number {i}.",
            "fields": [{"name": "value", "type": "long", "description": "Position in sorted order."}],
        }
        for i in range(NUM_MANY_EVENTS)
    }
    definition = {"name": name, "description": "Many topics.", "indexed": False, "events": events}
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(definition))
    monkeypatch.setenv(salkit.INTERFACE_PATH_ENV_VAR, str(tmp_path))
    salkit.get_component_info.cache_clear()
    yield name
    monkeypatch.delenv(salkit.INTERFACE_PATH_ENV_VAR)
    salkit.get_component_info.cache_clear()


async def test_component_with_300_topics_late_joiner_gets_every_event(
    kafka_env: KafkaConfig, many_topics_component: str
) -> None:
    info = salkit.get_component_info(many_topics_component)
    assert len(info.topics) > 300
    async with controller_process("many", many_topics_component), salkit.Domain() as domain:
        remote = salkit.Remote(domain, many_topics_component, readonly=True)
        await asyncio.wait_for(remote.start_task, STD_TIMEOUT)
        names = sorted(remote.salinfo.event_names)
        for position, event_name in enumerate(names):
            if event_name.startswith("event"):
                data = getattr(remote, f"evt_{event_name}").get()
                assert data is not None, f"no history for {event_name}"
                assert data.value == position


async def test_real_csc_in_another_process_state_machine_fault_and_exit(
    kafka_env: KafkaConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = HERE.parents[1] / "data" / "config" / "Test" / "v1"
    monkeypatch.setenv("LSST_SITE", "test")
    code = (
        "import sys\n"
        "from lsst.ts.salkit.test_csc import run_test_csc\n"
        f"sys.argv = ['run_test_csc', '7', '--configdir', {str(config_dir)!r}]\n"
        "run_test_csc()\n"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, env=dict(os.environ))
    try:
        async with salkit.Domain() as domain:
            remote = salkit.Remote(domain, "Test", 7)
            await remote.start_task
            state = await remote.evt_summaryState.next(flush=False, timeout=STD_TIMEOUT)
            assert state.summaryState == salkit.State.STANDBY
            heartbeat = await remote.evt_heartbeat.next(flush=True, timeout=STD_TIMEOUT)
            assert heartbeat.private_origin == process.pid

            states = await salkit.set_summary_state(remote, salkit.State.ENABLED, override="all_fields.yaml")
            assert states == [salkit.State.STANDBY, salkit.State.DISABLED, salkit.State.ENABLED]
            applied = await remote.evt_configurationApplied.aget(timeout=STD_TIMEOUT)
            assert "all_fields.yaml" in applied.configurations

            await remote.cmd_setScalars.set_start(int0=42, string0="over kafka", timeout=STD_TIMEOUT)
            scalars = await remote.evt_scalars.next(flush=False, timeout=STD_TIMEOUT)
            assert (scalars.int0, scalars.string0) == (42, "over kafka")

            with pytest.raises(salkit.AckError) as info:
                await remote.cmd_wait.set_start(
                    ack=salkit.SalRetCode.CMD_FAILED, duration=0, timeout=STD_TIMEOUT
                )
            assert info.value.ackcmd.ack == salkit.SalRetCode.CMD_FAILED
            assert "wait failed as requested" in info.value.ackcmd.result

            # errorCode and summaryState are separate topics: FAULT may arrive
            # first, so wait for the next errorCode rather than reading the
            # latest (which can still be the 0 written on entering STANDBY).
            remote.evt_summaryState.flush()
            remote.evt_errorCode.flush()
            await remote.cmd_fault.start(timeout=STD_TIMEOUT)
            state = await remote.evt_summaryState.next(flush=False, timeout=STD_TIMEOUT)
            assert state.summaryState == salkit.State.FAULT
            error = await remote.evt_errorCode.next(flush=False, timeout=STD_TIMEOUT)
            assert error.errorCode == 1

            await salkit.set_summary_state(remote, salkit.State.OFFLINE)
            assert await asyncio.wait_for(process.wait(), STD_TIMEOUT) == 0
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
