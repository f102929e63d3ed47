"""Kafka topic administration as ts_salobj v8 does it: create the missing
topics of a component (1 partition; events compacted; replication from the
environment), delete the topics of a subname (test clean-up), delete consumer
groups. Blocking calls: run them in a thread from asyncio code."""

from __future__ import annotations

__all__ = ["TopicAdmin", "TopicAdminError"]

import logging
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from .config import KafkaConfig
from .naming import is_compacted, parse_kafka_topic_name, topic_kind, topic_prefix
from .producer import LIBRDKAFKA_LOG


class TopicAdminError(RuntimeError):
    """Topics could not be listed, created or deleted."""


class TopicAdmin:
    """Create and delete SAL topics.

    Parameters
    ----------
    config : `KafkaConfig`
        Broker address, credentials, replication factor.
    log : `logging.Logger`, optional
        Logger.
    timeout : `float`
        How long each operation may take (seconds).
    """

    def __init__(self, config: KafkaConfig, log: logging.Logger | None = None, timeout: float = 30.0) -> None:
        self.config = config
        self.log = log or logging.getLogger(__name__)
        self.timeout = timeout
        settings: dict[str, Any] = {"logger": LIBRDKAFKA_LOG, **config.common_client_config()}
        self._client = AdminClient(settings)

    def list_topics(self) -> set[str]:
        """Return the names of all topics on the broker."""
        try:
            metadata = self._client.list_topics(timeout=self.timeout)
        except KafkaException as e:
            raise TopicAdminError(
                f"cannot list topics of broker {self.config.broker_addr} (LSST_KAFKA_BROKER_ADDR): {e}"
            ) from e
        return set(metadata.topics)

    def create_missing_topics(self, kafka_topics: Iterable[str]) -> list[str]:
        """Create those of ``kafka_topics`` that do not exist; return them.

        Each has 1 partition and ``LSST_KAFKA_REPLICATION_FACTOR`` replicas;
        event topics get ``cleanup.policy=compact``. A topic created by
        someone else meanwhile is not an error.
        """
        wanted = sorted(set(kafka_topics))
        existing = self.list_topics()
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return []
        new_topics = [self._new_topic(name) for name in missing]
        futures = self._client.create_topics(
            new_topics, operation_timeout=self.timeout, request_timeout=self.timeout
        )
        failures = []
        for name, future in futures.items():
            try:
                future.result(timeout=self.timeout)
            except KafkaException as e:
                error = e.args[0] if e.args else None
                if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    continue
                failures.append(f"{name}: {e}")
        if failures:
            raise TopicAdminError(
                f"could not create {len(failures)} of {len(missing)} topics on {self.config.broker_addr}: "
                + "; ".join(failures[:5])
            )
        self._wait_until_listed(missing)
        self.log.debug("Created %d topics", len(missing))
        return missing

    def delete_topics_of_subname(self, subname: str, component: str | None = None) -> list[str]:
        """Delete every ``lsst.<subname>.*`` topic (or only those of
        ``component``); return the deleted names. For test clean-up."""
        prefix = topic_prefix(subname, component)
        names = sorted(name for name in self.list_topics() if name.startswith(prefix))
        if not names:
            return []
        futures = self._client.delete_topics(
            names, operation_timeout=self.timeout, request_timeout=self.timeout
        )
        failures = []
        for name, future in futures.items():
            try:
                future.result(timeout=self.timeout)
            except KafkaException as e:
                failures.append(f"{name}: {e}")
        if failures:
            raise TopicAdminError(f"could not delete {len(failures)} topics: " + "; ".join(failures[:5]))
        return names

    def delete_consumer_group(self, group_id: str) -> None:
        """Delete a consumer group; a group that does not exist is ignored."""
        futures = self._client.delete_consumer_groups([group_id], request_timeout=self.timeout)
        for future in futures.values():
            try:
                future.result(timeout=self.timeout)
            except KafkaException as e:
                error = e.args[0] if e.args else None
                if isinstance(error, KafkaError) and error.code() == KafkaError.GROUP_ID_NOT_FOUND:
                    return
                raise TopicAdminError(f"could not delete consumer group {group_id!r}: {e}") from e

    def _new_topic(self, name: str) -> NewTopic:
        _, _, sal_name = parse_kafka_topic_name(name)
        config = {"cleanup.policy": "compact"} if is_compacted(topic_kind(sal_name)) else {}
        return NewTopic(
            name,
            num_partitions=1,
            replication_factor=self.config.replication_factor,
            config=config,
        )

    def _wait_until_listed(self, names: list[str]) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            missing = set(names) - self.list_topics()
            if not missing:
                return
            if time.monotonic() > deadline:
                raise TopicAdminError(
                    f"{len(missing)} created topics still not listed, e.g. {sorted(missing)[0]}"
                )
            time.sleep(0.05)
