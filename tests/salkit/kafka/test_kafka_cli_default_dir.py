"""``salkit_kafka`` without ``--dir``: the project's ``.kafka`` (``make kafka-up``) where it exists."""

from __future__ import annotations

import pathlib

import pytest

from lsst.ts.salkit.kafka.cli import default_state_dir


def test_the_state_of_make_kafka_up_is_found_from_the_project_root(tmp_path: pathlib.Path) -> None:
    (tmp_path / ".kafka").mkdir()
    assert default_state_dir(tmp_path) == tmp_path / ".kafka"


def test_elsewhere_the_state_is_in_the_runtime_directory(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    assert default_state_dir(tmp_path) == tmp_path / "run" / "salkit_kafka"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert default_state_dir(tmp_path) == pathlib.Path("/tmp/salkit_kafka")
