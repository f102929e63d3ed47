"""A local Kafka development stack: tansu + the development schema registry,
started in the background and described by a state directory, so a CSC and
its commanders can run in separate terminals.

The state directory holds ``state.json`` (ports and PIDs), ``consumer.yaml``
(consumer settings tansu needs, see below), ``env.sh`` (``export`` lines) and
the servers' logs.

tansu holds a consumer group's first JoinGroup for about half the session
timeout, so with librdkafka's default (45 s) every component would take 23 s
to start; ``consumer.yaml`` sets a 2 s session timeout, which tansu accepts
(a real Kafka broker would refuse values below its 6 s minimum; production
does not use this file).
"""

from __future__ import annotations

__all__ = [
    "TANSU_CONSUMER_CONFIGURATION",
    "DevStack",
    "DevStackError",
]

import dataclasses
import json
import os
import pathlib
import shlex
import signal
import time
from typing import Any

import yaml

from .local_servers import LOOPBACK, port_accepts, start_registry, start_tansu

TANSU_CONSUMER_CONFIGURATION: dict[str, Any] = {
    "session.timeout.ms": 2000,
    "heartbeat.interval.ms": 300,
    "fetch.wait.max.ms": 5,
}

STATE_FILE = "state.json"
CONSUMER_FILE = "consumer.yaml"
ENV_FILE = "env.sh"


class DevStackError(RuntimeError):
    """The development stack cannot be started, stopped or found."""


@dataclasses.dataclass(frozen=True)
class _ServerRecord:
    name: str
    pid: int
    host: str
    port: int


@dataclasses.dataclass
class DevStack:
    """The development stack described by one state directory.

    Parameters
    ----------
    state_dir : `pathlib.Path`
        Directory for the state file, logs and generated configuration.
    """

    state_dir: pathlib.Path

    @property
    def state_path(self) -> pathlib.Path:
        """The state file."""
        return self.state_dir / STATE_FILE

    def environ(self, subname: str, broker_port: int, registry_port: int) -> dict[str, str]:
        """Return the environment variables that point clients at the stack."""
        return {
            "LSST_KAFKA_BROKER_ADDR": f"{LOOPBACK}:{broker_port}",
            "LSST_SCHEMA_REGISTRY_URL": f"http://{LOOPBACK}:{registry_port}",
            "LSST_TOPIC_SUBNAME": subname,
            "LSST_KAFKA_CONSUMER_CONFIGURATION": str(self.state_dir.absolute() / CONSUMER_FILE),
            "LSST_SALKIT_TRANSPORT": "kafka",
        }

    def up(self, subname: str = "dev", broker_port: int = 0, registry_port: int = 0) -> dict[str, str]:
        """Start tansu and the registry in the background; return the
        environment to export.

        Raises
        ------
        DevStackError
            If a stack recorded in this directory is still running.
        """
        if self._read_state() is not None and self.running():
            raise DevStackError(
                f"a development stack is already running for {self.state_dir}; "
                "run 'salkit_kafka down' first or use another --dir"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        broker = start_tansu(broker_port, log_path=self.state_dir / "tansu.log", detach=True)
        try:
            registry = start_registry(
                registry_port, log_path=self.state_dir / "schema-registry.log", detach=True
            )
        except Exception:
            broker.stop()
            raise
        (self.state_dir / CONSUMER_FILE).write_text(yaml.safe_dump(TANSU_CONSUMER_CONFIGURATION))
        env = self.environ(subname, broker.port, registry.port)
        state = {
            "subname": subname,
            "servers": [
                dataclasses.asdict(_ServerRecord("tansu", broker.pid, broker.host, broker.port)),
                dataclasses.asdict(
                    _ServerRecord("schema-registry", registry.pid, registry.host, registry.port)
                ),
            ],
            "environ": env,
        }
        self.state_path.write_text(json.dumps(state, indent=2))
        (self.state_dir / ENV_FILE).write_text(format_exports(env))
        return env

    def down(self, timeout: float = 10.0) -> list[str]:
        """Stop the servers recorded in the state directory; return a line
        per server saying what was done."""
        state = self._read_state()
        if state is None:
            return [f"no development stack recorded in {self.state_dir}"]
        lines = []
        for record in self._servers(state):
            if not _is_our_server(record):
                lines.append(f"{record.name} (pid {record.pid}): not running (pid absent or reused)")
                continue
            lines.append(f"{record.name} (pid {record.pid}): {_terminate(record.pid, timeout)}")
        self.state_path.unlink()
        return lines

    def status(self) -> list[str]:
        """Return a line per recorded server: pid, address, running or not."""
        state = self._read_state()
        if state is None:
            return [f"no development stack recorded in {self.state_dir}"]
        lines = []
        for record in self._servers(state):
            alive = (
                _is_our_server(record) and _pid_alive(record.pid) and port_accepts(record.host, record.port)
            )
            lines.append(
                f"{record.name}: pid {record.pid}, {record.host}:{record.port}, "
                f"{'running' if alive else 'NOT running'}"
            )
        return lines

    def running(self) -> bool:
        """Whether every recorded server is alive and accepting connections."""
        state = self._read_state()
        if state is None:
            return False
        return all(
            _pid_alive(record.pid) and port_accepts(record.host, record.port)
            for record in self._servers(state)
        )

    def recorded_environ(self) -> dict[str, str]:
        """Return the environment recorded by `up`."""
        state = self._read_state()
        if state is None:
            raise DevStackError(f"no development stack recorded in {self.state_dir}; run 'salkit_kafka up'")
        return dict(state["environ"])

    def _read_state(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.state_path.read_text()))
        except FileNotFoundError:
            return None
        except ValueError as e:
            raise DevStackError(f"{self.state_path} is not valid JSON ({e}); delete it by hand") from e

    @staticmethod
    def _servers(state: dict[str, Any]) -> list[_ServerRecord]:
        return [_ServerRecord(**item) for item in state["servers"]]


def format_exports(env: dict[str, str]) -> str:
    """Return shell ``export`` lines for ``env``."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs and is not a zombie waiting to be reaped."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # The state letter follows the parenthesised command name.
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


_CMDLINE_MARKERS = {"tansu": b"tansu", "schema-registry": b"registry_server"}


def _is_our_server(record: _ServerRecord) -> bool:
    """Whether ``record.pid`` still runs the recorded server (not a reused pid)."""
    try:
        cmdline = pathlib.Path(f"/proc/{record.pid}/cmdline").read_bytes()
    except OSError:
        return False
    return _CMDLINE_MARKERS.get(record.name, b"\0") in cmdline


def _terminate(pid: int, timeout: float) -> str:
    if not _pid_alive(pid):
        return "was not running"
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "was not running"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return "stopped"
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return "stopped"
    return f"killed (did not stop within {timeout} s of SIGTERM)"
