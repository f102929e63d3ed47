"""`RedisCapturePool`: capture tasks run by ``run_archiver_worker`` processes on any host.

Tasks go out on a Redis stream read by the workers' consumer group; each
worker reports its outcome on a results stream the CSC reads with its own
group (``XREADGROUP``/``XACK``). Names are in
`~lsst.ts.archiver.capture.redis_queue.RedisQueueNames`.

Execution is at least once (a task whose worker stops heart-beating past
the lease is reclaimed by another with ``XAUTOCLAIM``), results exactly once:
`run` returns the first outcome of its task id and every later one is
discarded (logged). Redis is the transport, not the truth: the pool keeps
its in-flight tasks and publishes them again when Redis lost its data (the
epoch key or a stream's group is gone). Each worker's heartbeat value
(host, pid, role, state, task counts) is read by the watcher: joins,
changes of state or task counts and losses (heartbeat expired) go to
``on_worker_status``.
"""

from __future__ import annotations

__all__ = ["RedisCapturePool"]

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import redis
import redis.asyncio

from ..error_codes import ArchiverFault, ErrorCode
from .codec import CodecError, outcome_from_json, task_to_json
from .pool import CapturePool
from .redis_queue import RedisQueueNames, is_busy_group, is_no_group
from .task import CaptureTask, SourceOutcome
from .worker_status import WorkerRoster, WorkerStatus, WorkerStatusCallback

_log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.5
"""Seconds between checks of the workers' heartbeats and of Redis's data."""

MAX_BACKOFF = 5.0
"""Longest wait (s) between attempts to reach Redis."""

STREAM_MAX_LENGTH = 100_000
"""Approximate length the task and results streams are trimmed to."""


class RedisCapturePool(CapturePool):
    """Capture tasks taken by ``run_archiver_worker`` processes through Redis Streams.

    Parameters
    ----------
    url : `str`
        Redis URL (``redis://host:port/db``).
    names : `RedisQueueNames`
        Streams and groups.
    lease : `float`
        Seconds a worker may stay silent before its heartbeat key expires.
    no_worker_timeout : `float`
        Seconds without any live worker, while tasks are pending, after
        which `check` raises (the CSC goes to FAULT).
    log : `logging.Logger`, optional
        Where to log (a child of the CSC's log: joins and losses of
        workers reach SAL ``logMessage``); default this module's logger.
    on_worker_status : callable, optional
        ``await on_worker_status(WorkerStatus)``: a worker joined, its
        state or task counts changed, or it was lost (heartbeat expired).
    max_connections : `int`, optional
        Most Redis connections of this pool; more concurrent calls wait for
        one (never an error).
    """

    def __init__(
        self,
        url: str,
        names: RedisQueueNames,
        *,
        lease: float,
        no_worker_timeout: float,
        log: logging.Logger | None = None,
        on_worker_status: WorkerStatusCallback | None = None,
        max_connections: int = 16,
    ) -> None:
        self.url = url
        self.max_connections = max_connections
        self.names = names
        self.lease = lease
        self.no_worker_timeout = no_worker_timeout
        self.log = log if log is not None else _log
        self._redis: redis.asyncio.Redis | None = None
        self._epoch = uuid.uuid4().hex
        self._consumer = f"csc-{uuid.uuid4().hex[:8]}"
        self._in_flight: dict[str, tuple[str, asyncio.Future[SourceOutcome]]] = {}
        self._unpublished: set[str] = set()
        self._roster = WorkerRoster("capture", on_worker_status, self.log)
        self._last_alive = time.monotonic()
        self._reachable = False
        self._tasks: list[asyncio.Task[None]] = []
        self._recovering = asyncio.Lock()
        self.discarded = 0
        """Results discarded because their task already had one (or is unknown)."""

    @property
    def _client(self) -> redis.asyncio.Redis:
        if self._redis is None:
            # A blocking pool: with more tasks in flight than connections (an
            # LSSTCam image is 71 tasks), a publish waits for a free connection
            # instead of failing with "Too many connections".
            connections = redis.asyncio.BlockingConnectionPool.from_url(
                self.url,
                max_connections=self.max_connections,
                timeout=30.0,
                socket_timeout=5.0,
                socket_connect_timeout=2.0,
            )
            self._redis = redis.asyncio.Redis(connection_pool=connections)
        return self._redis

    async def start(self) -> None:
        if self._tasks:
            return
        try:
            await self._set_up()
        except redis.RedisError as e:
            raise ArchiverFault(
                ErrorCode.NO_CAPTURE_WORKER,
                f"Cannot reach Redis at {self.url} for the capture workers: {e}; check capture.redis_url",
            ) from e
        self._last_alive = time.monotonic()
        self._tasks = [
            asyncio.create_task(self._read_results(), name="capture results"),
            asyncio.create_task(self._watch(), name="capture workers"),
        ]

    async def _set_up(self) -> None:
        """Create both groups (if missing) and set the epoch key."""
        client = self._client
        for stream, group in (
            (self.names.task_stream, self.names.worker_group),
            (self.names.result_stream, self.names.result_group),
        ):
            try:
                await client.xgroup_create(stream, group, id="0", mkstream=True)
            except redis.ResponseError as e:
                if not is_busy_group(e):
                    raise
        await client.set(self.names.epoch_key, self._epoch)
        self._reachable = True

    async def run(self, task: CaptureTask) -> SourceOutcome:
        task_id = uuid.uuid4().hex
        payload = task_to_json(task)
        future: asyncio.Future[SourceOutcome] = asyncio.get_running_loop().create_future()
        self._in_flight[task_id] = (payload, future)
        try:
            try:
                await self._publish(task_id, payload)
            except redis.RedisError as e:
                # Published by the watcher once Redis is back.
                self._unpublished.add(task_id)
                self.log.warning(
                    "Cannot publish capture task %s %s to Redis (%s); will publish it when Redis is back",
                    task.obsid,
                    task.location,
                    e,
                )
            return await future
        finally:
            self._in_flight.pop(task_id, None)
            self._unpublished.discard(task_id)

    async def _publish(self, task_id: str, payload: str) -> None:
        fields: Any = {"id": task_id, "task": payload}
        await self._client.xadd(self.names.task_stream, fields, maxlen=STREAM_MAX_LENGTH, approximate=True)

    async def _intact(self) -> bool:
        """Are the epoch key and both groups there (Redis kept its data)?"""
        client = self._client
        if await client.get(self.names.epoch_key) != self._epoch.encode():
            return False
        for stream, group in (
            (self.names.task_stream, self.names.worker_group),
            (self.names.result_stream, self.names.result_group),
        ):
            try:
                groups: Any = await client.xinfo_groups(stream)
            except redis.ResponseError:
                return False
            if group not in {
                g["name"].decode() if isinstance(g["name"], bytes) else g["name"] for g in groups
            }:
                return False
        return True

    async def _recover(self, why: str) -> None:
        """Publish the tasks in flight again unless another caller just did (or Redis kept its data)."""
        async with self._recovering:
            if not await self._intact():
                await self._republish(why)

    async def _republish(self, why: str) -> None:
        """Redis lost its data: create the groups again and publish every task in flight."""
        await self._set_up()
        pending = [
            (task_id, payload) for task_id, (payload, future) in self._in_flight.items() if not future.done()
        ]
        self.log.warning(
            "Redis lost the capture queue (%s); publishing %d unfinished tasks again", why, len(pending)
        )
        for task_id, payload in pending:
            await self._publish(task_id, payload)
        self._unpublished.clear()

    async def _read_results(self) -> None:
        backoff = 0.1
        streams: Any = {self.names.result_stream: ">"}
        while True:
            try:
                replies: Any = await self._client.xreadgroup(
                    self.names.result_group, self._consumer, streams, count=100, block=1000
                )
                backoff = 0.1
                for _stream, entries in replies or []:
                    for entry_id, fields in entries:
                        self._accept(fields)
                        await self._client.xack(self.names.result_stream, self.names.result_group, entry_id)
                        await self._client.xdel(self.names.result_stream, entry_id)
            except asyncio.CancelledError:
                raise
            except redis.ResponseError as e:
                if not is_no_group(e):
                    self.log.exception("Reading capture results from Redis failed")
                    await asyncio.sleep(backoff)
                    backoff = min(2 * backoff, MAX_BACKOFF)
                    continue
                try:
                    await self._recover(f"results stream {self.names.result_stream}: {e}")
                except redis.RedisError as e2:
                    self.log.warning("Cannot set up the capture queue again: %s", e2)
                    await asyncio.sleep(backoff)
            except redis.RedisError as e:
                self._unreachable(e)
                await asyncio.sleep(backoff)
                backoff = min(2 * backoff, MAX_BACKOFF)

    def _unreachable(self, error: Exception) -> None:
        if self._reachable:
            self.log.warning("Cannot reach Redis at %s (%s); retrying", self.url, error)
        self._reachable = False

    def _accept(self, fields: dict[bytes, bytes]) -> None:
        """Resolve the task of one result, or discard the result (logged)."""
        task_id = fields.get(b"id", b"").decode()
        worker = fields.get(b"worker", b"?").decode()
        try:
            outcome = outcome_from_json(fields.get(b"outcome", b""))
        except CodecError as e:
            self.log.error("Discarded a malformed capture result from worker %s: %s", worker, e)
            self.discarded += 1
            return
        entry = self._in_flight.get(task_id)
        if entry is None or entry[1].done():
            self.discarded += 1
            self.log.info(
                "Discarded a late capture result of %s %s from worker %s: its task already has its outcome",
                outcome.obsid,
                outcome.location,
                worker,
            )
            return
        entry[1].set_result(outcome)

    async def _watch(self) -> None:
        """Count the workers' heartbeats (log joins and losses); detect a loss of Redis's data."""
        while True:
            try:
                workers = await self._heartbeats()
                if not self._reachable:
                    self.log.info("Redis at %s reachable again", self.url)
                    self._reachable = True
                if await self._client.get(self.names.epoch_key) != self._epoch.encode():
                    await self._recover(f"key {self.names.epoch_key} gone")
                for task_id in list(self._unpublished):
                    entry = self._in_flight.get(task_id)
                    if entry is not None:
                        await self._publish(task_id, entry[0])
                    self._unpublished.discard(task_id)
                await self._report_changes(workers)
            except asyncio.CancelledError:
                raise
            except redis.RedisError as e:
                self._unreachable(e)
                await self._report_changes({}, why=f"Redis at {self.url} unreachable")
            except Exception:
                self.log.exception("Watching the capture workers failed")
            if self._roster.alive or not self._in_flight:
                self._last_alive = time.monotonic()
            await asyncio.sleep(WATCH_INTERVAL)

    async def _heartbeats(self) -> dict[str, WorkerStatus]:
        """The live workers: name -> status from its heartbeat value."""
        keys = [key async for key in self._client.scan_iter(match=self.names.heartbeat_pattern, count=1000)]
        values: Any = await self._client.mget(keys) if keys else []
        workers = {}
        for key, value in zip(keys, values, strict=True):
            if value is None:  # expired between SCAN and MGET
                continue
            name = self.names.worker_of(key.decode())
            workers[name] = _status_of(name, value)
        return workers

    async def _report_changes(self, workers: dict[str, WorkerStatus], why: str = "") -> None:
        """Log joins and losses; report joins, changes (state, task counts) and losses."""
        await self._roster.update(workers, why or f"no heartbeat for {self.lease} s")

    @property
    def workers_alive(self) -> int:
        return self._roster.alive

    @property
    def tasks_pending(self) -> int:
        """Tasks published and waiting for their outcome."""
        return len(self._in_flight)

    def check(self) -> None:
        """Raise `ArchiverFault` (``NO_CAPTURE_WORKER``) if work waits and no worker has been alive too long."""
        silent = time.monotonic() - self._last_alive
        if self._in_flight and silent > self.no_worker_timeout:
            where = "" if self._reachable else f" (Redis at {self.url} unreachable)"
            raise ArchiverFault(
                ErrorCode.NO_CAPTURE_WORKER,
                f"{len(self._in_flight)} capture tasks pending and no capture worker alive for "
                f"{silent:.0f} s{where}, more than capture.no_worker_timeout = {self.no_worker_timeout} s; "
                f"start run_archiver_worker --redis-url {self.url}",
            )

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _payload, future in self._in_flight.values():
            future.cancel()
        client, self._redis = self._redis, None
        if client is not None:
            await client.aclose()


def _status_of(name: str, value: bytes) -> WorkerStatus:
    """A worker's status from its heartbeat value (JSON; see `RedisCaptureWorker`)."""
    try:
        fields: Any = json.loads(value)
        return WorkerStatus(
            name=name,
            host=str(fields["host"]),
            pid=int(fields["pid"]),
            role=str(fields["role"]),
            state=str(fields["state"]),
            tasks_done=int(fields["done"]),
            tasks_failed=int(fields["failed"]),
        )
    except (ValueError, TypeError, KeyError):
        return WorkerStatus(
            name=name, host="?", pid=0, role="capture", state=f"unreadable heartbeat {value!r:.80}"
        )
