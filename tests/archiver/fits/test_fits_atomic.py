"""Atomic, durable writes and the specific errors for disk full / permission."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lsst.ts.archiver.fits import (
    AtomicFile,
    DiskFullError,
    FitsWriteError,
    WritePermissionError,
    write_buffers,
)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_file_appears_under_its_final_name_only_after_the_context(tmp_path: Path) -> None:
    target = tmp_path / "a.fits"
    with AtomicFile(target) as out:
        out.write([b"x" * 2880, memoryview(b"y" * 100)])
        assert not target.exists()
        assert out.temp_path.exists() and out.temp_path.parent == tmp_path
    assert target.read_bytes() == b"x" * 2880 + b"y" * 100
    assert leftovers(tmp_path) == ["a.fits"]


def test_exception_inside_leaves_neither_final_nor_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "a.fits"
    with pytest.raises(RuntimeError), AtomicFile(target) as out:
        out.write([b"partial"])
        raise RuntimeError("decode failed")
    assert leftovers(tmp_path) == []


def test_rewrite_replaces_the_old_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "a.fits"
    target.write_bytes(b"old")
    with AtomicFile(target) as out:
        out.write([b"new"])
    assert target.read_bytes() == b"new"


def test_overwrite_false_keeps_the_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "a.fits"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError), AtomicFile(target, overwrite=False) as out:
        out.write([b"new"])
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == ["a.fits"]


def test_disk_full_raises_disk_full_error_naming_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, buffers: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "writev", full)
    target = tmp_path / "MC_O_20260315_000051_R22_S11.fits"
    with pytest.raises(DiskFullError) as info, AtomicFile(target) as out:
        out.write([b"data"])
    assert str(target) in str(info.value) and "no space left" in str(info.value)
    assert info.value.path == str(target) and info.value.errno == errno.ENOSPC
    assert leftovers(tmp_path) == []


def test_permission_denied_raises_write_permission_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def denied(path: object, flags: int, mode: int = 0o777) -> int:
        if str(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    target = tmp_path / "a.fits"
    with pytest.raises(WritePermissionError, match="permission denied") as info, AtomicFile(target):
        pass
    assert info.value.path == str(target)


def test_read_only_file_system_is_a_permission_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(src: object, dst: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", read_only)
    with pytest.raises(WritePermissionError), AtomicFile(tmp_path / "a.fits") as out:
        out.write([b"x"])
    assert leftovers(tmp_path) == []


def test_missing_directory_raises_fits_write_error_naming_the_path(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "a.fits"
    with pytest.raises(FitsWriteError, match="nowhere/a.fits"), AtomicFile(target):
        pass


def test_short_writes_are_resumed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.writev

    def short(fd: int, buffers: list[memoryview]) -> int:
        first = buffers[0]
        return real(fd, [first[: min(7, first.nbytes)]])

    monkeypatch.setattr(os, "writev", short)
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        assert write_buffers(fd, [b"0123456789", b"", b"abcdefghijklmnop"]) == 26
    finally:
        os.close(fd)
    assert path.read_bytes() == b"0123456789abcdefghijklmnop"


def test_fsync_flushes_file_and_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    with AtomicFile(tmp_path / "a.fits", fsync=True) as out:
        out.write([b"x"])
    assert len(synced) == 2  # the file, then the directory entry


def test_real_file_size_limit_is_reported_as_disk_full(tmp_path: Path) -> None:
    """The kernel refuses the write (EFBIG under RLIMIT_FSIZE): no monkeypatching."""
    script = f"""
import resource, signal, sys
from lsst.ts.archiver.fits import AtomicFile, DiskFullError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
try:
    with AtomicFile({str(tmp_path / "big.fits")!r}) as out:
        out.write([bytes(1_000_000)])
except DiskFullError as e:
    print("DiskFullError", e.path)
    sys.exit(0)
sys.exit(1)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"DiskFullError {tmp_path / 'big.fits'}"
    assert leftovers(tmp_path) == []
