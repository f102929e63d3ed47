"""Every Archiver CSC test runs with LSST_SITE=test and its own topic sub-name."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from lsst.ts import salkit


@pytest.fixture(autouse=True)
def archiver_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LSST_SITE", "test")
    monkeypatch.setenv(salkit.TRANSPORT_ENV_VAR, "memory")
    saved = os.environ.get(salkit.TOPIC_SUBNAME_ENV_VAR)
    salkit.set_test_topic_subname()
    yield
    if saved is None:
        os.environ.pop(salkit.TOPIC_SUBNAME_ENV_VAR, None)
    else:
        os.environ[salkit.TOPIC_SUBNAME_ENV_VAR] = saved
