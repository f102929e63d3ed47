"""A local Kafka stack for tests: tansu and the development schema registry.

`local_kafka` starts both on free loopback ports (see `local_servers`);
`kafka_environ` points a test's ``LSST_*`` variables at them and deletes the
test's topics afterwards.
"""

from __future__ import annotations

__all__ = ["LocalKafka", "kafka_environ", "local_kafka"]

import contextlib
import dataclasses
import os
import pathlib
import tempfile
from collections.abc import Iterator

import yaml

from .admin import TopicAdmin
from .config import KafkaConfig
from .devstack import TANSU_CONSUMER_CONFIGURATION
from .local_servers import ServerProcess, start_registry, start_tansu


@dataclasses.dataclass(frozen=True)
class LocalKafka:
    """A running tansu broker and schema registry on free loopback ports.

    Attributes
    ----------
    tansu : `lsst.ts.salkit.kafka.local_servers.ServerProcess`
        The broker.
    registry : `lsst.ts.salkit.kafka.local_servers.ServerProcess`
        The development schema registry.
    consumer_config : `pathlib.Path`
        The consumer settings file tansu needs (short session timeout).
    """

    tansu: ServerProcess
    registry: ServerProcess
    consumer_config: pathlib.Path

    def environ(self) -> dict[str, str]:
        """Return the ``LSST_*`` variables that point clients at this stack."""
        return {
            "LSST_SALKIT_TRANSPORT": "kafka",
            "LSST_KAFKA_BROKER_ADDR": self.tansu.address,
            "LSST_SCHEMA_REGISTRY_URL": f"http://{self.registry.address}",
            "LSST_KAFKA_CONSUMER_CONFIGURATION": str(self.consumer_config),
        }


@contextlib.contextmanager
def local_kafka() -> Iterator[LocalKafka]:
    """Start tansu and the schema registry (logs in a temporary directory);
    stop both and remove the directory on exit.

    Use it as a class context of a ``unittest`` test case, or in a session
    fixture::

        @classmethod
        def setUpClass(cls) -> None:
            cls.kafka = cls.enterClassContext(local_kafka())

        def setUp(self) -> None:
            self.enterContext(kafka_environ(self.kafka))

    Yields
    ------
    kafka : `LocalKafka`
        The running stack.
    """
    with tempfile.TemporaryDirectory() as state_dir:
        state_path = pathlib.Path(state_dir)
        consumer_config = state_path / "consumer.yaml"
        consumer_config.write_text(yaml.safe_dump(TANSU_CONSUMER_CONFIGURATION))
        tansu = start_tansu(log_path=state_path / "tansu.log")
        try:
            registry = start_registry(log_path=state_path / "registry.log")
            try:
                yield LocalKafka(tansu=tansu, registry=registry, consumer_config=consumer_config)
            finally:
                registry.stop()
        finally:
            tansu.stop()


@contextlib.contextmanager
def kafka_environ(kafka: LocalKafka, **extra: str) -> Iterator[KafkaConfig]:
    """Point ``os.environ`` at ``kafka`` (plus ``extra`` variables); on exit
    delete the topics of the current topic sub-name and restore the
    environment.

    Parameters
    ----------
    kafka : `LocalKafka`
        The stack to use.
    **extra : `str`
        More environment variables, e.g. ``LSST_TOPIC_SUBNAME``.

    Yields
    ------
    config : `lsst.ts.salkit.kafka.KafkaConfig`
        The Kafka configuration of the new environment.
    """
    saved_env = dict(os.environ)
    os.environ.update({**kafka.environ(), **extra})
    try:
        yield KafkaConfig.from_environ()
    finally:
        try:
            config = KafkaConfig.from_environ()
            TopicAdmin(config).delete_topics_of_subname(config.topic_subname)
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
