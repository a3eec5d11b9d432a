"""topic_factory creates real topics (checked through the Java Admin client) and deletes them."""

from __future__ import annotations

import pytest

from kafka_harness.broker import BrokerHandle
from kafka_harness.process import poll_until
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.broker


@pytest.mark.parametrize("partitions", [1, 6])
def test_topic_factory_creates_topic_with_n_partitions(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory, partitions: int
) -> None:
    name = topic_factory(partitions)

    description = kafka_broker.admin.describe_topic(name)
    assert description.name == name
    assert [p.partition for p in description.partitions] == list(range(partitions))
    assert all(p.leader is not None for p in description.partitions)
    assert name in kafka_broker.admin.list_topics()


def test_topic_factory_names_are_unique(topic_factory: TopicFactory) -> None:
    first = topic_factory(1)
    second = topic_factory(1)

    assert first != second


def test_topic_factory_cleanup_deletes_its_topics(kafka_broker: BrokerHandle) -> None:
    factory = TopicFactory(kafka_broker.admin)
    name = factory(2, prefix="kaffe-it-cleanup")
    assert name in kafka_broker.admin.list_topics()

    factory.cleanup()

    assert factory.created == []
    poll_until(
        lambda: True if name not in kafka_broker.admin.list_topics() else None,
        timeout=30.0,
        what=f"{name} to disappear from list_topics",
    )
