"""Several delivery processes on one PostgreSQL ledger: every item delivered and ingested once.

Real processes (``delivery_process_child.py``, and ``run_archiver_worker
--role delivery``) claim items from a throwaway PostgreSQL ledger with
renewable leases; the Butler registry is on PostgreSQL too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from delivery_test_support import FAST_RETRY, Exposure, ledger_runner

from lsst.ts.archiver.butler import create_repository, open_repository, raw_run
from lsst.ts.archiver.delivery import DeliveryService, destinations_from_config
from lsst.ts.archiver.ledger import DeliveryStage, Ledger
from lsst.ts.archiver.testing import wait_until_sync

CHILD = Path(__file__).with_name("delivery_process_child.py")
WORKER_SCRIPT = Path(__file__).parents[3] / "bin" / "run_archiver_worker"


class Processes:
    """Delivery processes started by a test; any still running at the end are killed."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[subprocess.Popen[bytes]] = []
        self.logs: dict[int, Path] = {}

    def start(self, command: Sequence[str]) -> subprocess.Popen[bytes]:
        log = self.tmp_path / f"process-{len(self.started)}.log"
        with open(log, "wb") as stderr:
            process = subprocess.Popen(list(command), stderr=stderr)
        self.started.append(process)
        self.logs[process.pid] = log
        return process

    def child(self, name: str, ledger_url: str, destinations: list[dict[str, Any]], **spec: Any) -> Path:
        """Start ``delivery_process_child.py``; return its record file."""
        record = self.tmp_path / f"{name}.record"
        record.touch()
        path = self.tmp_path / f"{name}.json"
        path.write_text(
            json.dumps(
                {"ledger_url": ledger_url, "destinations": destinations, "name": name, "record": str(record)}
                | spec
            )
        )
        self.start([sys.executable, str(CHILD), str(path)])
        return record

    def log(self, process: subprocess.Popen[bytes]) -> str:
        return self.logs[process.pid].read_text()

    def delivering(self) -> bool:
        """Every running process has started delivering (it logged so)."""
        return self.alive() and all(
            "delivers to" in self.log(p) for p in self.started if p.returncode is None
        )

    def alive(self) -> bool:
        """Every process not deliberately stopped is running (else fail with its log)."""
        for process in self.started:
            if process.returncode is None and process.poll() is not None:
                raise AssertionError(
                    f"delivery process exited with {process.returncode}:\n{self.log(process)}"
                )
        return True

    def terminate(self, process: subprocess.Popen[bytes]) -> int:
        """Stop with SIGTERM; it must exit cleanly (0)."""
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        assert process.returncode == 0, self.log(process)
        return process.returncode

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


def configurations(tmp_path: Path, registry: str, *, lease: float) -> list[dict[str, Any]]:
    """A DBB with a Butler (registry on PostgreSQL, created here) and a plain copy."""
    (tmp_path / "dbb").mkdir()
    (tmp_path / "copy").mkdir()
    create_repository(tmp_path / "repo", db=registry, instruments=["LSSTComCam"]).close()
    return [
        {
            "name": "dbb",
            "role": "dbb",
            "target": str(tmp_path / "dbb"),
            "retry": FAST_RETRY,
            "lease": lease,
            "butler": {"repo": str(tmp_path / "repo")},
        },
        {
            "name": "copy",
            "role": "copy",
            "target": str(tmp_path / "copy"),
            "retry": FAST_RETRY,
            "lease": lease,
        },
    ]


async def queue(ledger: Ledger, configs: list[dict[str, Any]], exposures: Sequence[Exposure]) -> None:
    """Record the exposures as the CSC does (this service is never started: it only queues)."""
    with ledger_runner(ledger) as runner:
        service = DeliveryService(runner, destinations_from_config(configs))
        for exposure in exposures:
            await service.register_image(
                exposure.obsid,
                camera=exposure.instrument,
                day_obs=exposure.day_obs,
                expected=exposure.expected,
            )
            await service.manifest_written(exposure.obsid, str(exposure.manifest))
            for detector, path in exposure.files.items():
                await service.file_written(exposure.obsid, detector, str(path))


def all_done(ledger: Ledger, processes: Processes) -> bool:
    processes.alive()
    return all(d.stage is DeliveryStage.DONE for d in ledger.deliveries())


def records(*paths: Path) -> list[tuple[str, ...]]:
    return [tuple(line.split()) for path in paths for line in path.read_text().splitlines()]


def check_delivered_once(tmp_path: Path, ledger: Ledger, exposures: Sequence[Exposure]) -> None:
    """Every file at each destination once, every raw in the Butler once, every ledger row done."""
    files = sum(len(e.files) for e in exposures)
    deliveries = ledger.deliveries()
    assert len(deliveries) == 2 * (files + len(exposures))
    assert {(d.stage, d.status_code, d.claimed_by) for d in deliveries} == {(DeliveryStage.DONE, 0, None)}
    for target in ("dbb", "copy"):
        assert len(list((tmp_path / target).rglob("*.fits"))) == files
    butler = open_repository(tmp_path / "repo", writeable=False)
    refs = butler.query_datasets("raw", collections=raw_run("LSSTComCam"), instrument="LSSTComCam")
    butler.close()
    assert len(refs) == files
    assert len({(ref.dataId["exposure"], ref.dataId["detector"]) for ref in refs}) == files


async def test_two_delivery_processes_deliver_and_ingest_every_item_exactly_once(
    tmp_path: Path,
    postgres_database: Callable[[], str],
    exposure_factory: Callable[..., Exposure],
    processes: Processes,
) -> None:
    ledger_url = postgres_database()
    configs = configurations(tmp_path, postgres_database(), lease=30.0)
    exposures = [exposure_factory(seq_num=n) for n in range(1, 5)]
    with Ledger(ledger_url) as ledger:
        record_a = processes.child("a", ledger_url, configs, transfer_delay=0.05)
        record_b = processes.child("b", ledger_url, configs, transfer_delay=0.05)
        wait_until_sync(processes.delivering, what="both processes to start delivering")
        await queue(ledger, configs, exposures)
        wait_until_sync(lambda: all_done(ledger, processes), what="every item delivered")
        check_delivered_once(tmp_path, ledger, exposures)
        # Each item claimed once per stage (a Butler destination's raws twice: transfer, ingest).
        assert {d.attempts for d in ledger.deliveries()} == {1, 2}
        assert {d.attempts for d in ledger.deliveries() if d.item == "expectedSensors"} == {1}
        assert {d.attempts for d in ledger.deliveries() if d.destination == "copy"} == {1}
    for process in processes.started:
        processes.terminate(process)
    done = records(record_a, record_b)
    assert Counter(Counter(done).values()) == {1: len(done)}  # no transfer or ingest twice
    transfers = [r for r in done if r[0] == "transfer"]
    ingests = [r for r in done if r[0] == "ingest"]
    assert len(transfers) == 2 * sum(len(e.files) + 1 for e in exposures)
    assert len(ingests) == sum(len(e.files) for e in exposures)
    # Both processes did work.
    assert records(record_a) and records(record_b)


async def test_a_transfer_longer_than_the_lease_is_not_taken_over_while_renewed(
    tmp_path: Path,
    postgres_database: Callable[[], str],
    exposure_factory: Callable[..., Exposure],
    processes: Processes,
) -> None:
    ledger_url = postgres_database()
    configs = configurations(tmp_path, postgres_database(), lease=1.0)
    exposure = exposure_factory(detectors=["R22_S00", "R22_S01", "R22_S11"])
    marker = tmp_path / "slow-started"
    slow = {"destination": "dbb", "item": "R22_S11", "seconds": 4.0, "marker": str(marker)}
    with Ledger(ledger_url) as ledger:
        record_a = processes.child("a", ledger_url, configs, slow=slow)
        await queue(ledger, configs, [exposure])
        wait_until_sync(lambda: processes.alive() and marker.exists(), what="the slow transfer to start")
        # The other process starts while the slow transfer holds its claim
        # and runs four times longer than the lease.
        record_b = processes.child("b", ledger_url, configs)
        wait_until_sync(lambda: all_done(ledger, processes), what="every item delivered")
        check_delivered_once(tmp_path, ledger, [exposure])
        (slow_row,) = [d for d in ledger.deliveries() if (d.destination, d.item) == ("dbb", "R22_S11")]
        assert slow_row.attempts == 2  # its transfer and its ingest: never claimed by the other process
    for process in processes.started:
        processes.terminate(process)
    done = records(record_a, record_b)
    assert Counter(Counter(done).values()) == {1: len(done)}
    assert ("transfer", "dbb", exposure.obsid, "R22_S11") in records(record_a)
    # b never transferred the slow item (its ingest, a later claim, may be b's or a's).
    assert ("transfer", "dbb", exposure.obsid, "R22_S11") not in records(record_b)


async def test_a_process_killed_mid_transfer_is_taken_over_after_the_lease_without_duplicates(
    tmp_path: Path,
    postgres_database: Callable[[], str],
    exposure_factory: Callable[..., Exposure],
    processes: Processes,
) -> None:
    ledger_url = postgres_database()
    configs = configurations(tmp_path, postgres_database(), lease=2.0)
    exposures = [exposure_factory(seq_num=n) for n in (1, 2)]
    marker = tmp_path / "hanging"
    hang = {
        "destination": "dbb",
        "item": "R22_S11",
        "image": exposures[0].obsid,
        "seconds": 3600.0,
        "marker": str(marker),
    }
    with Ledger(ledger_url) as ledger:
        processes.child("a", ledger_url, configs, slow=hang, transfer_delay=0.05)
        await queue(ledger, configs, exposures)
        wait_until_sync(lambda: processes.alive() and marker.exists(), what="a transfer to hang in a")
        # b starts while a holds the hanging item (renewing its claim).
        record_b = processes.child("b", ledger_url, configs, transfer_delay=0.05)
        killed = processes.started[0]
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
        assert killed.returncode == -signal.SIGKILL
        wait_until_sync(lambda: all_done(ledger, processes), what="every item delivered")
        check_delivered_once(tmp_path, ledger, exposures)
        hung_id = int(marker.read_text())
        (taken_over,) = [d for d in ledger.deliveries() if d.id == hung_id]
        assert taken_over.attempts == 3  # claimed by a, by b after a's lease, then b's ingest
    processes.terminate(processes.started[1])
    assert ("transfer", "dbb", taken_over.image, taken_over.item) in records(record_b)


async def test_run_archiver_worker_delivery_role_delivers_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
    postgres_database: Callable[[], str],
    exposure_factory: Callable[..., Exposure],
    processes: Processes,
) -> None:
    ledger_url = postgres_database()
    configs = configurations(tmp_path, postgres_database(), lease=30.0)
    config = tmp_path / "archiver.yaml"
    config.write_text(yaml.safe_dump({"ledger_url": ledger_url, "destinations": configs}))
    exposure = exposure_factory(detectors=["R22_S00", "R22_S01"])
    with Ledger(ledger_url) as ledger:
        worker = processes.start(
            [
                sys.executable,
                str(WORKER_SCRIPT),
                "--role",
                "delivery",
                "--config",
                str(config),
                "--poll-interval",
                "0.05",
            ]
        )
        await queue(ledger, configs, [exposure])
        wait_until_sync(lambda: all_done(ledger, processes), what="every item delivered")
        check_delivered_once(tmp_path, ledger, [exposure])
    assert processes.terminate(worker) == 0


def test_run_archiver_worker_refuses_a_role_without_its_options(tmp_path: Path) -> None:
    from lsst.ts.archiver.capture.redis_worker import main

    with pytest.raises(SystemExit):
        main(["--role", "delivery"])
    with pytest.raises(SystemExit):
        main(["--role", "both", "--config", str(tmp_path / "x.yaml")])
