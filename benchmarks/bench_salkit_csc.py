"""Benchmark the salkit CSC layer (demonstration TestCsc, in-memory transport).

Measures, in one run:

* heartbeat jitter (max and p99 of |interval - 1 s|) of the TestCsc while
  idle, then while 1000 commands are in flight, and their ratio; the
  issue asks for < 0.2 s under load. The 1000 commands are spread so that
  no command queue of 100 overflows: the serialized commands (setScalars,
  setArrays, setLogLevel) have at most 95 outstanding each, the rest are
  ``wait`` commands (0.5-1.5 s) with concurrent callbacks; they come from
  several Remotes, each on its own Domain;
* command round trip through the full CSC (Remote -> TestCsc.do_setScalars,
  which checks the state and writes an event and telemetry -> final ack),
  one at a time and 50 in flight, next to the same through a bare core
  Controller doing the same writes (the reference): rates, p50/p99 and ratio.

Usage: .venv/bin/python benchmarks/bench_salkit_csc.py [--idle S] [--loaded S] [--commands N]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import statistics
import tempfile
import threading
import time
import typing
import uuid

import yaml
from lsst.ts import salkit

from lsst.ts.salkit.test_csc import TestCsc

NUM_IN_FLIGHT = 1000
SERIAL_COMMANDS = ("setScalars", "setArrays", "setLogLevel")
MAX_OUTSTANDING_PER_SERIAL_COMMAND = 95
NUM_REMOTES = 4
#: Maximum pause (s) of a wait worker between commands, and the extra wait
#: workers that keep the mean number of commands in flight near NUM_IN_FLIGHT.
WAIT_THINK_TIME = 0.1
EXTRA_WAIT_WORKERS = 35
JITTER_LIMIT = 0.2
CONFIG = {"string0": "", "bool0": True, "int0": 0, "float0": 0.0, "intarr0": [], "multi_type": None}


class ReferenceController(salkit.Controller):
    """Bare core Controller doing what TestCsc.do_setScalars does, minus the CSC."""

    def __init__(self, index: int) -> None:
        super().__init__("Test", index, do_callbacks=True, allow_missing_callbacks=True)

    async def do_setScalars(self, data: typing.Any) -> None:
        values = {
            k: v for k, v in data.get_vars().items() if not k.startswith("private_") and k != "salIndex"
        }
        await self.evt_scalars.set_write(**values, force_output=True)  # type: ignore[attr-defined]
        await self.tel_scalars.set_write(**values)  # type: ignore[attr-defined]


class CpuShare:
    """CPU time of this process over wall time, since construction."""

    def __init__(self) -> None:
        self.cpu0 = time.process_time()
        self.wall0 = time.monotonic()

    def share(self) -> float:
        return (time.process_time() - self.cpu0) / (time.monotonic() - self.wall0)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def collect_heartbeats(remote: salkit.Remote, duration: float) -> list[tuple[float, float]]:
    """Return (sndStamp, rcvStamp) of heartbeats read for ``duration`` seconds."""
    topic = remote.evt_heartbeat  # type: ignore[attr-defined]
    topic.flush()
    stamps = []
    loop = asyncio.get_running_loop()
    end = loop.time() + duration
    while loop.time() < end:
        try:
            data = await topic.next(flush=False, timeout=max(0.01, end - loop.time()))
        except TimeoutError:
            break
        stamps.append((data.private_sndStamp, data.private_rcvStamp))
    return stamps


def jitter(stamps: list[float]) -> tuple[float, float, int]:
    """Return (max, p99, number) of |interval - 1 s|."""
    deviations = [abs(b - a - 1.0) for a, b in zip(stamps, stamps[1:], strict=False)]
    if not deviations:
        return float("nan"), float("nan"), 0
    return max(deviations), percentile(deviations, 0.99), len(deviations)


class Load:
    """Keep NUM_IN_FLIGHT commands outstanding until stopped."""

    def __init__(self, remotes: list[salkit.Remote]) -> None:
        self.remotes = remotes
        self.samples: list[int] = []
        self.rate = 0.0
        self.running = True
        self.completed = 0
        self.failed = 0
        self.outstanding = 0
        self.max_outstanding = 0
        self.failures: collections.Counter[str] = collections.Counter()

    async def worker(self, remote: salkit.Remote, command: str) -> None:
        cmd = getattr(remote, f"cmd_{command}")
        while self.running:
            self.outstanding += 1
            self.max_outstanding = max(self.max_outstanding, self.outstanding)
            try:
                if command == "wait":
                    await cmd.set_start(ack=0, duration=random.uniform(0.5, 1.5), timeout=10)
                    self.outstanding -= 1
                    # Think time: spreads the re-sends, so that the acks of
                    # waits that ended during one event-loop stall do not come
                    # back as a burst of >100 wait commands (the CSC's queue).
                    await asyncio.sleep(random.uniform(0, WAIT_THINK_TIME))
                    self.outstanding += 1
                elif command == "setLogLevel":
                    await cmd.set_start(level=20, timeout=10)
                else:
                    await cmd.start(timeout=10)
                self.completed += 1
            except salkit.AckError as e:
                self.failed += 1
                self.failures[f"{command}: {e}"[:120]] += 1
            finally:
                self.outstanding -= 1

    async def sample_outstanding(self) -> None:
        """Record the number of commands in flight every 10 ms."""
        while self.running:
            self.samples.append(self.outstanding)
            await asyncio.sleep(0.01)

    async def start(self) -> list[asyncio.Task[None]]:
        """Start the workers, in batches of 50 (a burst of more than 100 of
        one command would overflow the CSC's queue before its callback loop runs)."""
        commands = [c for c in SERIAL_COMMANDS for _ in range(MAX_OUTSTANDING_PER_SERIAL_COMMAND)]
        commands += ["wait"] * (NUM_IN_FLIGHT + EXTRA_WAIT_WORKERS - len(commands))
        random.shuffle(commands)
        tasks = []
        for n, command in enumerate(commands):
            tasks.append(asyncio.create_task(self.worker(self.remotes[n % len(self.remotes)], command)))
            if n % 50 == 49:
                await asyncio.sleep(0.02)
        return tasks


async def run_load(duration: float, stop: threading.Event | None = None) -> Load:
    """Keep the load on TestCsc:1 for ``duration`` s (after a 1 s ramp-up) or
    until ``stop`` is set (a `threading.Event`, so it could also run in
    another thread); return the Load with its statistics."""
    domains = [salkit.Domain() for _ in range(NUM_REMOTES)]
    remotes = [salkit.Remote(domain, "Test", 1, include=[]) for domain in domains]
    try:
        await asyncio.gather(*[remote.start_task for remote in remotes])
        load = Load(remotes)
        tasks = await load.start()
        await asyncio.sleep(1.0)  # ramp-up
        completed0 = load.completed
        sampler = asyncio.create_task(load.sample_outstanding())
        t0 = time.monotonic()
        while time.monotonic() - t0 < duration and not (stop is not None and stop.is_set()):
            await asyncio.sleep(0.05)
        load.rate = (load.completed - completed0) / (time.monotonic() - t0)
        load.running = False
        await asyncio.wait_for(asyncio.gather(sampler, *tasks), 30)
        return load
    finally:
        for remote in remotes:
            await remote.close()
        for domain in domains:
            await domain.close()


def print_jitter(label: str, stamps: list[tuple[float, float]]) -> dict[str, float]:
    result = {}
    for which, index in (("sndStamp", 0), ("rcvStamp", 1)):
        max_dev, p99_dev, n = jitter([s[index] for s in stamps])
        result[which] = max_dev
        print(f"  {label + ' (' + which + ')':36} {max_dev:12.4f} {p99_dev:12.4f} {n:10d}")
    return result


async def bench_heartbeat(config_dir: str, idle: float, loaded: float) -> None:
    csc = TestCsc(index=1, config_dir=config_dir, initial_state=salkit.State.ENABLED)
    csc.cmd_wait.allow_multiple_callbacks = True  # type: ignore[attr-defined]
    async with salkit.Domain() as domain:
        remote = salkit.Remote(domain, "Test", 1, include=["heartbeat"])
        try:
            await asyncio.gather(csc.start_task, remote.start_task)
            csc.log.setLevel("WARNING")  # no logMessage per setLogLevel command
            print(
                f"Heartbeat of TestCsc: {idle:.0f} s idle, then {loaded:.0f} s with {NUM_IN_FLIGHT} commands "
                "in flight (senders in the CSC's own event loop: the memory transport is in-process)"
            )
            cpu = CpuShare()
            idle_stamps = await collect_heartbeats(remote, idle)
            idle_cpu = cpu.share()

            stop = threading.Event()
            same_loop_load = asyncio.create_task(run_load(loaded + 5, stop))
            await asyncio.sleep(1.0)
            cpu = CpuShare()
            same_loop_stamps = await collect_heartbeats(remote, loaded)
            loaded_cpu = cpu.share()
            stop.set()
            same_loop_result = await same_loop_load
        finally:
            await remote.close()
            await csc.close()

    print(f"  {'':36} {'max dev (s)':>12} {'p99 dev (s)':>12} {'intervals':>10}")
    idle_result = print_jitter("idle", idle_stamps)
    print(f"      CPU used by this process: {idle_cpu:.0%} of one core")
    for label, stamps, load in (("1000 commands in flight", same_loop_stamps, same_loop_result),):
        result = print_jitter(label, stamps)
        print(
            f"      CPU used by this process: {loaded_cpu:.0%} of one core "
            "(well below 100% means the machine starved the event loop)"
        )
        for which in ("sndStamp", "rcvStamp"):
            ratio = result[which] / idle_result[which] if idle_result[which] > 0 else float("inf")
            verdict = "< 0.2 s: OK" if result[which] < JITTER_LIMIT else ">= 0.2 s: TOO LATE"
            print(
                f"      {which}: loaded/idle max ratio {ratio:7.1f}; loaded max {result[which]:.4f} s {verdict}"
            )
        print(
            f"      load: {load.rate:.0f} commands/s completed; in flight: mean "
            f"{statistics.mean(load.samples):.0f}, min {min(load.samples)}, max {load.max_outstanding}; "
            f"failed {load.failed}"
        )
        for failure, count in load.failures.most_common(5):
            print(f"        {count} x {failure}")


async def round_trips(remote: salkit.Remote, num: int, in_flight: int) -> tuple[float, list[float]]:
    """Send ``num`` setScalars with ``in_flight`` outstanding; return (rate, latencies)."""
    latencies: list[float] = []
    queue = list(range(num))

    async def sender() -> None:
        while queue:
            i = queue.pop()
            t0 = time.perf_counter()
            await remote.cmd_setScalars.set_start(int0=i, timeout=60)  # type: ignore[attr-defined]
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*[sender() for _ in range(in_flight)])
    return num / (time.perf_counter() - t0), latencies


async def bench_commands(config_dir: str, num: int) -> None:
    print(f"\nCommand round trip, setScalars x {num} (Remote -> controller -> final ack)")
    print(f"  {'':34} {'cmd/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    rates: dict[tuple[str, int], float] = {}
    for label, index in (("TestCsc (full CSC)", 2), ("bare Controller (reference)", 3)):
        controller: salkit.Controller
        if index == 2:
            controller = TestCsc(index=index, config_dir=config_dir, initial_state=salkit.State.ENABLED)
        else:
            controller = ReferenceController(index)
        async with salkit.Domain() as domain:
            remote = salkit.Remote(domain, "Test", index, include=["summaryState"])
            await asyncio.gather(controller.start_task, remote.start_task)
            try:
                await round_trips(remote, 50, 1)  # warm up
                for in_flight in (1, 50):
                    rate, latencies = await round_trips(remote, num, in_flight)
                    rates[(label, in_flight)] = rate
                    print(
                        f"  {label + f', {in_flight} in flight':34} {rate:8.0f} "
                        f"{percentile(latencies, 0.5) * 1e3:8.3f} {percentile(latencies, 0.99) * 1e3:8.3f}"
                    )
            finally:
                await remote.close()
                await controller.close()
    for in_flight in (1, 50):
        ratio = rates[("TestCsc (full CSC)", in_flight)] / rates[("bare Controller (reference)", in_flight)]
        print(f"  full CSC / bare Controller rate, {in_flight} in flight: {ratio:5.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=8.0, help="Seconds of idle heartbeats.")
    parser.add_argument("--loaded", type=float, default=12.0, help="Seconds of heartbeats under load.")
    parser.add_argument("--commands", type=int, default=3000, help="Commands per round-trip measurement.")
    args = parser.parse_args()
    print(
        f"Load average of the machine (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}; CPUs: {os.cpu_count()}"
    )
    os.environ["LSST_TOPIC_SUBNAME"] = f"bench_{uuid.uuid4().hex[:8]}"
    os.environ.setdefault("LSST_SITE", "bench")
    with tempfile.TemporaryDirectory() as config_dir:
        with open(os.path.join(config_dir, "_init.yaml"), "w") as f:
            yaml.safe_dump(CONFIG, f)
        await bench_heartbeat(config_dir, args.idle, args.loaded)
        await bench_commands(config_dir, args.commands)


if __name__ == "__main__":
    asyncio.run(main())
