"""``workerStatus``: a Remote sees the local pool's processes at enable, and a Redis
worker join and, after SIGKILL, be lost (also in ``logMessage`` and ``archiverHealth``)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsst.daf.butler import Butler
from lsst.ts import salkit

from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.testing import (
    STD_TIMEOUT,
    TemporaryRedis,
    running_archiver,
    wait_until,
    write_config_dir,
)

WORKER = Path(__file__).parents[3] / "bin" / "run_archiver_worker"
LEASE = 2.0
IMAGE = "CC_O_20261123_000011"


def raw_count(repo: Path) -> int:
    butler = Butler.from_config(str(repo), collections=["LSSTComCam/raw/all"])
    try:
        return len(list(butler.query_datasets("raw", instrument="LSSTComCam", limit=None, explain=False)))
    finally:
        butler.close()


class Samples:
    """Every sample of some topics of a Remote, through callbacks."""

    def __init__(self, remote: salkit.Remote, *names: str) -> None:
        self.of: dict[str, list[Any]] = {name: [] for name in names}
        for name in names:
            getattr(remote, name).callback = self.of[name].append

    async def wait_for(self, name: str, what: str, **fields: object) -> Any:
        """Wait for a sample of topic ``name`` with these field values; return it."""

        def found() -> Any:
            for sample in self.of[name]:
                if all(getattr(sample, k) == v for k, v in fields.items()):
                    return sample
            return None

        return await wait_until(found, what=what)

    def messages(self) -> list[str]:
        return [s.message for s in self.of["evt_logMessage"]]


async def test_a_remote_sees_the_local_pool_s_processes_at_enable(tmp_path: Path) -> None:
    EmulatedDaqStore(tmp_path / "daq", "lat").close()
    config_dir = write_config_dir("ATArchiver", tmp_path)
    async with running_archiver("ATArchiver", config_dir, initial_state=salkit.State.STANDBY) as (
        csc,
        remote,
        _log,
    ):
        samples = Samples(remote, "evt_workerStatus", "evt_logMessage")
        await salkit.set_summary_state(remote, salkit.State.ENABLED)
        statuses = await wait_until(
            lambda: samples.of["evt_workerStatus"] if len(samples.of["evt_workerStatus"]) >= 2 else None,
            what="workerStatus of the 2 local capture processes",
        )
        assert csc.runtime is not None and csc.runtime.pool.workers_alive == 2
        assert len({s.pid for s in statuses}) == 2
        for status in statuses:
            assert (status.host, status.role, status.state) == (socket.gethostname(), "capture", "alive")
            assert (status.tasksDone, status.tasksFailed) == (0, 0)
        for status in statuses:
            await wait_until(
                lambda pid=status.pid: f"Capture worker process {pid} started" in samples.messages(),
                what=f"logMessage of process {status.pid}",
            )


@pytest.fixture
def worker_command(redis_server: TemporaryRedis) -> list[str]:
    return [
        sys.executable,
        str(WORKER),
        f"--redis-url={redis_server.url}",
        "--task-stream=archiver:CCArchiver:capture:tasks",
        "--result-stream=archiver:CCArchiver:capture:results",
        "--worker-group=capture-workers",
        f"--lease={LEASE}",
        "--name=w1",
    ]


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@pytest.mark.integration  # redis-server and a worker process
async def test_a_remote_sees_a_redis_worker_join_and_be_lost_after_sigkill(
    tmp_path: Path,
    redis_server: TemporaryRedis,
    worker_command: list[str],
    processes: list[subprocess.Popen[bytes]],
) -> None:
    EmulatedDaqStore(tmp_path / "daq", "comcam").close()
    capture = {
        "backend": "redis",
        "redis_url": redis_server.url,
        "task_stream": "archiver:CCArchiver:capture:tasks",
        "result_stream": "archiver:CCArchiver:capture:results",
        "worker_group": "capture-workers",
        "lease": LEASE,
    }
    config_dir = write_config_dir("CCArchiver", tmp_path, capture=capture)
    async with running_archiver("CCArchiver", config_dir) as (_csc, remote, _log):
        samples = Samples(remote, "evt_workerStatus", "evt_logMessage", "tel_archiverHealth")
        with open(tmp_path / "w1.log", "ab") as log:
            worker = subprocess.Popen(worker_command, stdout=log, stderr=subprocess.STDOUT)
        processes.append(worker)
        joined = await samples.wait_for("evt_workerStatus", "w1 to join", pid=worker.pid, state="idle")
        assert (joined.host, joined.role, joined.tasksDone, joined.tasksFailed) == (
            socket.gethostname(),
            "capture",
            0,
            0,
        )
        await samples.wait_for("tel_archiverHealth", "workersAlive 1", workersAlive=1)
        await wait_until(
            lambda: any(m.startswith("Capture worker w1 joined") for m in samples.messages()),
            what="logMessage of w1's join",
        )
        worker.send_signal(signal.SIGKILL)
        await samples.wait_for("evt_workerStatus", "w1 to be lost", pid=worker.pid, state="lost")
        await wait_until(
            lambda: any(m.startswith("Capture worker w1 lost") for m in samples.messages()),
            what="logMessage of w1's loss",
        )
        health = samples.of["tel_archiverHealth"]
        count = len(health)
        await wait_until(
            lambda: any(h.workersAlive == 0 for h in health[count:]), what="workersAlive 0 after the loss"
        )


@pytest.mark.integration  # redis-server, PostgreSQL and a worker process
async def test_a_worker_with_role_both_captures_delivers_and_is_seen_in_both_roles(
    tmp_path: Path,
    redis_server: TemporaryRedis,
    postgres_database: Callable[[], str],
    worker_command: list[str],
    processes: list[subprocess.Popen[bytes]],
) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "comcam")
    await asyncio.to_thread(store.add_image, IMAGE, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    capture = {
        "backend": "redis",
        "redis_url": redis_server.url,
        "task_stream": "archiver:CCArchiver:capture:tasks",
        "result_stream": "archiver:CCArchiver:capture:results",
        "worker_group": "capture-workers",
        "lease": LEASE,
    }
    config_dir = write_config_dir("CCArchiver", tmp_path, capture=capture, ledger_url=postgres_database())
    async with running_archiver("CCArchiver", config_dir) as (_csc, remote, log):
        samples = Samples(remote, "evt_workerStatus", "evt_logMessage", "tel_archiverHealth")
        command = [*worker_command, "--role=both", f"--config={config_dir / '_test.yaml'}"]
        with open(tmp_path / "w1.log", "ab") as output:
            worker = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        processes.append(worker)
        for role in ("capture", "delivery"):
            joined = await samples.wait_for(
                "evt_workerStatus", f"w1 to join as {role}", pid=worker.pid, role=role, state="idle"
            )
            assert (joined.host, joined.tasksDone, joined.tasksFailed) == (socket.gethostname(), 0, 0)
            await wait_until(
                lambda role=role: any(
                    m.startswith(f"{role.capitalize()} worker w1 joined") for m in samples.messages()
                ),
                what=f"logMessage of w1's join as {role}",
            )
        await samples.wait_for("tel_archiverHealth", "workersAlive 2", workersAlive=2)

        await remote.cmd_archiveImage.set_start(imageName=IMAGE, priority=0, timeout=STD_TIMEOUT)
        [archived] = await log.wait_for("evt_imageArchived", 1)
        assert (archived.statusCode, archived.archivedSensors) == (0, 9)
        # w1 is the only capture worker: it captured all three ComCam sources (REBs).
        await samples.wait_for("evt_workerStatus", "w1 to report 3 captures", role="capture", tasksDone=3)

        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, STD_TIMEOUT) == 0, (tmp_path / "w1.log").read_text()
        for role in ("capture", "delivery"):
            await samples.wait_for("evt_workerStatus", f"w1 to leave as {role}", role=role, state="lost")
        health = samples.of["tel_archiverHealth"]
        count = len(health)
        await wait_until(lambda: any(h.workersAlive == 0 for h in health[count:]), what="workersAlive 0")
    for repo in ("repo-oods", "repo-dbb"):
        assert await asyncio.to_thread(raw_count, tmp_path / repo) == 9
