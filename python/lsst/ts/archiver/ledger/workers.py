"""`WorkerRegistry`: heartbeats of the processes that work for the Archiver.

A delivery process (``run_archiver_worker --role delivery``) on any host
beats every few seconds: one upsert of its row (host, pid, role, state,
items done and failed) with an expiry. The CSC reads the live rows to
count workers and to report joins, changes and losses; a worker whose row
has expired is lost. Capture workers heartbeat on Redis instead (see
`lsst.ts.archiver.capture.RedisCapturePool`): the ledger sees the
processes that share it.
"""

from __future__ import annotations

__all__ = ["WorkerRegistry"]

import sqlalchemy as sa

from . import schema
from .database import LedgerDatabase, writer_time
from .records import WorkerRecord

_worker = schema.worker


class WorkerRegistry:
    """Worker heartbeats in a shared `LedgerDatabase`.

    Parameters
    ----------
    database : `LedgerDatabase`
        The ledger's database.
    """

    def __init__(self, database: LedgerDatabase) -> None:
        self._db = database

    def beat(
        self,
        name: str,
        *,
        host: str,
        pid: int,
        role: str,
        state: str,
        ttl: float,
        tasks_done: int = 0,
        tasks_failed: int = 0,
        now: float | None = None,
    ) -> None:
        """Record that worker ``name`` is alive for ``ttl`` more seconds.

        The first beat (or the first after the worker's row expired or was
        removed) sets ``joined_at``; later ones keep it.
        """
        now = writer_time(now)
        values = {
            "host": host,
            "pid": pid,
            "role": role,
            "state": state,
            "tasks_done": tasks_done,
            "tasks_failed": tasks_failed,
            "heartbeat_at": now,
            "expires_at": now + ttl,
        }
        with self._db.begin() as conn:
            conn.execute(sa.delete(_worker).where(_worker.c.name == name, _worker.c.expires_at < now))
            updated = conn.execute(sa.update(_worker).where(_worker.c.name == name).values(**values))
            if not updated.rowcount:
                conn.execute(self._db.insert_ignore(_worker), {"name": name, "joined_at": now} | values)

    def leave(self, name: str) -> bool:
        """Remove worker ``name`` (it stops, or was seen lost); True if it had a row."""
        with self._db.begin() as conn:
            result = conn.execute(sa.delete(_worker).where(_worker.c.name == name))
        return bool(result.rowcount)

    def live(self, *, role: str | None = None, now: float | None = None) -> list[WorkerRecord]:
        """Workers whose heartbeat has not expired (of ``role``, if given), by name."""
        now = writer_time(now)
        query = sa.select(_worker).where(_worker.c.expires_at >= now).order_by(_worker.c.name)
        if role is not None:
            query = query.where(_worker.c.role == role)
        with self._db.begin() as conn:
            return [WorkerRecord.from_row(row) for row in conn.execute(query).mappings()]
