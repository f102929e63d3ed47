"""An SQLite ledger whose file is deleted, replaced or made read-only while open
refuses every transaction with a `LedgerError` (nothing is written on to a
database that is no longer the file at its path)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_test_support import IMAGE, register

from lsst.ts.archiver.ledger import Ledger, LedgerError


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` read-only for this process, as the kernel sees it.

    As root (the tests' user here) permission bits do not stop writes
    (CAP_DAC_OVERRIDE), so the file is made immutable (``chattr +i``,
    which root obeys too); otherwise ``chmod a-w`` is enough.
    """
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", os.fspath(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", os.fspath(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
def ledger(ledger_path: Path) -> Iterator[Ledger]:
    with Ledger(f"sqlite:///{ledger_path}") as opened:
        register(opened)
        yield opened


def test_a_deleted_ledger_file_refuses_every_transaction_and_is_not_recreated(
    ledger: Ledger, ledger_path: Path
) -> None:
    ledger_path.unlink()
    with pytest.raises(LedgerError, match="was deleted"):
        ledger.has_image(IMAGE)
    with pytest.raises(LedgerError, match="was deleted"):
        register(ledger, "MC_O_20261123_000043")
    assert not ledger_path.exists(), "no new, empty ledger is made at the path"


def test_a_ledger_file_moved_away_and_back_is_used_again(ledger: Ledger, ledger_path: Path) -> None:
    moved = ledger_path.with_suffix(".moved")
    ledger_path.rename(moved)
    with pytest.raises(LedgerError, match=str(ledger_path)):
        ledger.has_image(IMAGE)
    moved.rename(ledger_path)
    assert ledger.has_image(IMAGE)


def test_a_replaced_ledger_file_refuses_every_transaction(ledger: Ledger, ledger_path: Path) -> None:
    copy = ledger_path.with_suffix(".copy")
    shutil.copy(ledger_path, copy)
    copy.replace(ledger_path)
    with pytest.raises(LedgerError, match="was replaced"):
        ledger.has_image(IMAGE)


def test_a_read_only_ledger_file_refuses_every_transaction(ledger: Ledger, ledger_path: Path) -> None:
    with read_only(ledger_path):
        with pytest.raises(LedgerError, match="not writable"):
            register(ledger, "MC_O_20261123_000043")
    assert register(ledger, "MC_O_20261123_000043")


def test_an_in_memory_ledger_has_no_file_to_check() -> None:
    with Ledger("sqlite://") as ledger:
        register(ledger)
        assert ledger.has_image(IMAGE)
