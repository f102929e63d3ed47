"""The in-memory transport: delivery, copying, history and isolation."""

from __future__ import annotations

import logging
import typing

import pytest
from lsst.ts import salkit

from lsst.ts.salkit import wait_until
from lsst.ts.salkit.transport import ReadTopicSpec, TransportError, make_transport
from lsst.ts.salkit.transport.memory import MemoryTransport

Received = list[tuple[str, dict[str, typing.Any], bool]]


def make_channel(
    transport: salkit.Transport, index: int, received: Received, name: str = "Test"
) -> salkit.Channel:
    def receiver(sal_name: str, data: dict[str, typing.Any], is_history: bool) -> None:
        received.append((sal_name, data, is_history))

    return transport.make_channel(
        component_info=salkit.get_component_info(name),
        index=index,
        identity="me",
        receiver=receiver,
        log=logging.getLogger("test"),
    )


def topic(attr_name: str) -> salkit.TopicInfo:
    return salkit.get_component_info("Test").topics[attr_name]


def test_factory_default_is_memory_and_unknown_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_transport(), MemoryTransport)
    monkeypatch.setenv("LSST_SALKIT_TRANSPORT", "pigeon")
    with pytest.raises(TransportError, match="Unknown transport 'pigeon'"):
        make_transport()


async def test_readers_get_independent_copies() -> None:
    transport = MemoryTransport()
    received_a: Received = []
    received_b: Received = []
    writer = make_channel(transport, 1, [])
    reader_a = make_channel(transport, 0, received_a)
    reader_b = make_channel(transport, 0, received_b)
    arrays = topic("tel_arrays")
    await writer.start([], [arrays])
    await reader_a.start([ReadTopicSpec(arrays)], [])
    await reader_b.start([ReadTopicSpec(arrays)], [])
    data = {"salIndex": 1, "int0": [1, 2, 3, 4, 5]}
    await writer.write("arrays", data)
    data["int0"][0] = 99  # the writer reuses its dict
    await wait_until(lambda: received_a and received_b, what="the sample at both readers")
    assert received_a[0][1]["int0"] == [1, 2, 3, 4, 5]
    received_a[0][1]["int0"][1] = -1
    assert received_b[0][1]["int0"] == [1, 2, 3, 4, 5]


async def test_event_history_is_last_value_per_writer_index() -> None:
    transport = MemoryTransport()
    scalars = topic("evt_scalars")
    writer1 = make_channel(transport, 1, [])
    writer2 = make_channel(transport, 2, [])
    await writer1.start([], [scalars])
    await writer2.start([], [scalars])
    for i in range(3):
        await writer1.write("logevent_scalars", {"salIndex": 1, "int0": i})
    await writer2.write("logevent_scalars", {"salIndex": 2, "int0": 10})

    received: Received = []
    await make_channel(transport, 0, received).start([ReadTopicSpec(scalars, history_depth=500)], [])
    assert [(d["salIndex"], d["int0"], h) for _, d, h in received] == [(1, 2, True), (2, 10, True)]

    received_last: Received = []
    await make_channel(transport, 0, received_last).start([ReadTopicSpec(scalars, history_depth=1)], [])
    assert [d["int0"] for _, d, _ in received_last] == [10]

    received_none: Received = []
    await make_channel(transport, 0, received_none).start([ReadTopicSpec(scalars, history_depth=0)], [])
    assert received_none == []


async def test_telemetry_and_commands_have_no_history() -> None:
    transport = MemoryTransport()
    tel = topic("tel_scalars")
    cmd = topic("cmd_setScalars")
    writer = make_channel(transport, 1, [])
    await writer.start([], [tel, cmd])
    await writer.write("scalars", {"int0": 1})
    await writer.write("command_setScalars", {"int0": 1})
    received: Received = []
    await make_channel(transport, 0, received).start(
        [ReadTopicSpec(tel, history_depth=10), ReadTopicSpec(cmd, history_depth=10)], []
    )
    assert received == []


async def test_topic_subnames_are_isolated() -> None:
    scalars = topic("evt_scalars")
    writer = make_channel(MemoryTransport(topic_subname="a"), 1, [])
    await writer.start([], [scalars])
    await writer.write("logevent_scalars", {"int0": 1})
    received: Received = []
    reader = make_channel(MemoryTransport(topic_subname="b"), 0, received)
    await reader.start([ReadTopicSpec(scalars, history_depth=1)], [])
    await writer.write("logevent_scalars", {"int0": 2})
    # A later sample on the reader's own sub-name: those of "a" would have come first.
    writer_b = make_channel(MemoryTransport(topic_subname="b"), 1, [])
    await writer_b.start([], [scalars])
    await writer_b.write("logevent_scalars", {"int0": 3})
    await wait_until(lambda: received, what="the sample of sub-name b")
    assert [data["int0"] for _, data, _ in received] == [3]
    salkit.get_memory_bus().delete_topics("a")
    salkit.get_memory_bus().delete_topics("b")


async def test_write_errors_are_clear() -> None:
    channel = make_channel(MemoryTransport(), 1, [])
    with pytest.raises(TransportError, match="not a write topic"):
        await channel.write("scalars", {})
    await channel.start([], [topic("tel_scalars")])
    with pytest.raises(TransportError, match="already started"):
        await channel.start([], [])
    await channel.close()
    with pytest.raises(TransportError, match="closed"):
        await channel.write("scalars", {})


async def test_closed_reader_gets_nothing() -> None:
    transport = MemoryTransport()
    tel = topic("tel_scalars")
    writer = make_channel(transport, 1, [])
    received: Received = []
    reader = make_channel(transport, 0, received)
    received_open: Received = []
    open_reader = make_channel(transport, 0, received_open)
    await writer.start([], [tel])
    await reader.start([ReadTopicSpec(tel)], [])
    await open_reader.start([ReadTopicSpec(tel)], [])
    await writer.write("scalars", {"int0": 1})
    await reader.close()
    # The reader still open gets the sample; the closed one, scheduled at the same time, does not.
    await wait_until(lambda: received_open, what="the sample at the open reader")
    assert received == []


async def test_writes_are_validated_against_the_avro_schema() -> None:
    channel = make_channel(MemoryTransport(), 1, [])
    await channel.start([], [topic("tel_scalars")])
    good = topic("tel_scalars").DataType().get_vars()
    await channel.write("scalars", good)
    with pytest.raises(TransportError, match="Avro schema"):
        await channel.write("scalars", {**good, "int0": "five"})
    with pytest.raises(TransportError, match="Avro schema"):
        await channel.write("scalars", {**good, "long0": 2**31})  # SAL long is 32 bits


async def test_controller_write_of_bad_value_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    controller = salkit.Controller("Test", 1)
    try:
        await controller.start_task
        with pytest.raises(TransportError, match="long0"):
            await controller.tel_scalars.set_write(long0=2**40)  # type: ignore[attr-defined]
    finally:
        await controller.close()
