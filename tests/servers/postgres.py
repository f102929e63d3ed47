"""pytest fixtures: a throwaway PostgreSQL cluster (one per session) and fresh databases.

Reuses `lsst.ts.archiver.butler.testing.TemporaryPostgres` (initdb + pg_ctl
in a temporary directory on a free loopback port, run as the ``postgres``
user when the tests run as root). Import the fixtures into a conftest::

    from servers.postgres import postgres_server, postgres_database  # noqa: F401
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest

from lsst.ts.archiver.butler.testing import TemporaryPostgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    """A private PostgreSQL server for the whole session."""
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture
def postgres_database(postgres_server: TemporaryPostgres) -> Callable[[], str]:
    """Make a new empty database on the session server; return its URL."""

    def make() -> str:
        return postgres_server.create_database(f"db_{secrets.token_hex(6)}")

    return make


class PausablePostgres(TemporaryPostgres):
    """A `TemporaryPostgres` that can be stopped and started again with its data.

    Uses the parent's cluster directory and ``pg_ctl``; for tests of a
    database that goes away and comes back.
    """

    def pause(self) -> None:
        """Stop the server immediately, keeping the cluster."""
        assert self._dir is not None
        self._run(str(self._bin / "pg_ctl"), "-D", str(self._dir / "data"), "-m", "immediate", "-w", "stop")

    def resume(self) -> None:
        """Start the server again on the same port."""
        assert self._dir is not None
        options = (
            f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self._bin / "pg_ctl"),
            "-D",
            str(self._dir / "data"),
            "-o",
            options,
            "-l",
            str(self._dir / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
