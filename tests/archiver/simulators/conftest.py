"""Shared fixtures for the simulator tests: an isolated SAL topic sub-name per test."""

from __future__ import annotations

import collections.abc
import os
import uuid

import pytest

from lsst.ts.salkit.transport import TOPIC_SUBNAME_ENV_VAR
from lsst.ts.salkit.transport.memory import get_memory_bus


@pytest.fixture(autouse=True)
def isolated_topic_subname(monkeypatch: pytest.MonkeyPatch) -> collections.abc.Iterator[str]:
    """Give each test its own topic sub-name (memory transport), so no history leaks."""
    subname = f"test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv(TOPIC_SUBNAME_ENV_VAR, subname)
    monkeypatch.delenv("LSST_SALKIT_TRANSPORT", raising=False)
    yield subname
    get_memory_bus().delete_topics(subname)


from servers.seaweedfs import s3_bucket, seaweedfs  # noqa: E402, F401
