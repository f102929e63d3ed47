"""`LedgerDatabase`: the one database every ledger manager works in.

It owns the engine, runs transactions, writes the statements that differ
between SQLite and PostgreSQL, and creates, checks and upgrades the schema
when the ledger is opened. The managers (`ImageManager`, `QueueManager`,
`ReportManager`, `LockManager`) share one instance.
"""

from __future__ import annotations

__all__ = ["LedgerDatabase", "writer_time"]

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateColumn

from . import schema
from .engine import make_engine, normalize_url
from .errors import LedgerError, LedgerSchemaError

_log = logging.getLogger(__name__)


_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError)
"""Database errors that mean the ledger cannot be reached or used (raised as `LedgerError`)."""


def _sqlite_file(url: str) -> str | None:
    """Absolute path of an SQLite ledger's file; None for an in-memory or URI database."""
    database = sa.make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.abspath(database)


def writer_time(now: float | None) -> float:
    """Return ``now``, or the writer's clock (Unix seconds) if it is None."""
    return time.time() if now is None else now


class LedgerDatabase:
    """Connection, transactions and schema of a ledger database.

    Opening it creates the tables of an empty database (if ``create``),
    upgrades a ledger of an older schema version in place, and refuses one
    it cannot use.

    Parameters
    ----------
    url : `str` or `os.PathLike`
        ``sqlite:///path`` (or a plain path) or
        ``postgresql+psycopg://user@host:port/database``.
    create : `bool`, optional
        Create the tables if the database has none.
    echo : `bool`, optional
        Log SQL statements.

    Raises
    ------
    LedgerSchemaError
        If the database holds a ledger of a schema version this code can
        neither use nor upgrade, has no ledger and ``create`` is False, or
        the upgrade failed (the ledger is then left as it was).
    LedgerError
        If the database cannot be reached.
    """

    def __init__(self, url: str | os.PathLike[str], *, create: bool = True, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, echo=echo)
        self._file = _sqlite_file(self.url) if self.dialect == "sqlite" else None
        self._identity: tuple[int, int] | None = None
        # SQLite allows one writer at a time and makes waiting writers poll
        # with sleeps of up to 100 ms; threads of this process queue on a
        # lock instead (other processes still wait through busy_timeout).
        self._local_lock: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if self.dialect == "sqlite" else contextlib.nullcontext()
        )
        try:
            self._check_schema(create)
            if self._file is not None:
                found = os.stat(self._file)
                self._identity = (found.st_dev, found.st_ino)
        except (*_UNAVAILABLE, OSError) as e:
            self.engine.dispose()
            reason = e.orig if isinstance(e, sa.exc.DBAPIError) else e
            raise LedgerError(f"Cannot open the ledger at {self.safe_url}: {reason}") from e
        except Exception:
            self.engine.dispose()
            raise

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def safe_url(self) -> str:
        """The URL with its password masked, for messages."""
        return sa.make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    @contextlib.contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """Run one transaction: committed on exit, rolled back on an exception.

        An SQLite ledger's file is checked first (`check_file`), so nothing
        is written on to a database that is no longer the file at its path.

        Raises
        ------
        LedgerError
            If the database cannot be reached or the transaction cannot be
            run (the ``OperationalError`` is chained), or the SQLite file is
            gone, replaced or read-only.
        """
        with self._local_lock:
            self.check_file()
            try:
                with self.engine.begin() as connection:
                    yield connection
            except _UNAVAILABLE as e:
                raise LedgerError(f"Ledger {self.safe_url} unavailable: {e.orig}") from e

    def check_file(self) -> None:
        """Check that an SQLite ledger's file is still the database this ledger opened.

        The file must exist at its path with the device and inode it had
        when opened, and be writable by this process. SQLite would go on
        writing to a deleted (unlinked) file through its open connections,
        and to a file made read-only into its write-ahead log, so each
        transaction checks first (a ``stat`` and an ``access`` call).
        Nothing to check for PostgreSQL (its errors are connection errors).

        Raises
        ------
        LedgerError
            If the file is gone, replaced or not writable; the message says
            which and what to do.
        """
        if self._file is None or self._identity is None:
            return
        remedy = (
            "restore it, then recover the Archiver (standby, start, enable) to resume the unfinished work"
        )
        try:
            found = os.stat(self._file)
        except FileNotFoundError:
            raise LedgerError(
                f"The ledger file {self._file} was deleted (or moved) while in use; nothing more is written "
                f"to the open database: {remedy}"
            ) from None
        except OSError as e:
            raise LedgerError(f"The ledger file {self._file} cannot be checked ({e}): {remedy}") from e
        if (found.st_dev, found.st_ino) != self._identity:
            raise LedgerError(
                f"The ledger file {self._file} was replaced while in use (device, inode {self._identity} "
                f"when opened, now {(found.st_dev, found.st_ino)}); nothing more is written to the open "
                f"database: recover the Archiver (standby, start, enable) to use the new file"
            )
        if not os.access(self._file, os.W_OK):
            raise LedgerError(
                f"The ledger file {self._file} is not writable by this process any more (read-only "
                f"permissions, immutable attribute or file system): make it writable, then recover the "
                f"Archiver (standby, start, enable)"
            )

    def insert_ignore(
        self, table: sa.Table, columns: list[str] | None = None, selection: sa.Select[Any] | None = None
    ) -> Any:
        """Return an ``INSERT`` that skips rows whose key already exists.

        Parameters
        ----------
        table : `sqlalchemy.Table`
            Table to insert into.
        columns : `list` [`str`], optional
            Columns filled by ``selection``.
        selection : `sqlalchemy.Select`, optional
            Insert the rows of this query (``INSERT ... SELECT``) instead of
            the parameters given at execution.
        """
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        statement = insert(table)
        if selection is not None:
            statement = statement.from_select(columns or [], selection)
        return statement.on_conflict_do_nothing()

    # ------------------------------------------------------------------
    # schema

    def _check_schema(self, create: bool) -> None:
        inspector = sa.inspect(self.engine)
        if not inspector.has_table(schema.ledger_schema.name):
            if not create:
                raise LedgerSchemaError(
                    f"{self.safe_url} holds no ts_archiver ledger; open it with create=True to make one"
                )
            # Tables and version row in one transaction: a process killed while
            # creating the ledger leaves nothing half made behind.
            with self.begin() as conn:
                schema.metadata.create_all(conn, checkfirst=True)
                conn.execute(
                    self.insert_ignore(schema.ledger_schema),
                    {"name": schema.SCHEMA_NAME, "version": schema.SCHEMA_VERSION, "created_at": time.time()},
                )
        with self.begin() as conn:
            # The row lock (PostgreSQL) or the write lock of BEGIN IMMEDIATE
            # (SQLite) makes a second process opening the same old ledger wait
            # here, then find it upgraded.
            found = conn.execute(
                sa.select(schema.ledger_schema.c.version)
                .where(schema.ledger_schema.c.name == schema.SCHEMA_NAME)
                .with_for_update()
            ).scalar_one_or_none()
            if found == schema.SCHEMA_VERSION:
                return
            if found is None or found not in schema.UPGRADES:
                remedy = (
                    "it was written by a newer ts_archiver: run that one"
                    if found is not None and found > schema.SCHEMA_VERSION
                    else "migrate it"
                )
                raise LedgerSchemaError(
                    f"The ledger at {self.safe_url} has schema version {found}, this ts_archiver needs "
                    f"{schema.SCHEMA_VERSION}: {remedy}, or point the Archiver at a new ledger"
                )
            self._upgrade(conn, found)

    def _upgrade(self, conn: sa.Connection, found: int) -> None:
        """Upgrade from version ``found`` to `schema.SCHEMA_VERSION` in ``conn``'s transaction."""
        version = found
        try:
            while version < schema.SCHEMA_VERSION:
                for change in schema.UPGRADES[version]:
                    if isinstance(change, sa.Table | sa.Index):
                        change.create(conn, checkfirst=True)
                    else:
                        self._add_column(conn, change)
                version += 1
        except (sa.exc.DBAPIError, sa.exc.NoSuchTableError) as e:
            reason = e.orig if isinstance(e, sa.exc.DBAPIError) else f"no table {e}"
            raise LedgerSchemaError(
                f"Could not upgrade the ledger at {self.safe_url} from schema version {found} to "
                f"{schema.SCHEMA_VERSION} (stopped at version {version}): {reason}; the ledger is left at "
                f"version {found}"
            ) from e
        conn.execute(
            sa.update(schema.ledger_schema)
            .where(schema.ledger_schema.c.name == schema.SCHEMA_NAME)
            .values(version=schema.SCHEMA_VERSION)
        )
        _log.info(
            "Upgraded the ledger at %s from schema version %s to %s",
            self.safe_url,
            found,
            schema.SCHEMA_VERSION,
        )

    def _add_column(self, conn: sa.Connection, column: sa.Column[Any]) -> None:
        """``ALTER TABLE ... ADD COLUMN`` in ``conn``'s transaction, unless the column exists."""
        table = column.table
        existing = {info["name"] for info in sa.inspect(conn).get_columns(table.name)}
        if column.name in existing:
            return
        preparer = conn.dialect.identifier_preparer
        definition = CreateColumn(column).compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {definition}")
