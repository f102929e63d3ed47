"""Delivery fixtures: raw exposures on a staging disk, S3 and PostgreSQL servers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from delivery_test_support import Exposure, RecordingHandler

from lsst.ts.archiver.testing import write_exposure


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    """The capture staging directory."""
    path = tmp_path / "staging"
    path.mkdir()
    return path


@pytest.fixture
def exposure_factory(staging: Path) -> Callable[..., Exposure]:
    """Write exposures to the staging directory."""

    def make(**kwargs: object) -> Exposure:
        return write_exposure(staging, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def results() -> Iterator[dict[str, list[object]]]:
    """Collected callback results by kind."""
    yield {"oods": [], "archived": [], "files": [], "ledger": []}


@pytest.fixture
def recorded_log(request: pytest.FixtureRequest) -> Iterator[tuple[logging.Logger, RecordingHandler]]:
    """A logger of this test (as the CSC would pass one) and what reaches it.

    It does not propagate to the root logger, so only records logged to it
    or its children are recorded.
    """
    log = logging.getLogger(f"delivery-test.{request.node.name}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    handler = RecordingHandler()
    log.addHandler(handler)
    yield log, handler
    log.removeHandler(handler)
