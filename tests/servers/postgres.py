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
