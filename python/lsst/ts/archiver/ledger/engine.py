"""Database engines for the ledger: SQLite (WAL, busy timeout) or PostgreSQL.

SQLite connections run every transaction as ``BEGIN IMMEDIATE`` so two
writers never deadlock on a read-to-write lock upgrade; with WAL readers do
not block the writer, and ``busy_timeout`` makes a second writer wait
instead of failing. PostgreSQL connections have a short connect timeout and
TCP keepalives (`POSTGRES_CONNECT_ARGS`), so a lost server is an error in
seconds.
"""

from __future__ import annotations

__all__ = [
    "POSTGRES_CONNECT_ARGS",
    "POSTGRES_CONNECT_TIMEOUT",
    "SQLITE_BUSY_TIMEOUT_MS",
    "make_engine",
    "normalize_url",
]

import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long an SQLite writer waits for the database lock (ms)."""

POSTGRES_CONNECT_TIMEOUT = 5
"""Seconds a PostgreSQL connection attempt may take (libpq ``connect_timeout``)."""

POSTGRES_CONNECT_ARGS: dict[str, int] = {
    "connect_timeout": POSTGRES_CONNECT_TIMEOUT,
    # A server host that stops answering is noticed in about 10 + 3 x 5 s on
    # an idle (or waiting) connection instead of the kernel's two hours.
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
"""libpq connection parameters of a PostgreSQL ledger, unless its URL sets them:
a stopped or unreachable server is a prompt `LedgerError` (hence FAULT), not a
long hang."""


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
    # Query parameters of the URL win over these defaults.
    query = sa.make_url(text).query
    connect_args = {key: value for key, value in POSTGRES_CONNECT_ARGS.items() if key not in query}
    return sa.create_engine(
        text, echo=echo, pool_pre_ping=True, isolation_level="READ COMMITTED", connect_args=connect_args
    )
