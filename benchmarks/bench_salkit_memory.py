"""Benchmark salkit on the in-memory transport.

Measures, in one run:

* command round trip (Remote -> Controller -> final ack), sequential:
  rate and p50/p99 latency; and with many commands in flight: rate;
* event write -> read latency (``set_write`` to ``next`` returning): p50/p99;
* a reference: a bare asyncio request/response through two queues, the
  floor any in-process transport pays for two task switches.

Rates are compared with ts_salobj's own speed test floor (20 commands/s,
tests/test_speed.py on Kafka) and the project's aim (1000 commands/s).

Usage: .venv/bin/python benchmarks/bench_salkit_memory.py [--commands N] [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import typing
import uuid

from lsst.ts import salkit

SALOBJ_FLOOR_CMD_PER_S = 20.0
AIM_CMD_PER_S = 1000.0


class BenchController(salkit.Controller):
    """Controller of Test with trivial command handlers."""

    def __init__(self) -> None:
        super().__init__("Test", 1, do_callbacks=True)

    async def _noop(self, data: typing.Any) -> None:
        pass

    do_setScalars = do_setArrays = do_fault = do_wait = _noop
    do_start = do_enable = do_disable = do_standby = do_exitControl = do_setLogLevel = _noop


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summarize(name: str, latencies: list[float], elapsed: float) -> float:
    rate = len(latencies) / elapsed
    print(
        f"{name:<38} {rate:>10.0f}/s   p50 {percentile(latencies, 0.5) * 1e3:7.3f} ms"
        f"   p99 {percentile(latencies, 0.99) * 1e3:7.3f} ms"
    )
    return rate


async def bench_commands(remote: salkit.Remote, count: int) -> float:
    for _ in range(50):  # warm up
        await remote.cmd_setArrays.start(timeout=10)
    latencies = []
    t_start = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        await remote.cmd_setArrays.start(timeout=10)
        latencies.append(time.perf_counter() - t0)
    return summarize("command round trip (sequential)", latencies, time.perf_counter() - t_start)


async def bench_commands_in_flight(remote: salkit.Remote, count: int) -> float:
    # Two command names so the controller runs two handlers concurrently;
    # the queue length (100) caps how many of one name may wait, so send in
    # batches of 90 per name.
    batch = 90
    t_start = time.perf_counter()
    latencies: list[float] = []

    async def one(cmd: salkit.RemoteCommand) -> None:
        t0 = time.perf_counter()
        await cmd.start(timeout=30)
        latencies.append(time.perf_counter() - t0)

    sent = 0
    while sent < count:
        n = min(batch, count - sent)
        await asyncio.gather(
            *[one(remote.cmd_setArrays) for _ in range(n // 2)],
            *[one(remote.cmd_setScalars) for _ in range(n - n // 2)],
        )
        sent += n
    return summarize(f"command round trip ({batch} in flight)", latencies, time.perf_counter() - t_start)


async def bench_events(controller: BenchController, remote: salkit.Remote, count: int) -> None:
    evt = controller.evt_scalars  # type: ignore[attr-defined]
    reader = remote.evt_scalars
    reader.flush()
    latencies = []
    stamp_latencies = []
    t_start = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        await evt.set_write(int0=i)
        data = await reader.next(flush=False, timeout=10)
        latencies.append(time.perf_counter() - t0)
        stamp_latencies.append(data.private_rcvStamp - data.private_sndStamp)
    summarize("event write -> read", latencies, time.perf_counter() - t_start)
    print(
        f"{'  (private_rcvStamp - private_sndStamp)':<38} {'':>12}   p50 {percentile(stamp_latencies, 0.5) * 1e3:7.3f} ms"
        f"   p99 {percentile(stamp_latencies, 0.99) * 1e3:7.3f} ms"
    )


async def bench_reference(count: int) -> float:
    """Bare asyncio request/response through two queues (no salkit)."""
    requests: asyncio.Queue[int] = asyncio.Queue()
    replies: asyncio.Queue[int] = asyncio.Queue()

    async def server() -> None:
        while True:
            replies.put_nowait(await requests.get())

    task = asyncio.create_task(server())
    latencies = []
    t_start = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        requests.put_nowait(i)
        await replies.get()
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - t_start
    task.cancel()
    return summarize("reference: bare asyncio round trip", latencies, elapsed)


async def main(commands: int, events: int) -> None:
    os.environ["LSST_TOPIC_SUBNAME"] = f"bench_{uuid.uuid4().hex[:8]}"
    controller = BenchController()
    await controller.start_task
    async with salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", 1, include=["scalars"])
        await remote.start_task
        print(f"salkit in-memory transport; {commands} commands, {events} events; TAI via current_tai()")
        rate = await bench_commands(remote, commands)
        rate_in_flight = await bench_commands_in_flight(remote, commands)
        await bench_events(controller, remote, events)
        ref_rate = await bench_reference(commands)
    await controller.close()
    salkit.get_memory_bus().delete_topics(os.environ["LSST_TOPIC_SUBNAME"])
    print()
    print(
        f"sequential command rate / salobj floor ({SALOBJ_FLOOR_CMD_PER_S:.0f}/s): {rate / SALOBJ_FLOOR_CMD_PER_S:8.1f}x"
    )
    print(f"sequential command rate / aim ({AIM_CMD_PER_S:.0f}/s):          {rate / AIM_CMD_PER_S:8.1f}x")
    print(
        f"in-flight command rate / aim ({AIM_CMD_PER_S:.0f}/s):           {rate_in_flight / AIM_CMD_PER_S:8.1f}x"
    )
    print(f"sequential command rate / bare asyncio round trip:    {rate / ref_rate:8.3f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=5000, help="number of commands per measurement")
    parser.add_argument("--events", type=int, default=5000, help="number of events")
    args = parser.parse_args()
    asyncio.run(main(args.commands, args.events))
