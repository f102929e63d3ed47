"""Test helpers: a throwaway PostgreSQL cluster and small raw FITS files.

`TemporaryPostgres` starts a private PostgreSQL server (``initdb`` +
``pg_ctl``) in a temporary directory on a free loopback port and removes it
on `~TemporaryPostgres.stop`; it never touches a server that is already
running. PostgreSQL refuses to run as root, so when the tests run as root the
server runs as the ``postgres`` system user (through ``runuser``).

`write_raw_file` writes a small but complete raw file (primary header plus
16 image extensions named as the camera names them) and its sidecar.
"""

from __future__ import annotations

__all__ = ["TemporaryPostgres", "find_postgres_bin", "write_raw_file"]

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
from astropy.io import fits

from ..camera import get_camera
from ..metadata import make_sidecar, sidecar_path_for, write_sidecar


def find_postgres_bin() -> Path:
    """Return the directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Raises
    ------
    FileNotFoundError
        Raised if PostgreSQL server binaries are not installed (Debian
        package ``postgresql``).
    """
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]), reverse=True
    )
    found = shutil.which("initdb")
    if found:
        candidates.append(os.path.realpath(found))
    for candidate in candidates:
        directory = Path(candidate).parent
        if (directory / "pg_ctl").exists() and (directory / "postgres").exists():
            return directory
    raise FileNotFoundError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryPostgres:
    """A private PostgreSQL cluster on 127.0.0.1 for tests and benchmarks.

    Parameters
    ----------
    user : `str`, optional
        Login role created for the clients (superuser, trust authentication
        on loopback).

    Notes
    -----
    Use as a context manager, or call `start` and `stop`. Databases made by
    `create_database` have the ``btree_gist`` extension the Butler needs.
    """

    def __init__(self, user: str = "archiver") -> None:
        self.user = user
        self.port = 0
        self._bin = find_postgres_bin()
        self._dir: Path | None = None
        self._run_as: list[str] = []
        self._started = False

    @property
    def host(self) -> str:
        """Server address (always loopback)."""
        return "127.0.0.1"

    def url(self, database: str = "postgres") -> str:
        """Return an SQLAlchemy URL of a database (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._run_as, *args], check=check, capture_output=True, text=True, timeout=120, cwd="/"
        )

    def start(self) -> TemporaryPostgres:
        """Create the cluster and start the server; return self.

        Raises
        ------
        RuntimeError
            Raised if ``initdb`` or the server fails; the message has the
            server log.
        """
        self._dir = Path(tempfile.mkdtemp(prefix="ts_archiver_pg_"))
        data = self._dir / "data"
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self._dir, owner.pw_uid, owner.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]
        self.port = _free_port()
        try:
            self._run(
                str(self._bin / "initdb"),
                "-D",
                str(data),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            )
        except subprocess.CalledProcessError as e:
            self.stop()
            raise RuntimeError(f"PostgreSQL initdb failed: {e.stderr.strip()}") from e
        self._start_server()
        return self

    def _start_server(self) -> None:
        assert self._dir is not None
        options = f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        try:
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
        except subprocess.CalledProcessError as e:
            log = self._log()
            self.stop()
            raise RuntimeError(f"PostgreSQL failed to start: {e.stderr.strip()}\n{log}") from e
        self._started = True

    def _stop_server(self, mode: str = "immediate") -> None:
        if self._dir is not None and self._started:
            self._run(
                str(self._bin / "pg_ctl"),
                "-D",
                str(self._dir / "data"),
                "-m",
                mode,
                "-w",
                "stop",
                check=False,
            )
            self._started = False

    def pause(self, mode: Literal["fast", "immediate"] = "fast") -> None:
        """Stop the server but keep the cluster (to test an unreachable
        registry or ledger); `resume` starts it again.

        Clients are disconnected; committed data survives.

        Parameters
        ----------
        mode : {"fast", "immediate"}, optional
            ``pg_ctl stop`` mode: ``"fast"`` (clean shutdown) or
            ``"immediate"`` (as if the server crashed).
        """
        self._stop_server(mode)

    def resume(self) -> None:
        """Start a paused server again on the same port."""
        if not self._started:
            self._start_server()

    def _log(self) -> str:
        if self._dir is None:
            return ""
        try:
            return (self._dir / "server.log").read_text()[-2000:]
        except OSError:
            return ""

    def create_database(self, name: str) -> str:
        """Create a database with ``btree_gist``; return its URL."""
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        engine = sqlalchemy.create_engine(self.url(name), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("CREATE EXTENSION IF NOT EXISTS btree_gist"))
        finally:
            engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete the cluster (idempotent)."""
        if self._dir is None:
            return
        self._stop_server()
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(self, *args: object) -> None:
        self.stop()


def write_raw_file(
    directory: str | os.PathLike[str],
    header: Mapping[str, Any],
    *,
    shape: tuple[int, int] = (8, 12),
    sidecar: bool = True,
    seed: int = 0,
) -> Path:
    """Write a small raw file (and its sidecar) the way the archiver lays it out.

    Parameters
    ----------
    directory : `str` or `os.PathLike`
        Where to write; the name is the header's ``FILENAME``.
    header : `~collections.abc.Mapping`
        Primary header (e.g. from
        `lsst.ts.archiver.metadata.testing.make_primary_header`).
    shape : `tuple` [`int`, `int`], optional
        Pixel array shape of each amplifier image (rows, columns).
    sidecar : `bool`, optional
        Also write the JSON sidecar next to the file.
    seed : `int`, optional
        Seed of the pixel values.

    Returns
    -------
    path : `pathlib.Path`
        Path of the FITS file.
    """
    camera = get_camera(str(header["INSTRUME"]))
    detector = camera.detector_by_raft_sensor(str(header["RAFTBAY"]), str(header["CCDSLOT"]))
    primary = fits.PrimaryHDU()
    for key, value in header.items():
        primary.header[key] = value
    rng = np.random.default_rng(seed)
    hdus: list[Any] = [primary]
    for amplifier in detector.amplifiers:
        data = rng.integers(15000, 25000, size=shape, dtype=np.int32)
        image = fits.ImageHDU(data=data)
        image.header["EXTNAME"] = amplifier.extname
        image.header["CHANNEL"] = amplifier.hdu
        hdus.append(image)
    path = Path(directory) / str(header["FILENAME"])
    fits.HDUList(hdus).writeto(path, overwrite=True, checksum=True)
    if sidecar:
        made = make_sidecar(header, filename=path.name, size=path.stat().st_size)
        write_sidecar(sidecar_path_for(path), made)
    return path
