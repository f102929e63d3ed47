"""Every simulator test runs on a topic sub-name of its own."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def own_topic_subname(isolated_topic_subname: str) -> str:
    """`isolated_topic_subname` for every test here."""
    return isolated_topic_subname
