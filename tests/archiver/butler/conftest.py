"""Fixtures: repositories on SQLite and on the session's PostgreSQL server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lsst.daf.butler import Butler

from lsst.ts.archiver.butler import create_repository


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest) -> str:
    """Registry back end of the repository under test."""
    return str(request.param)


@pytest.fixture
def make_repo(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Butler]]:
    """Create repositories on the back end under test (each PostgreSQL one in
    a new database of the session's server); close them afterwards."""
    made: list[Butler] = []

    def make(*instruments: str, name: str = "repo") -> Butler:
        db = None
        if backend == "postgresql":
            new_database: Callable[[], str] = request.getfixturevalue("postgres_database")
            db = new_database()
        butler = create_repository(tmp_path / name, db=db, instruments=instruments)
        made.append(butler)
        return butler

    yield make
    for butler in made:
        butler.close()
