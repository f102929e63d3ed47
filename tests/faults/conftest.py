"""The fault-injection suite (doc/reliability.rst): every test runs a real
Archiver with LSST_SITE=test on the memory transport, with a topic sub-name
of its own, and with its working directory in ``tmp_path/"cwd"``, so a file
written to a relative path is caught by ``assert_confined``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsst.ts import salkit

pytest.register_assert_rewrite("fault_support")

from fault_support import Site  # noqa: E402


@pytest.fixture(autouse=True)
def archiver_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("LSST_SITE", "test")
    monkeypatch.setenv(salkit.TRANSPORT_ENV_VAR, "memory")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    saved = os.environ.get(salkit.TOPIC_SUBNAME_ENV_VAR)
    salkit.set_test_topic_subname()
    yield
    if saved is None:
        os.environ.pop(salkit.TOPIC_SUBNAME_ENV_VAR, None)
    else:
        os.environ[salkit.TOPIC_SUBNAME_ENV_VAR] = saved


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A LATISS Archiver's roots under ``tmp_path/"roots"``."""
    return Site(tmp_path, "ATArchiver")


@pytest.fixture
def comcam_site(tmp_path: Path) -> Site:
    """A ComCam Archiver's roots under ``tmp_path/"roots"``."""
    return Site(tmp_path, "CCArchiver")
