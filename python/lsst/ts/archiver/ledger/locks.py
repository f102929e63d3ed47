"""`LockManager`: named locks with an expiry, shared by every process of a ledger.

A lock (e.g. ``cleaner:/repo``) has at most one unexpired holder. Taking it
is an insert-or-ignore followed by a guarded ``UPDATE`` (held by this
holder, or expired), so two processes can never both hold it.
"""

from __future__ import annotations

__all__ = ["LockManager"]

import sqlalchemy as sa

from . import schema
from .database import LedgerDatabase, writer_time

_lock = schema.lock


class LockManager:
    """Named locks in a shared `LedgerDatabase`.

    Parameters
    ----------
    database : `LedgerDatabase`
        The ledger's database.
    """

    def __init__(self, database: LedgerDatabase) -> None:
        self._db = database

    def acquire_lock(self, name: str, holder: str, *, ttl: float, now: float | None = None) -> bool:
        """Take (or renew) a named lock for ``ttl`` seconds.

        Returns
        -------
        held : `bool`
            True if ``holder`` now holds the lock; False if someone else
            holds an unexpired one.
        """
        now = writer_time(now)
        with self._db.begin() as conn:
            conn.execute(
                self._db.insert_ignore(_lock),
                {"name": name, "holder": holder, "acquired_at": now, "expires_at": now + ttl},
            )
            result = conn.execute(
                sa.update(_lock)
                .where(_lock.c.name == name, sa.or_(_lock.c.holder == holder, _lock.c.expires_at < now))
                .values(holder=holder, acquired_at=now, expires_at=now + ttl)
            )
        return bool(result.rowcount)

    def release_lock(self, name: str, holder: str) -> bool:
        """Release a lock this holder has; True if it had it."""
        with self._db.begin() as conn:
            result = conn.execute(sa.delete(_lock).where(_lock.c.name == name, _lock.c.holder == holder))
        return bool(result.rowcount)

    def lock_holder(self, name: str, *, now: float | None = None) -> str | None:
        """Who holds an unexpired lock, or None."""
        now = writer_time(now)
        with self._db.begin() as conn:
            return conn.execute(
                sa.select(_lock.c.holder).where(_lock.c.name == name, _lock.c.expires_at >= now)
            ).scalar_one_or_none()
