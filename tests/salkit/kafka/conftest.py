"""Fixtures for the Kafka transport tests: one tansu broker and one
development schema registry per test session, each test on its own topic
sub-name (deleted afterwards)."""

from __future__ import annotations

import collections.abc
import pathlib

import pytest
import yaml

from lsst.ts.salkit.kafka import KafkaConfig, TopicAdmin
from lsst.ts.salkit.kafka.devstack import TANSU_CONSUMER_CONFIGURATION
from lsst.ts.salkit.kafka.local_servers import ServerProcess, start_registry, start_tansu


@pytest.fixture(scope="session")
def kafka_state_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Directory for the servers' logs and the consumer configuration."""
    return tmp_path_factory.mktemp("kafka")


@pytest.fixture(scope="session")
def tansu_broker(kafka_state_dir: pathlib.Path) -> collections.abc.Iterator[ServerProcess]:
    """A tansu broker (memory storage) on a free loopback port."""
    broker = start_tansu(log_path=kafka_state_dir / "tansu.log")
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def schema_registry(kafka_state_dir: pathlib.Path) -> collections.abc.Iterator[ServerProcess]:
    """The development schema registry, in its own process."""
    registry = start_registry(log_path=kafka_state_dir / "registry.log")
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def consumer_config_path(kafka_state_dir: pathlib.Path) -> pathlib.Path:
    """LSST_KAFKA_CONSUMER_CONFIGURATION file with the settings tansu needs."""
    path = kafka_state_dir / "consumer.yaml"
    path.write_text(yaml.safe_dump(TANSU_CONSUMER_CONFIGURATION))
    return path


@pytest.fixture
def kafka_env(
    tansu_broker: ServerProcess,
    schema_registry: ServerProcess,
    consumer_config_path: pathlib.Path,
    isolated_topic_subname: str,
    monkeypatch: pytest.MonkeyPatch,
) -> collections.abc.Iterator[KafkaConfig]:
    """Point the environment at the test broker and registry, select the
    kafka transport; yield the resulting config; delete the test's topics."""
    env = {
        "LSST_SALKIT_TRANSPORT": "kafka",
        "LSST_KAFKA_BROKER_ADDR": tansu_broker.address,
        "LSST_SCHEMA_REGISTRY_URL": f"http://{schema_registry.address}",
        "LSST_TOPIC_SUBNAME": isolated_topic_subname,
        "LSST_KAFKA_CONSUMER_CONFIGURATION": str(consumer_config_path),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = KafkaConfig.from_environ()
    yield config
    TopicAdmin(config).delete_topics_of_subname(config.topic_subname)
