"""The capture pools report their workers (`WorkerStatus`): joins, changes and losses,
with real ``redis-server`` and ``run_archiver_worker`` processes, and the local pool's processes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lsst.ts.archiver.camera import LATISS
from lsst.ts.archiver.capture import (
    CaptureOptions,
    CaptureStatus,
    CaptureTask,
    LocalCapturePool,
    RedisCapturePool,
    RedisQueueNames,
    WorkerStatus,
)
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.fits import ExposureMetadata
from lsst.ts.archiver.testing import STD_TIMEOUT, TemporaryRedis, wait_until

pytestmark = pytest.mark.integration  # redis-server and worker processes

NAME = "AT_O_20261123_000007"
LEASE = 2.0
WORKER = Path(__file__).parents[3] / "bin" / "run_archiver_worker"
NAMES = RedisQueueNames(
    task_stream="archiver:status:capture:tasks",
    result_stream="archiver:status:capture:results",
    worker_group="capture-workers",
    result_group="archiver",
)
_log = logging.getLogger(__name__)


class StatusLog:
    """The pool's ``on_worker_status`` callback: every status, in order."""

    def __init__(self) -> None:
        self.statuses: list[WorkerStatus] = []

    async def __call__(self, status: WorkerStatus) -> None:
        self.statuses.append(status)

    async def wait_for(self, what: str, pid: int, state: str, **fields: object) -> WorkerStatus:
        """Wait for a status of process ``pid`` in ``state`` (and with ``fields``)."""

        def found() -> WorkerStatus | None:
            for status in self.statuses:
                if (
                    status.pid == pid
                    and status.state == state
                    and all(getattr(status, k) == v for k, v in fields.items())
                ):
                    return status
            return None

        return await wait_until(found, what=what)


@pytest.fixture
def worker(redis_server: TemporaryRedis, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """One ``run_archiver_worker`` process on the test's Redis."""
    with open(tmp_path / "w1.log", "ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                f"--redis-url={redis_server.url}",
                f"--task-stream={NAMES.task_stream}",
                f"--result-stream={NAMES.result_stream}",
                f"--worker-group={NAMES.worker_group}",
                f"--lease={LEASE}",
                "--name=w1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def latiss_task(tmp_path: Path) -> CaptureTask:
    """The one task of a LATISS image in a real emulated DAQ store."""
    store = EmulatedDaqStore(tmp_path / "daq", "lat")
    store.add_image(NAME, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    detector = LATISS.detectors[0]
    return CaptureTask(
        options=CaptureOptions(
            daq_root=str(tmp_path / "daq"), partition="lat", folder="raw", staging=str(tmp_path / "staging")
        ),
        obsid=NAME,
        location=str(LATISS.reb_for(detector).location),
        detectors=(detector.name,),
        metadata=ExposureMetadata(obsid=NAME, imgtype="FLAT", exptime=1.0),
    )


async def test_redis_pool_reports_a_worker_s_join_tasks_and_loss(
    redis_server: TemporaryRedis,
    worker: subprocess.Popen[bytes],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=_log.name)
    statuses = StatusLog()
    pool = RedisCapturePool(
        redis_server.url, NAMES, lease=LEASE, no_worker_timeout=60.0, log=_log, on_worker_status=statuses
    )
    await pool.start()
    try:
        joined = await statuses.wait_for("w1 to join", worker.pid, "idle")
        assert (joined.name, joined.host, joined.role) == ("w1", socket.gethostname(), "capture")
        assert (joined.tasks_done, joined.tasks_failed) == (0, 0)
        assert pool.workers_alive == 1
        outcome = await asyncio.wait_for(pool.run(latiss_task(tmp_path)), STD_TIMEOUT)
        assert [d.status for d in outcome.detectors] == [CaptureStatus.OK]
        await statuses.wait_for("w1 idle after its task", worker.pid, "idle", tasks_done=1, tasks_failed=0)
        worker.send_signal(signal.SIGKILL)
        lost = await statuses.wait_for("w1 to be lost", worker.pid, "lost")
        assert (lost.name, lost.tasks_done) == ("w1", 1)
        assert statuses.statuses[-1] == lost
        assert pool.workers_alive == 0
    finally:
        await pool.close()
    messages = [r.getMessage() for r in caplog.records if r.name == _log.name]
    assert any(m.startswith("Capture worker w1 joined") for m in messages), messages
    assert any(m.startswith("Capture worker w1 lost") for m in messages), messages


async def test_local_pool_reports_its_processes_at_start_and_when_one_dies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=_log.name)
    statuses = StatusLog()
    pool = LocalCapturePool(workers=2, log=_log, on_worker_status=statuses)
    await pool.start()
    try:
        assert len(statuses.statuses) == 2  # reported by start itself
        pids = {s.pid for s in statuses.statuses}
        assert len(pids) == 2 and os.getpid() not in pids
        for status in statuses.statuses:
            assert (status.host, status.role, status.state) == (socket.gethostname(), "capture", "alive")
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        lost = await statuses.wait_for("the killed process to be lost", victim, "lost")
        assert lost.name == f"{socket.gethostname()}-{victim}"
    finally:
        await pool.close()
    messages = [r.getMessage() for r in caplog.records if r.name == _log.name]
    assert f"Capture worker process {victim} started" in messages, messages
    assert any(m.startswith(f"Capture worker process {victim} lost") for m in messages), messages
