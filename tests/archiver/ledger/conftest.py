"""Ledger fixtures: the same tests on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lsst.ts.archiver.ledger import Ledger


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty ledger database on the back end under test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    make: Callable[[], str] = request.getfixturevalue("postgres_database")
    return make()


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    """A new ledger."""
    with Ledger(ledger_url) as opened:
        yield opened
