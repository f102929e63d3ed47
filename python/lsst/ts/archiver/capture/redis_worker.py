"""`RedisCaptureWorker`: the body of ``run_archiver_worker`` (capture role; ``main`` also
runs the delivery role, `lsst.ts.archiver.delivery.process`).

A worker joins the Archiver's consumer group and takes one task at a time:
first any task idle longer than the lease (its worker died or froze:
``XAUTOCLAIM``), else a new one (``XREADGROUP``). While it captures, a
thread renews its heartbeat key and the task's idle time (``XCLAIM`` of its
own entry), so no other worker reclaims it. It runs
`~lsst.ts.archiver.capture.capture_source` (deterministic file names,
atomic renames: a task run twice writes the same files), adds the outcome
to the results stream and acknowledges the task. A worker that cannot reach
Redis takes no work, says so in its log and retries with backoff.
"""

from __future__ import annotations

__all__ = ["RedisCaptureWorker"]

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import redis

from .codec import CodecError, outcome_to_json, task_from_json
from .redis_queue import RedisQueueNames, is_busy_group
from .status import CaptureStatus
from .task import DetectorOutcome, SourceOutcome
from .worker import capture_source

_log = logging.getLogger(__name__)

MAX_BACKOFF = 5.0
"""Longest wait (s) between attempts to reach Redis."""


class RedisCaptureWorker:
    """A capture worker on Redis Streams.

    Parameters
    ----------
    url : `str`
        Redis URL.
    names : `RedisQueueNames`
        Streams and groups (the same as the Archiver's ``capture``
        configuration).
    lease : `float`
        Seconds after which a silent worker's task may be reclaimed; the
        heartbeat is renewed every third of it.
    name : `str`, optional
        Consumer name (unique among the workers); default host-pid-random.
    log : `logging.Logger`, optional
        Where to log.
    """

    def __init__(
        self,
        url: str,
        names: RedisQueueNames,
        *,
        lease: float,
        name: str | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.url = url
        self.names = names
        self.lease = lease
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        self.log = log if log is not None else _log
        self.redis = redis.Redis.from_url(url, socket_timeout=max(2.0, lease), socket_connect_timeout=2.0)
        self.stopping = threading.Event()
        self.tasks_done = 0
        self.tasks_failed = 0

    @property
    def _interval(self) -> float:
        return max(0.05, self.lease / 3)

    def _heartbeat(self, state: str) -> None:
        value = json.dumps(
            {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "role": "capture",
                "state": state,
                "done": self.tasks_done,
                "failed": self.tasks_failed,
            }
        )
        self.redis.set(self.names.heartbeat_key(self.name), value, px=max(1, int(self.lease * 1000)))

    def run(self) -> None:
        """Take and run tasks until `stop`; never raises for Redis being away."""
        backoff = 0.1
        reachable = True
        while not self.stopping.is_set():
            try:
                self._join()
                if not reachable:
                    self.log.info("Worker %s: Redis at %s reachable again; taking work", self.name, self.url)
                reachable = True
                backoff = 0.1
                while not self.stopping.is_set():
                    self._heartbeat("idle")
                    entry = self._take()
                    if entry is not None:
                        self._handle(*entry)
            except redis.ConnectionError as e:
                if reachable:
                    self.log.warning(
                        "Worker %s: cannot reach Redis at %s (%s); taking no work, retrying",
                        self.name,
                        self.url,
                        e,
                    )
                reachable = False
            except redis.RedisError as e:
                self.log.warning("Worker %s: Redis error %s; retrying", self.name, e)
            self.stopping.wait(backoff)
            backoff = min(2 * backoff, MAX_BACKOFF)
        self.log.info("Worker %s stops", self.name)
        try:
            self.redis.delete(self.names.heartbeat_key(self.name))
        except redis.RedisError:
            pass

    def stop(self) -> None:
        """Stop after the current task."""
        self.stopping.set()

    def _join(self) -> None:
        try:
            self.redis.xgroup_create(self.names.task_stream, self.names.worker_group, id="0", mkstream=True)
        except redis.ResponseError as e:
            if not is_busy_group(e):
                raise
        self.log.info(
            "Worker %s joined group %s of %s", self.name, self.names.worker_group, self.names.task_stream
        )

    def _take(self) -> tuple[bytes, dict[bytes, bytes]] | None:
        """One task: a reclaimed one (idle past the lease) or a new one; None if none came."""
        stream, group = self.names.task_stream, self.names.worker_group
        reply: Any = self.redis.xautoclaim(
            stream, group, self.name, min_idle_time=int(self.lease * 1000), start_id="0-0", count=1
        )
        claimed = [entry for entry in reply[1] if entry[1]]
        if claimed:
            entry_id, fields = claimed[0]
            self.log.warning(
                "Worker %s reclaimed task %s (its worker was silent > %s s)", self.name, entry_id, self.lease
            )
            return entry_id, fields
        for deleted in reply[1]:
            if not deleted[1]:  # entry trimmed away
                self.redis.xack(stream, group, deleted[0])
        streams: Any = {stream: ">"}
        replies: Any = self.redis.xreadgroup(
            group, self.name, streams, count=1, block=int(self._interval * 1000)
        )
        for _stream, entries in replies or []:
            for entry_id, fields in entries:
                return entry_id, fields
        return None

    def _handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        task_id = fields.get(b"id", b"").decode()
        try:
            task = task_from_json(fields.get(b"task", b""))
        except CodecError as e:
            self.log.error("Worker %s: dropped malformed task %s: %s", self.name, entry_id, e)
            self.redis.xack(self.names.task_stream, self.names.worker_group, entry_id)
            return
        self._heartbeat("busy")
        done = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(entry_id, done), name="heartbeat", daemon=True)
        renewer.start()
        self.log.info("Worker %s captures %s %s", self.name, task.obsid, task.location)
        try:
            outcome = capture_source(task)
        except Exception as e:  # capture_source does not raise; be safe
            description = f"capture worker {self.name} failed: {e!r}"
            outcome = SourceOutcome(
                task.obsid,
                task.location,
                tuple(
                    DetectorOutcome(
                        name=d, number=-1, status=CaptureStatus.UNEXPECTED, description=description
                    )
                    for d in task.detectors
                ),
            )
        finally:
            done.set()
            renewer.join()
        ok = all(d.status is CaptureStatus.OK for d in outcome.detectors)
        if ok:
            self.tasks_done += 1
        else:
            self.tasks_failed += 1
        self._report(task_id, entry_id, outcome)

    def _renew(self, entry_id: bytes, done: threading.Event) -> None:
        """Keep the task ours while it runs: heartbeat and reset its idle time."""
        stream, group = self.names.task_stream, self.names.worker_group
        while not done.wait(self._interval):
            try:
                self._heartbeat("busy")
                pending: Any = self.redis.xpending_range(stream, group, min=entry_id, max=entry_id, count=1)
                if not pending or pending[0]["consumer"].decode() != self.name:
                    self.log.warning(
                        "Worker %s: task %s was reclaimed by another worker", self.name, entry_id
                    )
                    return
                self.redis.xclaim(
                    stream, group, self.name, min_idle_time=0, message_ids=[entry_id], justid=True
                )
            except redis.RedisError as e:
                self.log.warning("Worker %s: cannot renew task %s: %s", self.name, entry_id, e)

    def _report(self, task_id: str, entry_id: bytes, outcome: SourceOutcome) -> None:
        """Add the outcome to the results stream and acknowledge the task; retry while Redis is away."""
        fields: Any = {"id": task_id, "worker": self.name, "outcome": outcome_to_json(outcome)}
        backoff = 0.1
        while True:
            try:
                self.redis.xadd(self.names.result_stream, fields, maxlen=100_000, approximate=True)
                self.redis.xack(self.names.task_stream, self.names.worker_group, entry_id)
                self.redis.xdel(self.names.task_stream, entry_id)  # a task may carry a big header
                return
            except redis.RedisError as e:
                self.log.warning(
                    "Worker %s: cannot report %s %s to Redis (%s); retrying",
                    self.name,
                    outcome.obsid,
                    outcome.location,
                    e,
                )
                if self.stopping.wait(backoff):
                    return
                backoff = min(2 * backoff, MAX_BACKOFF)


def main(argv: Sequence[str] | None = None) -> int:
    """``run_archiver_worker``: run a capture worker, a delivery process or both until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="run_archiver_worker",
        description=(
            "Run an Archiver worker: capture on Redis Streams (capture.backend: redis), "
            "delivery from a shared (PostgreSQL) ledger, or both."
        ),
    )
    parser.add_argument(
        "--role",
        choices=("capture", "delivery", "both"),
        default="capture",
        help="capture tasks, deliver files to the configured destinations, or both (default capture)",
    )
    capture = parser.add_argument_group("capture (--role capture or both)")
    capture.add_argument("--redis-url", help="Redis URL (the Archiver's capture.redis_url)")
    capture.add_argument("--task-stream", help="capture.task_stream of the Archiver")
    capture.add_argument("--result-stream", help="capture.result_stream of the Archiver")
    capture.add_argument("--worker-group", help="capture.worker_group of the Archiver")
    capture.add_argument("--lease", type=float, help="capture.lease of the Archiver (s)")
    delivery = parser.add_argument_group("delivery (--role delivery or both)")
    delivery.add_argument(
        "--config",
        help="the Archiver's configuration file (YAML); its ledger_url and destinations are used",
    )
    delivery.add_argument("--ledger-url", help="overrides the configuration's ledger_url")
    delivery.add_argument(
        "--poll-interval", type=float, default=0.5, help="how often idle delivery looks for due items (s)"
    )
    parser.add_argument("--name", default=None, help="unique worker name (default host-pid-random)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    capturing = args.role in ("capture", "both")
    delivering = args.role in ("delivery", "both")
    if capturing:
        missing = [
            f"--{name.replace('_', '-')}"
            for name in ("redis_url", "task_stream", "result_stream", "worker_group", "lease")
            if getattr(args, name) is None
        ]
        if missing:
            parser.error(f"--role {args.role} needs {', '.join(missing)}")
    if delivering and args.config is None:
        parser.error(f"--role {args.role} needs --config (the Archiver's configuration file)")
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    worker: RedisCaptureWorker | None = None
    if capturing:
        names = RedisQueueNames(
            task_stream=args.task_stream,
            result_stream=args.result_stream,
            worker_group=args.worker_group,
            result_group="",
        )
        worker = RedisCaptureWorker(args.redis_url, names, lease=args.lease, name=args.name)
    if not delivering:
        assert worker is not None
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: worker.stop())
        worker.run()
        return 0

    from ..delivery.config import DestinationConfigError
    from ..delivery.process import DeliveryProcessConfig, run_delivery

    try:
        config = DeliveryProcessConfig.from_file(args.config, ledger_url=args.ledger_url)
    except DestinationConfigError as e:
        _log.error("%s", e)
        return 2

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def stop_all() -> None:
            stop.set()
            if worker is not None:
                worker.stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop_all)
        capturing_thread = None
        if worker is not None:
            capturing_thread = threading.Thread(target=worker.run, name="capture", daemon=True)
            capturing_thread.start()
        try:
            await run_delivery(
                config.ledger_url,
                config.destinations,
                stop,
                worker_id=args.name,
                poll_interval=args.poll_interval,
            )
        finally:
            if capturing_thread is not None:
                worker.stop()  # type: ignore[union-attr]
                await asyncio.to_thread(capturing_thread.join)

    asyncio.run(run())
    return 0
