"""Topic creation and deletion on a real (tansu) broker."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, ConfigResource

from lsst.ts.salkit.kafka import KafkaConfig, TopicAdmin


def test_creates_only_missing_topics_with_one_partition(kafka_env: KafkaConfig) -> None:
    admin = TopicAdmin(kafka_env)
    prefix = f"lsst.{kafka_env.topic_subname}.Test."
    names = [
        prefix + "logevent_summaryState",
        prefix + "command_start",
        prefix + "scalars",
        prefix + "ackcmd",
    ]
    assert admin.create_missing_topics(names[:2]) == sorted(names[:2])
    assert admin.create_missing_topics(names) == sorted(names[2:])
    assert admin.create_missing_topics(names) == []
    metadata = AdminClient(kafka_env.common_client_config()).list_topics(timeout=10)
    for name in names:
        assert len(metadata.topics[name].partitions) == 1


def test_event_topics_are_compacted_others_not(kafka_env: KafkaConfig) -> None:
    admin = TopicAdmin(kafka_env)
    event = f"lsst.{kafka_env.topic_subname}.Test.logevent_heartbeat"
    command = f"lsst.{kafka_env.topic_subname}.Test.command_enable"
    admin.create_missing_topics([event, command])
    client = AdminClient(kafka_env.common_client_config())
    futures = client.describe_configs([ConfigResource("topic", event), ConfigResource("topic", command)])
    configs = {resource.name: future.result(timeout=10) for resource, future in futures.items()}
    assert configs[event]["cleanup.policy"].value == "compact"
    command_policy = configs[command].get("cleanup.policy")
    assert command_policy is None or command_policy.value != "compact"


def test_deletes_topics_of_one_subname_only(kafka_env: KafkaConfig) -> None:
    admin = TopicAdmin(kafka_env)
    other = f"{kafka_env.topic_subname}x"
    mine = [f"lsst.{kafka_env.topic_subname}.Test.scalars", f"lsst.{kafka_env.topic_subname}.Other.arrays"]
    theirs = [f"lsst.{other}.Test.scalars"]
    admin.create_missing_topics(mine + theirs)
    assert admin.delete_topics_of_subname(kafka_env.topic_subname, "Test") == mine[:1]
    assert admin.delete_topics_of_subname(kafka_env.topic_subname) == mine[1:]
    topics = admin.list_topics()
    assert theirs[0] in topics and not set(mine) & topics
    admin.delete_topics_of_subname(other)
