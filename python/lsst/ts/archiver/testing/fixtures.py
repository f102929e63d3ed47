"""pytest fixtures of the throwaway servers in `lsst.ts.archiver.testing.servers`.

A pytest plugin: load it with ``pytest_plugins =
["lsst.ts.archiver.testing.fixtures"]`` in a top-level ``conftest.py``. It
imports pytest, so the rest of `lsst.ts.archiver.testing` does not import it.

Session fixtures start one server each for the whole run (only if a test
asks for it); function fixtures give each test its own database, bucket or
Kafka topic sub-name on it. Every test that uses one of these fixtures is an
integration test (``-m integration``); see ``tests/conftest.py``.
"""

from __future__ import annotations

__all__ = [
    "SERVER_FIXTURES",
    "isolated_topic_subname",
    "kafka_env",
    "kafka_stack",
    "postgres_database",
    "postgres_server",
    "redis_server",
    "s3_bucket",
    "seaweedfs",
]

import os
import secrets
import uuid
from collections.abc import Callable, Iterator

import pytest
from lsst.ts import salkit

from lsst.ts.salkit.kafka import KafkaConfig, TopicAdmin
from lsst.ts.salkit.transport import TOPIC_SUBNAME_ENV_VAR
from lsst.ts.salkit.transport.memory import get_memory_bus

from .servers import LocalKafka, TemporaryPostgres, TemporaryRedis, TemporarySeaweedFS, local_kafka

#: Names of the fixtures that start (or use) a real server.
SERVER_FIXTURES = frozenset(
    {
        "kafka_env",
        "kafka_stack",
        "postgres_database",
        "postgres_server",
        "redis_server",
        "s3_bucket",
        "seaweedfs",
    }
)


@pytest.fixture
def isolated_topic_subname(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Give the test a topic sub-name of its own on the memory transport (the
    default), so no event history leaks between tests; forget its topics
    afterwards. Returns the sub-name."""
    subname = f"test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv(TOPIC_SUBNAME_ENV_VAR, subname)
    monkeypatch.delenv("LSST_SALKIT_TRANSPORT", raising=False)
    yield subname
    get_memory_bus().delete_topics(subname)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    """A private PostgreSQL server for the whole session."""
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture
def postgres_database(postgres_server: TemporaryPostgres) -> Callable[[], str]:
    """A function that makes a new empty database on the session server and
    returns its SQLAlchemy URL."""

    def make() -> str:
        return postgres_server.create_database(f"db_{secrets.token_hex(6)}")

    return make


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[TemporarySeaweedFS]:
    """A private SeaweedFS (S3) server for the whole session."""
    with TemporarySeaweedFS() as server:
        yield server


@pytest.fixture
def s3_bucket(seaweedfs: TemporarySeaweedFS, monkeypatch: pytest.MonkeyPatch) -> str:
    """Create a new bucket and return its name; ``S3_ENDPOINT_URL`` and
    ``AWS_*`` point lsst-resources and boto3 at the server for the test."""
    seaweedfs.start()  # in case a test stopped it
    for key, value in seaweedfs.env().items():
        monkeypatch.setenv(key, value)
    name = f"raw-{secrets.token_hex(4)}"
    seaweedfs.create_bucket(name)
    return name


@pytest.fixture
def redis_server() -> Iterator[TemporaryRedis]:
    """A private Redis server for one test (a test may kill and restart it)."""
    with TemporaryRedis() as server:
        yield server


@pytest.fixture(scope="session")
def kafka_stack() -> Iterator[LocalKafka]:
    """A tansu broker and the development schema registry for the whole session."""
    with local_kafka() as kafka:
        yield kafka


@pytest.fixture
def kafka_env(kafka_stack: LocalKafka, monkeypatch: pytest.MonkeyPatch) -> Iterator[KafkaConfig]:
    """Select the Kafka transport on the session's stack, with a topic
    sub-name of the test's own; yield the configuration; delete the test's
    topics afterwards (the test may change the environment meanwhile)."""
    for name, value in kafka_stack.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(TOPIC_SUBNAME_ENV_VAR, salkit.make_test_topic_subname())
    config = KafkaConfig.from_environ()
    yield config
    TopicAdmin(config).delete_topics_of_subname(config.topic_subname)
