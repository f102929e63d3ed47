"""Reading: history for late joiners, queues, callbacks, filters."""

from __future__ import annotations

import asyncio
import collections.abc

import pytest
from lsst.ts import salkit

from lsst.ts.salkit import STD_TIMEOUT, wait_until


def last_value(topic: salkit.topics.ReadTopic) -> int | None:
    """``int0`` of the newest sample the topic received, if any."""
    data = topic.get()
    return None if data is None else data.int0


@pytest.fixture
async def controller() -> collections.abc.AsyncIterator[salkit.Controller]:
    controller = salkit.Controller("Test", 1)
    await controller.start_task
    yield controller
    await controller.close()


@pytest.fixture
async def domain() -> collections.abc.AsyncIterator[salkit.Domain]:
    async with salkit.Domain() as domain:
        yield domain


async def test_late_joiner_gets_last_event_value_only(
    controller: salkit.Controller, domain: salkit.Domain
) -> None:
    for value in (1, 2, 3):
        await controller.evt_scalars.set_write(int0=value)  # type: ignore[attr-defined]
    await controller.tel_scalars.set_write(int0=7)  # type: ignore[attr-defined]
    remote = salkit.Remote(domain, "Test", 1)
    await remote.start_task
    assert remote.evt_scalars.nqueued == 1
    data = await remote.evt_scalars.next(flush=False, timeout=STD_TIMEOUT)
    assert data.int0 == 3
    assert remote.tel_scalars.get() is None, "telemetry has no history"
    assert remote.evt_logLevel.get().level == controller.log.getEffectiveLevel()


async def test_evt_max_history_zero_gives_no_history(
    controller: salkit.Controller, domain: salkit.Domain
) -> None:
    await controller.evt_scalars.set_write(int0=1)  # type: ignore[attr-defined]
    remote = salkit.Remote(domain, "Test", 1, evt_max_history=0)
    await remote.start_task
    assert remote.evt_scalars.get() is None
    with pytest.raises(TimeoutError):
        await remote.evt_scalars.next(flush=False, timeout=0.05)


async def test_commands_have_no_history(domain: salkit.Domain) -> None:
    remote = salkit.Remote(domain, "Test", 1)
    await remote.start_task
    with pytest.raises(salkit.AckTimeoutError):
        await remote.cmd_setArrays.start(timeout=0.05)
    controller = salkit.Controller("Test", 1)
    # Same process, different domain: joins after the command was sent.
    await controller.start_task
    try:
        assert controller.cmd_setArrays.get() is None  # type: ignore[attr-defined]
    finally:
        await controller.close()


async def test_get_aget_get_oldest_flush(controller: salkit.Controller, domain: salkit.Domain) -> None:
    remote = salkit.Remote(domain, "Test", 1, include=["scalars"])
    await remote.start_task
    topic = remote.evt_scalars
    assert not topic.has_data and topic.get() is None and topic.get_oldest() is None
    aget_task = asyncio.create_task(topic.aget(timeout=STD_TIMEOUT))
    for value in (1, 2, 3):
        await controller.evt_scalars.set_write(int0=value)  # type: ignore[attr-defined]
    assert (await aget_task).int0 in (1, 2, 3)
    await wait_until(lambda: last_value(topic) == 3, what="sample 3")
    assert (await topic.aget()).int0 == 3
    assert topic.get_oldest().int0 == 1
    assert topic.nqueued == 2
    topic.flush()
    assert topic.nqueued == 0 and topic.get().int0 == 3
    next_task = asyncio.create_task(topic.next(flush=True, timeout=STD_TIMEOUT))
    await asyncio.sleep(0)
    await controller.evt_scalars.set_write(int0=4)  # type: ignore[attr-defined]
    assert (await next_task).int0 == 4


async def test_queue_overflow_drops_oldest(controller: salkit.Controller, domain: salkit.Domain) -> None:
    remote = salkit.Remote(domain, "Test", 1, include=["scalars"], tel_queue_len=10)
    await remote.start_task
    for value in range(15):
        await controller.tel_scalars.set_write(int0=value)  # type: ignore[attr-defined]
    await wait_until(lambda: last_value(remote.tel_scalars) == 14, what="the last sample")
    assert remote.tel_scalars.nqueued == 10
    values = [remote.tel_scalars.get_oldest().int0 for _ in range(10)]
    assert values == list(range(5, 15))


async def test_queue_len_below_minimum_is_rejected(domain: salkit.Domain) -> None:
    with pytest.raises(ValueError, match="queue_len=5"):
        salkit.Remote(domain, "Test", 1, evt_queue_len=5)


async def test_callbacks_are_serialized_by_default(
    controller: salkit.Controller, domain: salkit.Domain
) -> None:
    remote = salkit.Remote(domain, "Test", 1, include=["scalars"])
    await remote.start_task
    running = 0
    max_running = 0
    seen: list[int] = []

    async def callback(data: salkit.BaseSample) -> None:
        nonlocal running, max_running
        running += 1
        max_running = max(max_running, running)
        await asyncio.sleep(0.01)
        seen.append(data.int0)  # type: ignore[attr-defined]
        running -= 1

    remote.tel_scalars.callback = callback
    for value in range(5):
        await controller.tel_scalars.set_write(int0=value)  # type: ignore[attr-defined]
    await wait_until(lambda: len(seen) == 5, what="5 callbacks")
    assert seen == list(range(5))
    assert max_running == 1
    with pytest.raises(RuntimeError, match="callback"):
        await remote.tel_scalars.next(flush=False)


async def test_allow_multiple_callbacks_runs_concurrently(
    controller: salkit.Controller, domain: salkit.Domain
) -> None:
    remote = salkit.Remote(domain, "Test", 1, include=["scalars"])
    await remote.start_task
    running = 0
    max_running = 0
    done = 0

    async def callback(data: salkit.BaseSample) -> None:
        nonlocal running, max_running, done
        running += 1
        max_running = max(max_running, running)
        await asyncio.sleep(0.05)
        running -= 1
        done += 1

    remote.tel_scalars.allow_multiple_callbacks = True
    remote.tel_scalars.callback = callback
    for value in range(5):
        await controller.tel_scalars.set_write(int0=value)  # type: ignore[attr-defined]
    await wait_until(lambda: done == 5, what="5 callbacks")
    assert max_running == 5


async def test_callback_exception_is_logged_and_reading_continues(
    controller: salkit.Controller, domain: salkit.Domain, caplog: pytest.LogCaptureFixture
) -> None:
    remote = salkit.Remote(domain, "Test", 1, include=["scalars"])
    await remote.start_task
    seen: list[int] = []

    def callback(data: salkit.BaseSample) -> None:
        seen.append(data.int0)  # type: ignore[attr-defined]
        if data.int0 == 0:  # type: ignore[attr-defined]
            raise ValueError("bad sample")

    remote.tel_scalars.callback = callback
    await controller.tel_scalars.set_write(int0=0)  # type: ignore[attr-defined]
    await controller.tel_scalars.set_write(int0=1)  # type: ignore[attr-defined]
    await wait_until(lambda: len(seen) == 2, what="the callback of the sample after the failure")
    assert seen == [0, 1]
    assert "bad sample" in caplog.text


async def test_out_of_order_samples_are_discarded(
    controller: salkit.Controller, domain: salkit.Domain
) -> None:
    remote = salkit.Remote(domain, "Test", 1, include=["scalars"])
    await remote.start_task
    tel = controller.tel_scalars  # type: ignore[attr-defined]
    await tel.set_write(int0=1)
    # Pretend the next sample was sent earlier than the first one.
    tel.set(int0=2)
    tel._fill_private_fields(tel.data)
    tel.data.private_sndStamp -= 10
    await controller.salinfo.write_data(tel, tel.data)
    await tel.set_write(int0=3)
    await wait_until(lambda: last_value(remote.tel_scalars) == 3, what="the last sample")
    values = [remote.tel_scalars.get_oldest().int0 for _ in range(remote.tel_scalars.nqueued)]
    assert values == [1, 3]


async def test_remote_index_filters_other_indices(domain: salkit.Domain) -> None:
    controller1 = salkit.Controller("Test", 1)
    controller2 = salkit.Controller("Test", 2)
    await asyncio.gather(controller1.start_task, controller2.start_task)
    try:
        remote1 = salkit.Remote(domain, "Test", 1, include=["scalars"])
        remote_all = salkit.Remote(domain, "Test", 0, include=["scalars"])
        await asyncio.gather(remote1.start_task, remote_all.start_task)
        await controller1.tel_scalars.set_write(int0=1)  # type: ignore[attr-defined]
        await controller2.tel_scalars.set_write(int0=2)  # type: ignore[attr-defined]
        # Samples arrive in write order: once remote_all has the second, remote1 had its chance.
        await wait_until(lambda: remote_all.tel_scalars.nqueued == 2, what="both samples at remote_all")
        assert [remote1.tel_scalars.get_oldest().int0 for _ in range(remote1.tel_scalars.nqueued)] == [1]
        seen = [remote_all.tel_scalars.get_oldest() for _ in range(remote_all.tel_scalars.nqueued)]
        assert [(d.salIndex, d.int0) for d in seen] == [(1, 1), (2, 2)]
    finally:
        await asyncio.gather(controller1.close(), controller2.close())


async def test_indexed_late_joiner_with_index_zero_gets_last_value_per_index(domain: salkit.Domain) -> None:
    controller1 = salkit.Controller("Test", 1)
    controller2 = salkit.Controller("Test", 2)
    await asyncio.gather(controller1.start_task, controller2.start_task)
    try:
        await controller1.evt_scalars.set_write(int0=10)  # type: ignore[attr-defined]
        await controller1.evt_scalars.set_write(int0=11)  # type: ignore[attr-defined]
        await controller2.evt_scalars.set_write(int0=20)  # type: ignore[attr-defined]
        remote_all = salkit.Remote(domain, "Test", 0, include=["scalars"])
        remote2 = salkit.Remote(domain, "Test", 2, include=["scalars"])
        await asyncio.gather(remote_all.start_task, remote2.start_task)
        seen = [remote_all.evt_scalars.get_oldest() for _ in range(remote_all.evt_scalars.nqueued)]
        assert [(d.salIndex, d.int0) for d in seen] == [(1, 11), (2, 20)]
        assert remote2.evt_scalars.nqueued == 1 and remote2.evt_scalars.get().int0 == 20
    finally:
        await asyncio.gather(controller1.close(), controller2.close())


async def test_received_samples_have_rcv_stamp(controller: salkit.Controller, domain: salkit.Domain) -> None:
    remote = salkit.Remote(domain, "Test", 1, include=["scalars"])
    await remote.start_task
    written = await controller.tel_scalars.set_write(int0=1)  # type: ignore[attr-defined]
    data = await remote.tel_scalars.next(flush=False, timeout=STD_TIMEOUT)
    assert data.private_rcvStamp >= written.data.private_sndStamp
    assert data.private_seqNum == written.data.private_seqNum


async def test_queue_fill_warnings_are_not_repeated(
    controller: salkit.Controller, domain: salkit.Domain, caplog: pytest.LogCaptureFixture
) -> None:
    remote = salkit.Remote(domain, "Test", 1, include=["scalars"], tel_queue_len=10)
    await remote.start_task
    for value in range(30):
        await controller.tel_scalars.set_write(int0=value)  # type: ignore[attr-defined]
    await wait_until(lambda: last_value(remote.tel_scalars) == 29, what="the last sample")
    messages = [r.getMessage() for r in caplog.records if "queue" in r.getMessage()]
    assert sum("dropping" in m for m in messages) == 1
    assert sum("% full" in m for m in messages) == 3  # 10%, 50%, 90%


async def test_remote_warnings_do_not_become_controller_log_messages(
    controller: salkit.Controller, domain: salkit.Domain
) -> None:
    remote = salkit.Remote(domain, "Test", 1, include=["scalars", "logMessage"], tel_queue_len=10)
    await remote.start_task
    remote.evt_logMessage.flush()
    for value in range(15):  # overflows the remote's queue: it logs warnings
        await controller.tel_scalars.set_write(int0=value)  # type: ignore[attr-defined]
    await wait_until(lambda: last_value(remote.tel_scalars) == 14, what="the last sample")
    # A later log message of the controller itself: had the warnings become log messages, they would come first.
    controller.log.warning("a controller warning")
    message = await remote.evt_logMessage.next(flush=False, timeout=STD_TIMEOUT)
    assert message.message == "a controller warning"
    assert remote.evt_logMessage.nqueued == 0


async def test_clearing_callback_lets_the_current_call_finish_then_queues(
    controller: salkit.Controller, domain: salkit.Domain
) -> None:
    remote = salkit.Remote(domain, "Test", 1, include=["scalars"])
    await remote.start_task
    started: list[int] = []
    finished: list[int] = []

    async def callback(data: salkit.BaseSample) -> None:
        started.append(data.int0)  # type: ignore[attr-defined]
        await asyncio.sleep(0.05)  # slow work
        finished.append(data.int0)  # type: ignore[attr-defined]

    remote.tel_scalars.callback = callback
    await controller.tel_scalars.set_write(int0=1)  # type: ignore[attr-defined]
    await wait_until(lambda: started == [1], what="the callback of sample 1")
    remote.tel_scalars.callback = None
    await controller.tel_scalars.set_write(int0=2)  # type: ignore[attr-defined]
    assert (await remote.tel_scalars.next(flush=False, timeout=STD_TIMEOUT)).int0 == 2
    await wait_until(lambda: finished == [1], what="the callback of sample 1 to finish")
    assert started == [1]
