"""pytest fixtures: a SeaweedFS S3 server (one per session) and a fresh bucket per test.

`s3_bucket` points lsst-resources and boto3 at the server through
``S3_ENDPOINT_URL`` / ``AWS_*`` environment variables for the test. Import
the fixtures into a conftest::

    from servers.seaweedfs import s3_bucket, seaweedfs  # noqa: F401
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from lsst.ts.archiver.delivery.testing import TemporarySeaweedFS


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[TemporarySeaweedFS]:
    """A private SeaweedFS (S3) server for the whole session."""
    with TemporarySeaweedFS() as server:
        yield server


@pytest.fixture
def s3_bucket(seaweedfs: TemporarySeaweedFS, monkeypatch: pytest.MonkeyPatch) -> str:
    """Create a new bucket; the environment points S3 clients at the server. Returns its name."""
    seaweedfs.start()  # in case a test stopped it
    for key, value in seaweedfs.env().items():
        monkeypatch.setenv(key, value)
    name = f"raw-{secrets.token_hex(4)}"
    seaweedfs.create_bucket(name)
    return name
