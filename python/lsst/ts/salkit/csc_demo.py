"""End-to-end demonstration of a CSC: the TestCsc commanded by a CscCommander.

Everything runs in one process on the in-memory transport:
``python -m lsst.ts.salkit.csc_demo``. (Before the Archiver existed,
``make demo`` ran this.)
"""

from __future__ import annotations

__all__ = ["DEMO_COMMANDS", "main", "run_demo"]

import asyncio
import collections
import os
import pathlib
import sys
import tempfile
import time
import typing

import yaml

from .csc_commander import CscCommander
from .enums import State
from .test_csc import TestCsc

#: Default configuration of the demonstration (written to a temporary directory).
DEMO_INIT_CONFIG: dict[str, typing.Any] = {
    "string0": "demo default",
    "bool0": True,
    "int0": 1,
    "float0": 1.5,
    "intarr0": [1, 2, 3],
    "multi_type": None,
}

#: Override file of the demonstration.
DEMO_OVERRIDE = ("demo.yaml", {"string0": "from the demo override", "int0": 42})

#: Command lines the demonstration sends, in order (commander syntax).
DEMO_COMMANDS = (
    "start demo.yaml",
    "enable",
    "setScalars t 1 2 3 4 5 6 7 1.25 2.5 hello",
    "setArrays 1,0,1,0,1 1,2,3,4,5 1,2,3,4,5 1,2,3,4,5 1,2,3,4,5 1,2,3,4,5 1,2,3,4,5 1,2,3,4,5 0.5,1,1.5,2,2.5 1,2,3,4,5",
    "wait 301 0.3",
    "wait -302 0",
    "fault",
    "standby",
    "start",
    "enable",
    "disable",
    "standby",
)


def _write_config_dir(path: pathlib.Path) -> None:
    (path / "_init.yaml").write_text(yaml.safe_dump(DEMO_INIT_CONFIG))
    name, values = DEMO_OVERRIDE
    (path / name).write_text(yaml.safe_dump(values))


async def run_demo(out: typing.TextIO = sys.stdout) -> int:
    """Run the demonstration, printing to ``out``; return an exit code (0: success)."""

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    say("=" * 78)
    say("The Archiver CSC does not exist yet. This demonstration runs the salkit")
    say("demonstration CSC (TestCsc, component Test:1) and a CscCommander in one")
    say("process on the in-memory transport, and walks it through its states.")
    say("=" * 78)
    os.environ.setdefault("LSST_SITE", "demo")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="salkit_demo_config_") as config_dir:
        _write_config_dir(pathlib.Path(config_dir))
        csc = TestCsc(index=1, config_dir=config_dir)
        commander = CscCommander(name="Test", index=1, testing=True)
        event_counts: collections.Counter[str] = collections.Counter()
        outcomes: list[tuple[str, bool, float]] = []
        try:
            await asyncio.gather(csc.start_task, commander.start())

            def flush_output() -> None:
                while commander.output_queue:
                    line = commander.output_queue.popleft()
                    parts = line.split(": ", 2)
                    if len(parts) == 3 and parts[0].replace(".", "").isdigit():
                        event_counts[parts[1]] += 1
                    say(f"    {line}")

            await asyncio.sleep(0.05)
            flush_output()
            for command in DEMO_COMMANDS:
                say(f"> {command}")
                t_cmd = time.monotonic()
                await commander.run_command(command)
                elapsed = time.monotonic() - t_cmd
                await asyncio.sleep(0.02)  # let the events of the command arrive
                lines = list(commander.output_queue)
                failed = any(line.startswith(f"Command {command.split()[0]} failed") for line in lines)
                outcomes.append((command.split()[0], not failed, elapsed))
                flush_output()
            final_state = csc.summary_state
        finally:
            await commander.close()
            await csc.close()
    say("-" * 78)
    say("Summary")
    num_ok = sum(ok for _, ok, _ in outcomes)
    say(f"  commands sent: {len(outcomes)}, succeeded: {num_ok}, failed: {len(outcomes) - num_ok}")
    say("  (wait -302 fails on purpose: it shows a command raising an exception)")
    say("  events seen: " + ", ".join(f"{name}={count}" for name, count in sorted(event_counts.items())))
    say(f"  final summary state: {final_state!r}")
    say(f"  elapsed: {time.monotonic() - t0:0.2f} s")
    expected_failures = {"wait"}
    unexpected = [name for name, ok, _ in outcomes if not ok and name not in expected_failures]
    if final_state != State.STANDBY or unexpected:
        say(f"DEMO FAILED: final state {final_state!r}, unexpected failures {unexpected}")
        return 1
    say("Demo finished: the CSC is back in STANDBY.")
    return 0


def main() -> int:
    """Run the demonstration; return the exit code."""
    return asyncio.run(run_demo())


if __name__ == "__main__":
    sys.exit(main())
