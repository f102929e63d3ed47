"""Capture on Redis Streams with real ``redis-server`` and ``run_archiver_worker`` processes:
tasks reclaimed from killed and frozen workers, results once, Redis restarts, no worker."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from astropy.io import fits
from lsst.daf.butler import Butler
from lsst.ts import salkit

from lsst.ts.archiver.camera import LSST_COMCAM
from lsst.ts.archiver.capture import (
    CaptureOptions,
    CaptureStatus,
    CaptureTask,
    RedisCapturePool,
    RedisQueueNames,
    SourceOutcome,
    outcome_from_json,
    outcome_to_json,
    task_from_json,
    task_to_json,
)
from lsst.ts.archiver.daq import EmulatedDaqStore, PixelGenerator
from lsst.ts.archiver.error_codes import ArchiverFault, ErrorCode
from lsst.ts.archiver.fits import ExposureMetadata
from lsst.ts.archiver.testing import (
    STD_TIMEOUT,
    TemporaryRedis,
    running_archiver,
    wait_until,
    write_config_dir,
)

pytestmark = pytest.mark.integration  # redis-server and worker processes

NAME = "CC_O_20261123_000042"
LEASE = 2.0
WORKER = Path(__file__).parents[3] / "bin" / "run_archiver_worker"
NAMES = RedisQueueNames(
    task_stream="archiver:test:capture:tasks",
    result_stream="archiver:test:capture:results",
    worker_group="capture-workers",
    result_group="archiver",
)
_log = logging.getLogger(__name__)


class Workers:
    """``run_archiver_worker`` processes of one test, stopped at the end."""

    def __init__(self, url: str, log_dir: Path) -> None:
        self.url = url
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> subprocess.Popen[bytes]:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    str(WORKER),
                    f"--redis-url={self.url}",
                    f"--task-stream={NAMES.task_stream}",
                    f"--result-stream={NAMES.result_stream}",
                    f"--worker-group={NAMES.worker_group}",
                    f"--lease={LEASE}",
                    f"--name={name}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes[name] = process
        return process

    def signal(self, name: str, signum: int) -> None:
        os.kill(self.processes[name].pid, signum)

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
            process.wait(timeout=30)


@pytest.fixture
def workers(redis_server: TemporaryRedis, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(redis_server.url, tmp_path)
    yield group
    group.close()


@pytest.fixture
def tasks(tmp_path: Path) -> list[CaptureTask]:
    """One task per ComCam REB of an image in a real emulated DAQ store."""
    store = EmulatedDaqStore(tmp_path / "daq", "comcam")
    store.add_image(NAME, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    options = CaptureOptions(
        daq_root=str(tmp_path / "daq"), partition="comcam", folder="raw", staging=str(tmp_path / "staging")
    )
    return [
        CaptureTask(
            options=options,
            obsid=NAME,
            location=str(reb.location),
            detectors=tuple(d.name for d in reb.detectors),
            metadata=ExposureMetadata(obsid=NAME, imgtype="FLAT", exptime=1.0, extra={"FILTER": "r_03"}),
        )
        for reb in LSST_COMCAM.rebs
    ]


@pytest.fixture
async def pool(redis_server: TemporaryRedis) -> AsyncIterator[RedisCapturePool]:
    capture_pool = RedisCapturePool(redis_server.url, NAMES, lease=LEASE, no_worker_timeout=60.0, log=_log)
    await capture_pool.start()
    yield capture_pool
    await capture_pool.close()


def holders(url: str) -> dict[str, str]:
    """Task entry id -> the worker holding it (pending, not acknowledged)."""
    client = redis.Redis.from_url(url)
    try:
        pending: Any = client.xpending_range(
            NAMES.task_stream, NAMES.worker_group, min="-", max="+", count=100
        )
        return {p["message_id"].decode(): p["consumer"].decode() for p in pending}
    finally:
        client.close()


async def a_task_held(url: str, by: set[str] | None = None) -> tuple[str, str]:
    """Wait until a worker (of ``by``) holds a task; return (entry id, worker)."""

    def held() -> tuple[str, str] | None:
        for entry, worker in holders(url).items():
            if by is None or worker in by:
                return entry, worker
        return None

    return await wait_until(held, what="a worker to hold a task")


def assert_all_ok(outcomes: list[SourceOutcome], tasks: list[CaptureTask]) -> None:
    assert [o.location for o in outcomes] == [t.location for t in tasks]
    for outcome, task in zip(outcomes, tasks, strict=True):
        assert [d.name for d in outcome.detectors] == list(task.detectors)
        for detector in outcome.detectors:
            assert detector.status is CaptureStatus.OK, detector.description
            with fits.open(detector.path, checksum=True) as hdul:
                assert hdul[0].header["OBSID"] == NAME
                assert hdul[0].header["FILTER"] == "r_03"
                assert len(hdul) == 17


def test_tasks_and_outcomes_round_trip_through_json(tasks: list[CaptureTask]) -> None:
    task = tasks[0]
    assert task_from_json(task_to_json(task)) == task
    outcome = SourceOutcome(NAME, task.location, ())
    assert outcome_from_json(outcome_to_json(outcome)) == outcome


async def test_workers_capture_every_source_once(
    pool: RedisCapturePool, workers: Workers, tasks: list[CaptureTask], redis_server: TemporaryRedis
) -> None:
    for name in ("w1", "w2"):
        workers.start(name)
    await wait_until(lambda: pool.workers_alive == 2, what="2 workers alive")
    outcomes = await asyncio.wait_for(asyncio.gather(*(pool.run(t) for t in tasks)), STD_TIMEOUT)
    assert_all_ok(list(outcomes), tasks)
    assert pool.discarded == 0 and pool.tasks_pending == 0
    assert holders(redis_server.url) == {}


async def test_more_tasks_in_flight_than_redis_connections_wait_for_one_instead_of_failing(
    redis_server: TemporaryRedis, workers: Workers, tasks: list[CaptureTask], caplog: pytest.LogCaptureFixture
) -> None:
    # An LSSTCam image is 71 tasks; here 12 tasks share 3 connections.
    pool = RedisCapturePool(
        redis_server.url, NAMES, lease=LEASE, no_worker_timeout=60.0, log=_log, max_connections=3
    )
    await pool.start()
    try:
        workers.start("w1")
        await wait_until(lambda: pool.workers_alive == 1, what="1 worker alive")
        many = tasks * 4
        with caplog.at_level(logging.WARNING, logger=_log.name):
            outcomes = await asyncio.wait_for(asyncio.gather(*(pool.run(t) for t in many)), STD_TIMEOUT)
        assert [o.location for o in outcomes] == [t.location for t in many]
        assert all(d.status is CaptureStatus.OK for o in outcomes for d in o.detectors)
        assert not [r for r in caplog.records if "Cannot publish" in r.getMessage()]
    finally:
        await pool.close()


async def test_a_killed_worker_s_task_is_reclaimed_by_another(
    pool: RedisCapturePool, workers: Workers, tasks: list[CaptureTask], redis_server: TemporaryRedis
) -> None:
    for name in ("w1", "w2", "w3"):
        workers.start(name)
    await wait_until(lambda: pool.workers_alive == 3, what="3 workers alive")
    runs = asyncio.gather(*(pool.run(t) for t in tasks))
    entry, victim = await a_task_held(redis_server.url)
    workers.signal(victim, signal.SIGKILL)
    killed_at = time.monotonic()

    def reclaimed() -> bool:
        return holders(redis_server.url).get(entry, "") not in ("", victim) or entry not in holders(
            redis_server.url
        )

    await wait_until(reclaimed, what=f"task {entry} of killed {victim} to be reclaimed")
    print(
        f"SIGKILL of {victim} to reclaim of its task: {time.monotonic() - killed_at:.2f} s (lease {LEASE} s)"
    )
    outcomes = await asyncio.wait_for(runs, STD_TIMEOUT)
    assert_all_ok(list(outcomes), tasks)
    assert pool.discarded == 0
    await wait_until(lambda: pool.workers_alive == 2, what=f"{victim} to be counted lost")


async def test_with_every_worker_killed_the_task_waits_for_a_new_worker(
    pool: RedisCapturePool, workers: Workers, tasks: list[CaptureTask], redis_server: TemporaryRedis
) -> None:
    workers.start("w1")
    run = asyncio.ensure_future(pool.run(tasks[0]))
    await a_task_held(redis_server.url)
    workers.signal("w1", signal.SIGKILL)
    await wait_until(lambda: pool.workers_alive == 0, what="the killed worker to be counted lost")
    assert not run.done()
    pool.check()  # no FAULT before no_worker_timeout
    workers.start("w2")
    [outcome] = [await asyncio.wait_for(run, STD_TIMEOUT)]
    assert_all_ok([outcome], tasks[:1])


async def test_a_frozen_worker_s_late_result_is_discarded(
    pool: RedisCapturePool, workers: Workers, tasks: list[CaptureTask], redis_server: TemporaryRedis
) -> None:
    workers.start("w1")
    run = asyncio.ensure_future(pool.run(tasks[0]))
    await a_task_held(redis_server.url, by={"w1"})
    workers.signal("w1", signal.SIGSTOP)
    workers.start("w2")  # takes the task once w1 has been silent past the lease
    outcome = await asyncio.wait_for(run, STD_TIMEOUT)
    assert_all_ok([outcome], tasks[:1])
    workers.signal("w1", signal.SIGCONT)
    await wait_until(lambda: pool.discarded == 1, what="w1's late result to be discarded")
    assert pool.tasks_pending == 0
    assert holders(redis_server.url) == {}


async def test_a_redis_restart_mid_image_loses_nothing(
    pool: RedisCapturePool, workers: Workers, tasks: list[CaptureTask], redis_server: TemporaryRedis
) -> None:
    for name in ("w1", "w2"):
        workers.start(name)
    await wait_until(lambda: pool.workers_alive == 2, what="2 workers alive")
    runs = asyncio.gather(*(pool.run(t) for t in tasks))
    await a_task_held(redis_server.url)
    redis_server.kill()
    await asyncio.to_thread(redis_server.start)
    outcomes = await asyncio.wait_for(runs, STD_TIMEOUT)
    assert_all_ok(list(outcomes), tasks)


async def test_no_worker_for_too_long_while_work_waits_is_a_fault(
    redis_server: TemporaryRedis, tasks: list[CaptureTask]
) -> None:
    pool = RedisCapturePool(redis_server.url, NAMES, lease=LEASE, no_worker_timeout=1.0, log=_log)
    await pool.start()
    try:
        pool.check()  # nothing pending
        run = asyncio.ensure_future(pool.run(tasks[0]))

        def faulted() -> ArchiverFault | None:
            try:
                pool.check()
            except ArchiverFault as fault:
                return fault
            return None

        fault = await wait_until(faulted, what="NO_CAPTURE_WORKER")
        assert fault.code is ErrorCode.NO_CAPTURE_WORKER
        assert "no capture worker alive" in fault.report
        run.cancel()
    finally:
        await pool.close()


def raw_count(repo: Path) -> int:
    butler = Butler.from_config(str(repo), collections=["LSSTComCam/raw/all"])
    try:
        return len(list(butler.query_datasets("raw", instrument="LSSTComCam", limit=None, explain=False)))
    finally:
        butler.close()


@pytest.fixture
def csc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """LSST_SITE=test, the memory transport and a topic sub-name of the test's own
    (as in tests/archiver/csc/conftest.py)."""
    monkeypatch.setenv("LSST_SITE", "test")
    monkeypatch.setenv(salkit.TRANSPORT_ENV_VAR, "memory")
    monkeypatch.setenv(salkit.TOPIC_SUBNAME_ENV_VAR, salkit.make_test_topic_subname())


async def test_ccarchiver_on_redis_workers_archives_every_detector_once_when_a_worker_is_killed(
    tmp_path: Path, workers: Workers, redis_server: TemporaryRedis, csc_environment: None
) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "comcam")
    await asyncio.to_thread(store.add_image, NAME, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    capture = {
        "backend": "redis",
        "redis_url": redis_server.url,
        "task_stream": NAMES.task_stream,
        "result_stream": NAMES.result_stream,
        "worker_group": NAMES.worker_group,
        "lease": LEASE,
    }
    config_dir = write_config_dir("CCArchiver", tmp_path, capture=capture)
    for name in ("w1", "w2", "w3"):
        workers.start(name)
    async with running_archiver("CCArchiver", config_dir) as (csc, remote, log):
        await wait_until(
            lambda: csc.runtime is not None and csc.runtime.pool.workers_alive == 3, what="3 workers alive"
        )
        await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)
        _entry, victim = await a_task_held(redis_server.url)
        workers.signal(victim, signal.SIGKILL)
        [archived] = await log.wait_for("evt_imageArchived", 1)
        assert (archived.statusCode, archived.archivedSensors) == (0, 9)
    for repo in ("repo-oods", "repo-dbb"):
        assert await asyncio.to_thread(raw_count, tmp_path / repo) == 9


async def test_ccarchiver_with_no_worker_for_too_long_goes_to_fault(
    tmp_path: Path, redis_server: TemporaryRedis, csc_environment: None
) -> None:
    store = EmulatedDaqStore(tmp_path / "daq", "comcam")
    await asyncio.to_thread(store.add_image, NAME, generator=PixelGenerator(cosmic_rays=0))
    store.close()
    capture = {"backend": "redis", "redis_url": redis_server.url, "lease": LEASE, "no_worker_timeout": 1.0}
    config_dir = write_config_dir("CCArchiver", tmp_path, capture=capture)
    async with running_archiver("CCArchiver", config_dir) as (csc, remote, log):
        await remote.cmd_archiveImage.set_start(imageName=NAME, priority=0, timeout=STD_TIMEOUT)
        await wait_until(lambda: csc.summary_state == salkit.State.FAULT, what="CCArchiver in FAULT")
        error = csc.evt_errorCode.data  # type: ignore[attr-defined]
        assert error.errorCode == ErrorCode.NO_CAPTURE_WORKER, error.errorReport
        assert "no capture worker alive" in error.errorReport
