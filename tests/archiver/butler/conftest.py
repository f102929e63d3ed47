"""Fixtures: repositories on SQLite and on a throwaway PostgreSQL cluster."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lsst.daf.butler import Butler

from lsst.ts.archiver.butler import create_repository
from lsst.ts.archiver.butler.testing import TemporaryPostgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[TemporaryPostgres]:
    """A private PostgreSQL server for the whole session, with database ``butler``."""
    with TemporaryPostgres() as server:
        server.create_database("butler")
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Registry back end of the repository under test."""
    return str(request.param)


@pytest.fixture
def make_repo(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Butler]]:
    """Create repositories on the back end under test; close them afterwards."""
    made: list[Butler] = []

    def make(*instruments: str, name: str = "repo") -> Butler:
        db = namespace = None
        if backend == "postgresql":
            server: TemporaryPostgres = request.getfixturevalue("postgres")
            db = server.url("butler")
            namespace = f"repo_{secrets.token_hex(6)}"
        butler = create_repository(tmp_path / name, db=db, namespace=namespace, instruments=instruments)
        made.append(butler)
        return butler

    yield make
    for butler in made:
        butler.close()
