"""Commands and acknowledgements (reference: sal-wire.md §1.10)."""

from __future__ import annotations

import asyncio
import collections.abc
import os

import pytest
from lsst.ts import salkit
from salkit_demo_controller import DemoController

from lsst.ts.salkit import STD_TIMEOUT


@pytest.fixture
async def controller() -> collections.abc.AsyncIterator[DemoController]:
    controller = DemoController(index=1)
    await controller.start_task
    yield controller
    await controller.close()


@pytest.fixture
async def remote() -> collections.abc.AsyncIterator[salkit.Remote]:
    async with salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", 1)
        await remote.start_task
        yield remote


async def test_complete_ack_fields(controller: DemoController, remote: salkit.Remote) -> None:
    ackcmd = await remote.cmd_setScalars.set_start(int0=5, timeout=STD_TIMEOUT)
    assert ackcmd.ack == salkit.SalRetCode.CMD_COMPLETE
    assert (ackcmd.error, ackcmd.result) == (0, "Done")
    assert ackcmd.identity == remote.salinfo.identity
    assert ackcmd.origin == os.getpid()
    assert ackcmd.private_identity == "Test:1"
    assert ackcmd.salIndex == 1
    assert ackcmd.cmdtype == remote.salinfo.sal_topic_names.index("command_setScalars")
    data = await remote.evt_scalars.next(flush=False, timeout=STD_TIMEOUT)
    assert data.int0 == 5


async def test_start_with_data_object(controller: DemoController, remote: salkit.Remote) -> None:
    data = remote.cmd_setScalars.DataType()
    data.int0 = 8  # type: ignore[attr-defined]
    data.private_seqNum = -5  # type: ignore[attr-defined]  # ignored: private fields are filled in
    await remote.cmd_setScalars.start(data, timeout=STD_TIMEOUT)
    assert (await remote.evt_scalars.next(flush=False, timeout=STD_TIMEOUT)).int0 == 8


async def test_callback_returning_ackcmd_sends_it(controller: DemoController, remote: salkit.Remote) -> None:
    ackcmd = await remote.cmd_start.set_start(configurationOverride="x", timeout=STD_TIMEOUT)
    assert ackcmd.ack == salkit.SalRetCode.CMD_COMPLETE
    assert ackcmd.result == "custom result"


async def test_expected_error_gives_failed_without_traceback(
    controller: DemoController, remote: salkit.Remote, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(salkit.AckError) as excinfo:
        await remote.cmd_fault.start(timeout=STD_TIMEOUT)
    ackcmd = excinfo.value.ackcmd
    assert ackcmd.ack == salkit.SalRetCode.CMD_FAILED
    assert (ackcmd.error, ackcmd.result) == (1, "Failed: fault requested")
    assert "Traceback" not in caplog.text


async def test_other_exception_gives_failed_and_logs_traceback(
    controller: DemoController, remote: salkit.Remote, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(salkit.AckError) as excinfo:
        await remote.cmd_standby.start(timeout=STD_TIMEOUT)
    ackcmd = excinfo.value.ackcmd
    assert ackcmd.ack == salkit.SalRetCode.CMD_FAILED
    assert (ackcmd.error, ackcmd.result) == (1, "Failed: standby is broken")
    assert "Traceback" in caplog.text
    # The controller keeps working.
    await remote.cmd_enable.start(timeout=STD_TIMEOUT)


@pytest.mark.parametrize(
    "exception, code, result",
    [
        (asyncio.CancelledError(), salkit.SalRetCode.CMD_ABORTED, "Aborted"),
        (TimeoutError(), salkit.SalRetCode.CMD_TIMEOUT, "Timeout"),
    ],
)
async def test_cancelled_and_timeout_exceptions(
    controller: DemoController,
    remote: salkit.Remote,
    exception: BaseException,
    code: salkit.SalRetCode,
    result: str,
) -> None:
    controller.arrays_raise = exception
    with pytest.raises(salkit.AckError) as excinfo:
        await remote.cmd_setArrays.start(timeout=STD_TIMEOUT)
    assert excinfo.value.ackcmd.ack == code
    assert (excinfo.value.ackcmd.error, excinfo.value.ackcmd.result) == (1, result)
    assert not isinstance(excinfo.value, salkit.AckTimeoutError)
    # The command reader survives an aborted callback.
    controller.arrays_raise = None
    await remote.cmd_setArrays.start(timeout=STD_TIMEOUT)


async def test_in_progress_extends_the_deadline(controller: DemoController, remote: salkit.Remote) -> None:
    ackcmd = await remote.cmd_wait.set_start(ack=salkit.SalRetCode.CMD_INPROGRESS, duration=0.3, timeout=0.1)
    assert ackcmd.ack == salkit.SalRetCode.CMD_COMPLETE


async def test_without_in_progress_slow_command_times_out(
    controller: DemoController, remote: salkit.Remote
) -> None:
    with pytest.raises(salkit.AckTimeoutError) as excinfo:
        await remote.cmd_wait.set_start(ack=0, duration=0.3, timeout=0.1)
    assert excinfo.value.ackcmd.ack == salkit.SalRetCode.CMD_NOACK
    assert excinfo.value.ackcmd.result == "No command acknowledgement seen"


async def test_timeout_after_in_progress_carries_last_ack(
    controller: DemoController, remote: salkit.Remote
) -> None:
    # INPROGRESS says 0.05 s more, but the command takes 0.5 s.
    controller.in_progress_timeout = 0.05
    remote_cmd = remote.cmd_wait
    remote_cmd.set(ack=salkit.SalRetCode.CMD_INPROGRESS, duration=0.5)
    with pytest.raises(salkit.AckTimeoutError) as excinfo:
        await remote_cmd.start(timeout=0.05)
    assert excinfo.value.ackcmd.ack == salkit.SalRetCode.CMD_INPROGRESS


async def test_wait_done_false_returns_in_progress_then_next_ackcmd(
    controller: DemoController, remote: salkit.Remote
) -> None:
    ackcmd = await remote.cmd_wait.set_start(
        ack=salkit.SalRetCode.CMD_INPROGRESS, duration=0.1, timeout=STD_TIMEOUT, wait_done=False
    )
    assert ackcmd.ack == salkit.SalRetCode.CMD_INPROGRESS
    assert ackcmd.timeout == pytest.approx(0.1)
    final = await remote.cmd_wait.next_ackcmd(ackcmd, timeout=STD_TIMEOUT)
    assert final.ack == salkit.SalRetCode.CMD_COMPLETE
    assert final.private_seqNum == ackcmd.private_seqNum


async def test_no_controller_gives_ack_timeout_error(remote: salkit.Remote) -> None:
    with pytest.raises(salkit.AckTimeoutError) as excinfo:
        await remote.cmd_setScalars.start(timeout=0.1)
    assert excinfo.value.ackcmd.ack == salkit.SalRetCode.CMD_NOACK
    assert remote.salinfo._running_cmds == {}


async def test_same_name_commands_are_serialized_different_names_are_not(
    controller: DemoController, remote: salkit.Remote
) -> None:
    await asyncio.gather(
        *[remote.cmd_wait.set_start(ack=0, duration=0.1, timeout=STD_TIMEOUT) for _ in range(3)]
    )
    intervals = sorted(controller.wait_intervals)
    for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False):
        assert start >= end - 1e-3, f"wait commands overlapped: {intervals}"

    controller.arrays_delay = 0.2
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.gather(
        remote.cmd_setArrays.start(timeout=STD_TIMEOUT),
        remote.cmd_wait.set_start(ack=0, duration=0.2, timeout=STD_TIMEOUT),
    )
    assert loop.time() - t0 < 0.35, "different commands should run concurrently"


async def test_commands_arriving_faster_than_handled_all_complete(
    controller: DemoController, remote: salkit.Remote
) -> None:
    controller.arrays_delay = 0.001
    acks = await asyncio.gather(*[remote.cmd_setArrays.start(timeout=STD_TIMEOUT) for _ in range(50)])
    assert all(ack.ack == salkit.SalRetCode.CMD_COMPLETE for ack in acks)
    assert len({ack.private_seqNum for ack in acks}) == 50
    assert len(controller.arrays_calls) == 50


async def test_acks_are_routed_to_the_right_remote(controller: DemoController) -> None:
    async with salkit.Domain() as domain_a, salkit.Domain() as domain_b:
        domain_b.default_identity = "other@host"
        remote_a = salkit.Remote(domain_a, "Test", 1)
        remote_b = salkit.Remote(domain_b, "Test", 1)
        await asyncio.gather(remote_a.start_task, remote_b.start_task)
        # Same command name, possibly the same seqNum ranges; routing by identity.
        remote_b.cmd_wait._seq_num = remote_a.cmd_wait._seq_num
        results = await asyncio.gather(
            remote_a.cmd_wait.set_start(ack=0, duration=0.05, timeout=STD_TIMEOUT),
            remote_b.cmd_fault.start(timeout=STD_TIMEOUT),
            remote_b.cmd_wait.set_start(ack=0, duration=0.01, timeout=STD_TIMEOUT),
            return_exceptions=True,
        )
        assert results[0].ack == salkit.SalRetCode.CMD_COMPLETE
        assert results[0].identity == domain_a.default_identity
        assert isinstance(results[1], salkit.AckError)
        assert results[2].ack == salkit.SalRetCode.CMD_COMPLETE
        assert results[2].identity == "other@host"
        assert remote_a.salinfo._running_cmds == {} and remote_b.salinfo._running_cmds == {}


async def test_seq_num_ranges_are_disjoint_per_command(remote: salkit.Remote) -> None:
    names = remote.salinfo.command_names
    ranges = sorted(
        (getattr(remote, f"cmd_{name}").min_seq_num, getattr(remote, f"cmd_{name}").max_seq_num)
        for name in names
    )
    for (_, high), (low, _) in zip(ranges, ranges[1:], strict=False):
        assert high < low
    assert ranges[-1][1] <= 2**31 - 1
    inc = (2**31 - 1) // len(names)
    assert remote.cmd_disable.min_seq_num == names.index("disable") * inc + 1


async def test_controller_ignores_command_with_seq_num_zero(
    controller: DemoController, remote: salkit.Remote
) -> None:
    cmd = remote.cmd_setArrays
    cmd._seq_num = 0  # bypass the range to send an invalid command ID
    with pytest.raises(salkit.AckTimeoutError):
        await cmd.start(timeout=0.1)
    assert controller.arrays_calls == []


async def test_controller_ignores_commands_for_other_index(controller: DemoController) -> None:
    async with salkit.Domain() as domain:
        remote2 = salkit.Remote(domain, "Test", 2)
        await remote2.start_task
        with pytest.raises(salkit.AckTimeoutError):
            await remote2.cmd_setArrays.start(timeout=0.1)
    assert controller.arrays_calls == []


async def test_readonly_remote_has_no_commands() -> None:
    async with salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", 1, readonly=True)
        await remote.start_task
        assert not hasattr(remote, "cmd_setScalars")
        assert not any(name.startswith("ack") for name in remote.salinfo.read_topics)
