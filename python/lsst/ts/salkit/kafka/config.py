"""Kafka transport configuration read from the environment (ts_salobj v8 names).

Every variable salobj v8 reads is read here, with salobj's defaults and meaning,
into one immutable :class:`KafkaConfig`. Nothing else in the Kafka transport
looks at ``os.environ``.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_BROKER_ADDR",
    "DEFAULT_MAX_HISTORY_READ",
    "DEFAULT_SCHEMA_REGISTRY_URL",
    "KafkaConfig",
    "KafkaConfigError",
    "SaslConfig",
]

import dataclasses
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import yaml

from ..transport.base import TransportError

DEFAULT_BROKER_ADDR = "broker:29092"
DEFAULT_SCHEMA_REGISTRY_URL = "http://schema-registry:8081"
DEFAULT_REPLICATION_FACTOR = 1
DEFAULT_PRODUCER_WAIT_ACKS = "1"
DEFAULT_SECURITY_PROTOCOL = "SASL_PLAINTEXT"
DEFAULT_SECURITY_MECHANISM = "SCRAM-SHA-512"
DEFAULT_MAX_HISTORY_READ = 500

_VALID_ACKS = frozenset({"0", "1", "-1", "all"})


class KafkaConfigError(TransportError):
    """A Kafka environment variable is missing or has an invalid value.

    A `~lsst.ts.salkit.transport.TransportError`, hence a `RuntimeError`,
    which is what ts_salobj raises when ``LSST_TOPIC_SUBNAME`` is not set.
    """


@dataclasses.dataclass(frozen=True)
class SaslConfig:
    """SASL credentials for the broker.

    Parameters
    ----------
    username : `str`
        ``LSST_KAFKA_SECURITY_USERNAME``.
    password : `str`
        ``LSST_KAFKA_SECURITY_PASSWORD``.
    protocol : `str`
        ``LSST_KAFKA_SECURITY_PROTOCOL`` (``security.protocol``).
    mechanism : `str`
        ``LSST_KAFKA_SECURITY_MECHANISM`` (``sasl.mechanism``).
    """

    username: str
    password: str = dataclasses.field(repr=False)
    protocol: str = DEFAULT_SECURITY_PROTOCOL
    mechanism: str = DEFAULT_SECURITY_MECHANISM

    def client_config(self) -> dict[str, Any]:
        """Return the librdkafka settings for these credentials."""
        return {
            "security.protocol": self.protocol,
            "sasl.mechanism": self.mechanism,
            "sasl.username": self.username,
            "sasl.password": self.password,
        }


@dataclasses.dataclass(frozen=True)
class KafkaConfig:
    """Everything the Kafka transport needs from its environment.

    Build it with :meth:`from_environ`; the constructor is for tests and tools
    that already know the values.

    Parameters
    ----------
    topic_subname : `str`
        ``LSST_TOPIC_SUBNAME``: the second part of every Kafka topic name
        (``sal`` in production).
    broker_addr : `str`
        ``LSST_KAFKA_BROKER_ADDR``: librdkafka ``bootstrap.servers``.
    schema_registry_url : `str`
        ``LSST_SCHEMA_REGISTRY_URL``: Confluent schema registry base URL.
    replication_factor : `int`
        ``LSST_KAFKA_REPLICATION_FACTOR``: replication of topics we create.
    producer_wait_acks : `str`
        ``LSST_KAFKA_PRODUCER_WAIT_ACKS``: producer ``acks``.
    sasl : `SaslConfig` or `None`
        Credentials, present only when both username and password are set.
    broker_client_configuration : `dict`
        ``LSST_KAFKA_BROKER_CLIENT_CONFIGURATION`` YAML: applied to every
        client, last (it wins over the consumer and producer files).
    consumer_configuration : `dict`
        ``LSST_KAFKA_CONSUMER_CONFIGURATION`` YAML.
    producer_configuration : `dict`
        ``LSST_KAFKA_PRODUCER_CONFIGURATION`` YAML.
    max_history_read : `int`
        ``LSST_MAX_HISTORY_READ``: how many messages back a reader of an
        indexed component looks for the last value of each index.
    history_read_config : `dict` [`str`, `int`]
        ``LSST_HISTORY_READ_CONFIG`` YAML: per-component override of
        ``max_history_read``.
    """

    topic_subname: str
    broker_addr: str = DEFAULT_BROKER_ADDR
    schema_registry_url: str = DEFAULT_SCHEMA_REGISTRY_URL
    replication_factor: int = DEFAULT_REPLICATION_FACTOR
    producer_wait_acks: str = DEFAULT_PRODUCER_WAIT_ACKS
    sasl: SaslConfig | None = None
    broker_client_configuration: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    consumer_configuration: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    producer_configuration: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    max_history_read: int = DEFAULT_MAX_HISTORY_READ
    history_read_config: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.topic_subname:
            raise KafkaConfigError(
                "LSST_TOPIC_SUBNAME must be set to a non-empty value "
                "(e.g. 'sal' in production or a unique name per test run)."
            )
        if "." in self.topic_subname or "/" in self.topic_subname:
            raise KafkaConfigError(
                f"LSST_TOPIC_SUBNAME={self.topic_subname!r} must not contain '.' or '/': "
                "it is one component of the Kafka topic name lsst.<subname>.<Component>.<topic>."
            )
        if self.replication_factor < 1:
            raise KafkaConfigError(
                f"LSST_KAFKA_REPLICATION_FACTOR={self.replication_factor} must be at least 1."
            )
        if self.producer_wait_acks not in _VALID_ACKS:
            raise KafkaConfigError(
                f"LSST_KAFKA_PRODUCER_WAIT_ACKS={self.producer_wait_acks!r} is not valid; "
                f"use one of {sorted(_VALID_ACKS)}."
            )
        if self.max_history_read < 0:
            raise KafkaConfigError(f"LSST_MAX_HISTORY_READ={self.max_history_read} must be >= 0.")
        for name, depth in self.history_read_config.items():
            if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
                raise KafkaConfigError(
                    f"LSST_HISTORY_READ_CONFIG entry {name}: {depth!r} must be an integer >= 0."
                )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> KafkaConfig:
        """Read the configuration from environment variables.

        Parameters
        ----------
        environ : `~collections.abc.Mapping`, optional
            The environment; `os.environ` if omitted.

        Returns
        -------
        config : `KafkaConfig`

        Raises
        ------
        KafkaConfigError
            If ``LSST_TOPIC_SUBNAME`` is missing or any value is invalid,
            or a configuration file cannot be read.
        """
        env = os.environ if environ is None else environ
        subname = env.get("LSST_TOPIC_SUBNAME", "")
        if not subname:
            raise KafkaConfigError(
                "Environment variable LSST_TOPIC_SUBNAME is not set (or is empty). "
                "Set it to 'sal' to talk to the observatory, or to a unique name of your own "
                "for a private development or test system."
            )
        username = env.get("LSST_KAFKA_SECURITY_USERNAME")
        password = env.get("LSST_KAFKA_SECURITY_PASSWORD")
        sasl = None
        if username and password:
            sasl = SaslConfig(
                username=username,
                password=password,
                protocol=env.get("LSST_KAFKA_SECURITY_PROTOCOL", DEFAULT_SECURITY_PROTOCOL),
                mechanism=env.get("LSST_KAFKA_SECURITY_MECHANISM", DEFAULT_SECURITY_MECHANISM),
            )
        history_config = _read_yaml_mapping(env, "LSST_HISTORY_READ_CONFIG")
        return cls(
            topic_subname=subname,
            broker_addr=env.get("LSST_KAFKA_BROKER_ADDR", DEFAULT_BROKER_ADDR),
            schema_registry_url=env.get("LSST_SCHEMA_REGISTRY_URL", DEFAULT_SCHEMA_REGISTRY_URL),
            replication_factor=_read_int(env, "LSST_KAFKA_REPLICATION_FACTOR", DEFAULT_REPLICATION_FACTOR),
            producer_wait_acks=env.get("LSST_KAFKA_PRODUCER_WAIT_ACKS", DEFAULT_PRODUCER_WAIT_ACKS),
            sasl=sasl,
            broker_client_configuration=_read_yaml_mapping(env, "LSST_KAFKA_BROKER_CLIENT_CONFIGURATION"),
            consumer_configuration=_read_yaml_mapping(env, "LSST_KAFKA_CONSUMER_CONFIGURATION"),
            producer_configuration=_read_yaml_mapping(env, "LSST_KAFKA_PRODUCER_CONFIGURATION"),
            max_history_read=_read_int(env, "LSST_MAX_HISTORY_READ", DEFAULT_MAX_HISTORY_READ),
            history_read_config={str(key): value for key, value in history_config.items()},
        )

    def common_client_config(self) -> dict[str, Any]:
        """Return the settings shared by every client (admin, producer,
        consumer): bootstrap servers, SASL, then the broker YAML file."""
        config: dict[str, Any] = {"bootstrap.servers": self.broker_addr, "socket.nagle.disable": True}
        if self.sasl is not None:
            config.update(self.sasl.client_config())
        config.update(self.broker_client_configuration)
        return config

    def producer_config(self) -> dict[str, Any]:
        """Return the producer settings.

        salobj's settings (``acks`` from the environment, linger 0), then the
        producer YAML file, then the common settings (which win).
        """
        config: dict[str, Any] = {
            "acks": self.producer_wait_acks,
            "queue.buffering.max.ms": 0,
        }
        config.update(self.producer_configuration)
        config.update(self.common_client_config())
        return config

    def consumer_config(self, group_id: str) -> dict[str, Any]:
        """Return the consumer settings for one consumer group.

        salobj's settings (``auto.offset.reset=earliest``, no topic
        auto-creation), then the consumer YAML file, then the common settings
        (which win). ``group.id`` is always the one given.

        Parameters
        ----------
        group_id : `str`
            The consumer group, unique per SalInfo.
        """
        config: dict[str, Any] = {
            "auto.offset.reset": "earliest",
            "allow.auto.create.topics": False,
            "enable.auto.commit": False,
        }
        config.update(self.consumer_configuration)
        config.update(self.common_client_config())
        config["group.id"] = group_id
        return config

    def max_history_for(self, component: str) -> int:
        """Return the history depth for an indexed component.

        ``LSST_HISTORY_READ_CONFIG`` wins over ``LSST_MAX_HISTORY_READ``.
        """
        return self.history_read_config.get(component, self.max_history_read)

    def as_environ(self) -> dict[str, str]:
        """Return the basic variables that reproduce this configuration
        (used by the development CLI to print ``export`` lines)."""
        return {
            "LSST_TOPIC_SUBNAME": self.topic_subname,
            "LSST_KAFKA_BROKER_ADDR": self.broker_addr,
            "LSST_SCHEMA_REGISTRY_URL": self.schema_registry_url,
            "LSST_KAFKA_REPLICATION_FACTOR": str(self.replication_factor),
            "LSST_KAFKA_PRODUCER_WAIT_ACKS": self.producer_wait_acks,
        }


def _read_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise KafkaConfigError(f"Environment variable {name}={text!r} is not an integer.") from None


def _read_yaml_mapping(env: Mapping[str, str], name: str) -> dict[str, Any]:
    """Read the YAML file named by environment variable ``name``; `dict`
    expected. An unset or empty variable gives an empty dict."""
    path_text = env.get(name)
    if not path_text:
        return {}
    path = pathlib.Path(path_text)
    try:
        text = path.read_text()
    except OSError as e:
        raise KafkaConfigError(f"{name}={path_text!r}: cannot read the file: {e}") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise KafkaConfigError(f"{name}={path_text!r}: not valid YAML: {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KafkaConfigError(
            f"{name}={path_text!r} must hold a YAML mapping (key: value lines), not {type(data).__name__}."
        )
    return dict(data)
