"""An unreachable or locked registry raises a retryable error; a retry then completes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy

from lsst.ts.archiver.butler import (
    FileStatus,
    RawIngester,
    RegistryUnavailableError,
    create_repository,
    is_registry_unavailable,
)
from lsst.ts.archiver.testing import TemporaryPostgres, make_primary_header, write_raw_file


def exposure_files(directory: Path, seq_num: int) -> list[Path]:
    directory.mkdir(parents=True)
    return [
        write_raw_file(directory, make_primary_header("LSSTComCam", seq_num=seq_num, detector=name))
        for name in ("R22_S00", "R22_S01", "R22_S02")
    ]


@pytest.mark.integration  # its own PostgreSQL server, stopped and restarted
def test_postgresql_down_then_back_raises_then_retry_ingests_everything_once(tmp_path: Path) -> None:
    with TemporaryPostgres() as server:
        url = server.create_database("butler")
        with create_repository(tmp_path / "repo", db=url, instruments=["LSSTComCam"]) as butler:
            ingester = RawIngester(butler)
            assert ingester.ingest(exposure_files(tmp_path / "a", 1)).ok
            paths = exposure_files(tmp_path / "b", 2)
            server.pause()
            with pytest.raises(RegistryUnavailableError, match="retry later") as caught:
                ingester.ingest(paths)
            assert is_registry_unavailable(caught.value)
            server.resume()
            report = None
            for _ in range(3):  # the first use after the restart may meet a dead pooled connection
                try:
                    report = ingester.ingest(paths)
                    break
                except RegistryUnavailableError:
                    continue
            assert report is not None and report.ok
            assert len(butler.query_datasets("raw", collections="LSSTComCam/raw/all", explain=False)) == 6
            assert {r.status for r in ingester.ingest(paths).files} == {FileStatus.ALREADY_PRESENT}


def test_locked_or_lost_database_errors_are_retryable_and_integrity_errors_are_not() -> None:
    # daf_butler waits up to 5 minutes on a locked SQLite registry before it
    # raises this, too long for a test; the classification is what matters.
    locked = sqlalchemy.exc.OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))
    assert is_registry_unavailable(locked)
    try:
        try:
            raise locked
        except sqlalchemy.exc.OperationalError as e:
            raise RuntimeError("sync failed") from e
    except RuntimeError as wrapped:
        assert is_registry_unavailable(wrapped)
    conflict = sqlalchemy.exc.IntegrityError(
        "INSERT ...", {}, sqlite3.IntegrityError("UNIQUE constraint failed")
    )
    assert not is_registry_unavailable(conflict)
    assert not is_registry_unavailable(ValueError("bad header"))
