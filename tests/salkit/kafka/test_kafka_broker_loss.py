"""The transport survives the broker going away and coming back (here a
tansu with memory storage, which also loses every topic), and says so."""

from __future__ import annotations

import asyncio
import collections.abc
import logging
import pathlib
import typing

import pytest
from lsst.ts import salkit

from lsst.ts.salkit import wait_until
from lsst.ts.salkit.kafka import KafkaConfig, KafkaTransport
from lsst.ts.salkit.kafka.local_servers import ServerProcess, start_tansu
from lsst.ts.salkit.transport import ReadTopicSpec

pytestmark = pytest.mark.integration  # a tansu broker of its own, stopped and restarted


@pytest.fixture
def own_broker(
    kafka_env: KafkaConfig, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> collections.abc.Iterator[list[ServerProcess]]:
    """A broker for this test only (it gets stopped and restarted)."""
    brokers = [start_tansu(log_path=tmp_path / "tansu.log")]
    monkeypatch.setenv("LSST_KAFKA_BROKER_ADDR", brokers[0].address)
    yield brokers
    for broker in brokers:
        broker.stop()


async def test_reads_and_queued_writes_resume_after_broker_restart(
    own_broker: list[ServerProcess], caplog: pytest.LogCaptureFixture
) -> None:
    info = salkit.get_component_info("Test")
    telemetry = info.topics["tel_scalars"]
    received: list[int] = []
    reader_transport = KafkaTransport()
    writer_transport = KafkaTransport()
    try:
        reader = reader_transport.make_channel(
            component_info=info,
            index=0,
            identity="reader",
            receiver=lambda name, data, history: received.append(data["int0"]),
            log=logging.getLogger("loss.reader"),
        )
        writer = writer_transport.make_channel(
            component_info=info,
            index=0,
            identity="writer",
            receiver=lambda *args: None,
            log=logging.getLogger("loss.writer"),
        )
        await reader.start([ReadTopicSpec(telemetry)], [])
        await writer.start([], [telemetry])
        template: dict[str, typing.Any] = telemetry.DataType().get_vars()

        async def wait_for(values: list[int]) -> None:
            await wait_until(lambda: received == values, what=f"samples {values} received")

        with caplog.at_level(logging.INFO):
            await writer.write("scalars", {**template, "int0": 1})
            await wait_for([1])

            broker = own_broker[0]
            broker.stop()
            await writer.write("scalars", {**template, "int0": 2})  # queued while the broker is away
            await asyncio.sleep(1.0)  # the scenario: the broker stays away a while
            own_broker.append(start_tansu(port=broker.port))

            await writer.write("scalars", {**template, "int0": 3})
            await wait_for([1, 2, 3])
        messages = [record.getMessage() for record in caplog.records]
        assert any("lost its connection to the broker" in message for message in messages)
        assert any("connected to the broker" in message and "again" in message for message in messages)
        assert any("the broker lost 1 of our topics" in message for message in messages)
    finally:
        await reader_transport.close()
        await writer_transport.close()
