"""KafkaConfig reads salobj's environment variables with salobj's defaults."""

from __future__ import annotations

import pathlib

import pytest

from lsst.ts.salkit.kafka import KafkaConfig, KafkaConfigError
from lsst.ts.salkit.transport import TransportError


def test_missing_topic_subname_is_a_clear_error() -> None:
    with pytest.raises(KafkaConfigError, match="LSST_TOPIC_SUBNAME is not set"):
        KafkaConfig.from_environ({})
    with pytest.raises(TransportError):
        KafkaConfig.from_environ({"LSST_TOPIC_SUBNAME": ""})


def test_defaults_are_salobjs() -> None:
    config = KafkaConfig.from_environ({"LSST_TOPIC_SUBNAME": "sal"})
    assert config.broker_addr == "broker:29092"
    assert config.schema_registry_url == "http://schema-registry:8081"
    assert config.replication_factor == 1
    assert config.producer_wait_acks == "1"
    assert config.sasl is None
    assert config.max_history_read == 500
    producer = config.producer_config()
    assert producer["acks"] == "1"
    assert producer["queue.buffering.max.ms"] == 0
    consumer = config.consumer_config("g1")
    assert consumer["group.id"] == "g1"
    assert consumer["auto.offset.reset"] == "earliest"
    assert consumer["allow.auto.create.topics"] is False
    assert "sasl.username" not in consumer


def test_values_are_read_and_validated() -> None:
    config = KafkaConfig.from_environ(
        {
            "LSST_TOPIC_SUBNAME": "test_x",
            "LSST_KAFKA_BROKER_ADDR": "h:1",
            "LSST_SCHEMA_REGISTRY_URL": "http://r:2",
            "LSST_KAFKA_REPLICATION_FACTOR": "3",
            "LSST_KAFKA_PRODUCER_WAIT_ACKS": "all",
            "LSST_MAX_HISTORY_READ": "42",
        }
    )
    assert (config.broker_addr, config.schema_registry_url) == ("h:1", "http://r:2")
    assert config.replication_factor == 3
    assert config.producer_config()["acks"] == "all"
    assert config.max_history_for("Test") == 42
    with pytest.raises(KafkaConfigError, match="LSST_KAFKA_REPLICATION_FACTOR='three'"):
        KafkaConfig.from_environ({"LSST_TOPIC_SUBNAME": "s", "LSST_KAFKA_REPLICATION_FACTOR": "three"})
    with pytest.raises(KafkaConfigError, match="LSST_KAFKA_PRODUCER_WAIT_ACKS='2'"):
        KafkaConfig.from_environ({"LSST_TOPIC_SUBNAME": "s", "LSST_KAFKA_PRODUCER_WAIT_ACKS": "2"})
    with pytest.raises(KafkaConfigError, match="must not contain"):
        KafkaConfig.from_environ({"LSST_TOPIC_SUBNAME": "a.b"})


def test_sasl_needs_both_username_and_password() -> None:
    only_user = KafkaConfig.from_environ({"LSST_TOPIC_SUBNAME": "s", "LSST_KAFKA_SECURITY_USERNAME": "u"})
    assert only_user.sasl is None
    both = KafkaConfig.from_environ(
        {
            "LSST_TOPIC_SUBNAME": "s",
            "LSST_KAFKA_SECURITY_USERNAME": "u",
            "LSST_KAFKA_SECURITY_PASSWORD": "s3cr3t-pw",
        }
    )
    common = both.common_client_config()
    assert common["security.protocol"] == "SASL_PLAINTEXT"
    assert common["sasl.mechanism"] == "SCRAM-SHA-512"
    assert (common["sasl.username"], common["sasl.password"]) == ("u", "s3cr3t-pw")
    assert "s3cr3t-pw" not in repr(both)
    summit = KafkaConfig.from_environ(
        {
            "LSST_TOPIC_SUBNAME": "s",
            "LSST_KAFKA_SECURITY_USERNAME": "u",
            "LSST_KAFKA_SECURITY_PASSWORD": "p",
            "LSST_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "LSST_KAFKA_SECURITY_MECHANISM": "PLAIN",
        }
    )
    assert summit.consumer_config("g")["security.protocol"] == "SASL_SSL"
    assert summit.producer_config()["sasl.mechanism"] == "PLAIN"


def test_client_configuration_files_broker_file_wins(tmp_path: pathlib.Path) -> None:
    broker = tmp_path / "broker.yaml"
    broker.write_text("client.id: from-broker\nsocket.timeout.ms: 1234\n")
    consumer = tmp_path / "consumer.yaml"
    consumer.write_text("client.id: from-consumer\nsession.timeout.ms: 2000\nauto.offset.reset: latest\n")
    producer = tmp_path / "producer.yaml"
    producer.write_text("client.id: from-producer\nacks: all\nlinger.ms: 7\n")
    config = KafkaConfig.from_environ(
        {
            "LSST_TOPIC_SUBNAME": "s",
            "LSST_KAFKA_BROKER_CLIENT_CONFIGURATION": str(broker),
            "LSST_KAFKA_CONSUMER_CONFIGURATION": str(consumer),
            "LSST_KAFKA_PRODUCER_CONFIGURATION": str(producer),
        }
    )
    consumer_settings = config.consumer_config("g")
    assert consumer_settings["client.id"] == "from-broker"
    assert consumer_settings["session.timeout.ms"] == 2000
    assert consumer_settings["auto.offset.reset"] == "latest"
    assert consumer_settings["socket.timeout.ms"] == 1234
    assert consumer_settings["group.id"] == "g"
    producer_settings = config.producer_config()
    assert producer_settings["client.id"] == "from-broker"
    assert producer_settings["acks"] == "all"
    assert producer_settings["linger.ms"] == 7


def test_bad_configuration_files_name_the_variable(tmp_path: pathlib.Path) -> None:
    with pytest.raises(KafkaConfigError, match="LSST_KAFKA_CONSUMER_CONFIGURATION=.*cannot read"):
        KafkaConfig.from_environ(
            {"LSST_TOPIC_SUBNAME": "s", "LSST_KAFKA_CONSUMER_CONFIGURATION": str(tmp_path / "none.yaml")}
        )
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(KafkaConfigError, match="must hold a YAML mapping"):
        KafkaConfig.from_environ(
            {"LSST_TOPIC_SUBNAME": "s", "LSST_KAFKA_PRODUCER_CONFIGURATION": str(listing)}
        )


def test_history_read_config_overrides_max_history_per_component(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "history.yaml"
    path.write_text("MTCamera: 2000\nTest: 0\n")
    config = KafkaConfig.from_environ(
        {"LSST_TOPIC_SUBNAME": "s", "LSST_MAX_HISTORY_READ": "100", "LSST_HISTORY_READ_CONFIG": str(path)}
    )
    assert config.max_history_for("MTCamera") == 2000
    assert config.max_history_for("Test") == 0
    assert config.max_history_for("ATDome") == 100
    path.write_text("Test: -3\n")
    with pytest.raises(KafkaConfigError, match="Test: -3"):
        KafkaConfig.from_environ({"LSST_TOPIC_SUBNAME": "s", "LSST_HISTORY_READ_CONFIG": str(path)})
