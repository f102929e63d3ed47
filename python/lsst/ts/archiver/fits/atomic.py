"""Atomic, optionally durable file creation: temporary name, write, fsync, rename.

A reader never sees a half-written file under the final name: the bytes go
to a hidden temporary file in the target directory (same file system, so
the rename is atomic), which is renamed over the final name only after the
last byte is written (and, if asked, flushed to disk together with the
directory entry). On any failure the temporary file is removed.
"""

from __future__ import annotations

__all__ = ["AtomicFile", "preallocate", "translate_os_error", "write_buffers"]

import ctypes
import ctypes.util
import errno
import os
import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from .checksum import FileDigest
from .errors import DiskFullError, FitsWriteError, WritePermissionError

_IOV_MAX = 512  # well under IOV_MAX (1024 on Linux)
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


_FALLOC_FL_KEEP_SIZE = 1


def _load_fallocate() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.fallocate
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    function.restype = ctypes.c_int
    return function


_fallocate = _load_fallocate()


def preallocate(fd: int, size: int) -> bool:
    """Reserve ``size`` bytes of disk for an empty file, without changing its size.

    Linux ``fallocate(FALLOC_FL_KEEP_SIZE)``, as numpy's ``tofile`` does:
    the file system allocates the extents at once, which makes the
    following large write markedly faster on ext4/xfs. Best effort: returns
    False where unsupported (other OS, file system without fallocate).
    """
    if _fallocate is None or size <= 0:
        return False
    return bool(_fallocate(fd, _FALLOC_FL_KEEP_SIZE, 0, size) == 0)


_OVERLAP_BYTES = 1 << 20
"""Buffers at least this large are hashed in a thread while they are written."""

_hashers: ThreadPoolExecutor | None = None
_hashers_lock = threading.Lock()


def _hash_in_background(digest: FileDigest, buffers: Sequence[bytes | memoryview]) -> Future[None]:
    """Feed ``buffers`` to ``digest`` in this process's hashing thread.

    hashlib and ``writev`` both release the GIL, so with a free core the
    digest costs no wall time; the buffers stay untouched until the future
    is done.
    """
    global _hashers
    with _hashers_lock:
        if _hashers is None:
            _hashers = ThreadPoolExecutor(1, thread_name_prefix="fits-digest")
        pool = _hashers

    def feed() -> None:
        for buffer in buffers:
            digest.update(buffer)

    return pool.submit(feed)


def translate_os_error(error: OSError, path: str | os.PathLike[str], action: str) -> FitsWriteError:
    """Turn an `OSError` into the writer's specific exception.

    Parameters
    ----------
    error : `OSError`
        The error raised by the OS.
    path : `str` or `os.PathLike`
        The file being written (named in the message).
    action : `str`
        What was being done, e.g. ``"write"``.

    Returns
    -------
    error : `FitsWriteError`
        `DiskFullError` for ENOSPC/EDQUOT/EFBIG, `WritePermissionError` for
        EACCES/EPERM/EROFS, else `FitsWriteError`.
    """
    path = os.fspath(path)
    code = error.errno
    if code in _DISK_FULL:
        return DiskFullError(
            f"cannot {action} {path}: no space left ({error.strerror}); free space in "
            f"{os.path.dirname(path) or '.'} or point the writer at another staging directory",
            path,
            code,
        )
    if code in _PERMISSION:
        return WritePermissionError(
            f"cannot {action} {path}: permission denied ({error.strerror}); check the owner, mode "
            "and mount options of the directory",
            path,
            code,
        )
    return FitsWriteError(f"cannot {action} {path}: {error.strerror or error}", path, code)


def write_buffers(fd: int, buffers: Sequence[bytes | memoryview]) -> int:
    """Write buffers with as few ``writev`` calls as possible.

    Handles short writes (the kernel may write fewer bytes than asked).

    Parameters
    ----------
    fd : `int`
        Open file descriptor.
    buffers : `~collections.abc.Sequence`
        Byte buffers, written in order.

    Returns
    -------
    written : `int`
        Total bytes written.
    """
    pending = [memoryview(b).cast("B") if not isinstance(b, bytes) else memoryview(b) for b in buffers]
    pending = [b for b in pending if b.nbytes]
    total = 0
    while pending:
        batch = pending[:_IOV_MAX]
        written = os.writev(fd, batch)
        total += written
        # Drop what was written; keep the rest of a partially written buffer.
        while written and pending:
            head = pending[0]
            if written >= head.nbytes:
                written -= head.nbytes
                pending.pop(0)
            else:
                pending[0] = head[written:]
                written = 0
    return total


class AtomicFile:
    """Context manager that creates ``path`` atomically.

    Parameters
    ----------
    path : `str` or `os.PathLike`
        Final path. Its directory must exist.
    fsync : `bool`, optional
        If True, flush the file and the directory to disk before and after
        the rename, so the file survives a power cut once the context exits.
    overwrite : `bool`, optional
        If False, raise `FileExistsError` at commit when ``path`` exists.
    mode : `int`, optional
        Permission bits of the final file.
    digest : `FileDigest` or `None`, optional
        Fed every buffer given to `write`, in order, as it is written (the
        file's digest without reading it back). Bytes another library
        writes by name must be fed by the caller, in file order.

    Notes
    -----
    Inside the context, write with `write` (buffers) or let another library
    write to `temp_path` by name. Leaving the context normally renames the
    temporary file to ``path``; leaving it with an exception removes the
    temporary file.

    Raises
    ------
    DiskFullError, WritePermissionError, FitsWriteError
        For OS errors while creating, writing, syncing or renaming.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: bool = False,
        overwrite: bool = True,
        mode: int = 0o644,
        digest: FileDigest | None = None,
    ) -> None:
        self.path = Path(path)
        self.digest = digest
        self.fsync = fsync
        self.overwrite = overwrite
        self.mode = mode
        self.temp_path = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        self._fd: int | None = None
        self.size = 0

    @property
    def fd(self) -> int:
        """The descriptor of the temporary file (valid inside the context)."""
        if self._fd is None:
            raise RuntimeError(f"{self.temp_path} is not open")
        return self._fd

    def __enter__(self) -> AtomicFile:
        try:
            self._fd = os.open(self.temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, self.mode)
        except OSError as e:
            raise translate_os_error(e, self.path, "create a temporary file for") from e
        return self

    def write(self, buffers: Sequence[bytes | memoryview]) -> None:
        """Append buffers to the temporary file (and feed them to `digest`,
        in a thread while they are written when they are large)."""
        total = sum(memoryview(b).nbytes for b in buffers)
        hashing: Future[None] | None = None
        if self.digest is not None and total >= _OVERLAP_BYTES:
            hashing = _hash_in_background(self.digest, buffers)
        try:
            if self.size == 0:
                preallocate(self.fd, total)
            self.size += write_buffers(self.fd, buffers)
        except OSError as e:
            raise translate_os_error(e, self.path, "write") from e
        finally:
            if hashing is not None:
                hashing.result()
        if self.digest is not None and hashing is None:
            for buffer in buffers:
                self.digest.update(buffer)

    def close_descriptor(self) -> None:
        """Close the descriptor early, e.g. before another library opens `temp_path`."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def reopen_for_append(self) -> None:
        """Reopen `temp_path` after another library wrote to it."""
        try:
            self._fd = os.open(self.temp_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            self.size = os.fstat(self._fd).st_size
        except OSError as e:
            raise translate_os_error(e, self.path, "reopen the temporary file of") from e

    def _commit(self) -> None:
        try:
            if self._fd is not None:
                if self.fsync:
                    os.fsync(self._fd)
                self.close_descriptor()
            elif self.fsync:
                # Another library wrote by name: flush through a new descriptor.
                fd = os.open(self.temp_path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            if not self.overwrite and self.path.exists():
                raise FileExistsError(f"{self.path} exists and overwrite=False")
            self.size = os.stat(self.temp_path).st_size
            os.replace(self.temp_path, self.path)
            if self.fsync:
                dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        except FileExistsError:
            raise
        except OSError as e:
            raise translate_os_error(e, self.path, "commit") from e

    def _discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        try:
            os.unlink(self.temp_path)
        except FileNotFoundError:
            pass

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            self._commit()
        except BaseException:
            self._discard()
            raise
