"""Database engines for the ledger: SQLite (WAL, busy timeout) or PostgreSQL.

SQLite connections run every transaction as ``BEGIN IMMEDIATE`` so two
writers never deadlock on a read-to-write lock upgrade; with WAL readers do
not block the writer, and ``busy_timeout`` makes a second writer wait
instead of failing.
"""

from __future__ import annotations

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "make_engine", "normalize_url"]

import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long an SQLite writer waits for the database lock (ms)."""


def normalize_url(url: str | os.PathLike[str]) -> str:
    """Return an SQLAlchemy URL for a ledger location.

    Parameters
    ----------
    url : `str` or `os.PathLike`
        An SQLAlchemy URL (``sqlite:///path``, ``postgresql://...``) or a
        plain file path of an SQLite ledger.

    Raises
    ------
    ValueError
        If the URL names a database other than SQLite or PostgreSQL.
    """
    text = os.fspath(url)
    if "://" not in text:
        return f"sqlite:///{os.path.abspath(text)}"
    scheme = text.split("://", 1)[0]
    if scheme == "postgresql":
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
        raise ValueError(
            f"Ledger URL {text!r}: only SQLite (sqlite:///path) and PostgreSQL "
            "(postgresql+psycopg://user@host:port/db) are supported"
        )
    return text


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | os.PathLike[str], *, echo: bool = False) -> sa.Engine:
    """Create the engine of a ledger database.

    Parameters
    ----------
    url : `str` or `os.PathLike`
        See `normalize_url`.
    echo : `bool`, optional
        Log every SQL statement.
    """
    text = normalize_url(url)
    if text.startswith("sqlite"):
        engine = sa.create_engine(
            text,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(text, echo=echo, pool_pre_ping=True, isolation_level="READ COMMITTED")
