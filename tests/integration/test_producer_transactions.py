"""Transactions against the real broker, with confluent-kafka (read_committed) as the oracle."""

from __future__ import annotations

import asyncio
import uuid

import confluent_kafka
import pytest
from tests.integration.test_producer_oracles import read_confluent

import kaffe
import kaffe.aio
from kafka_harness.broker import BrokerHandle
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.broker


def _values(bootstrap: str, topic: str, isolation: str) -> list[bytes | None]:
    return [r.value for r in read_confluent(bootstrap, topic, 0, isolation=isolation)]


def test_committed_visible_aborted_invisible(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    txn_id = f"kaffe-it-txn-{uuid.uuid4().hex[:8]}"
    with kaffe.Producer(endpoints=kafka_broker.bootstrap, transactional_id=txn_id) as p:
        with pytest.raises(kaffe.KafkaError, match="begin_transaction"):
            p.produce_sync(topic, 0, "k", "outside")
        p.begin_transaction()
        p.produce_sync(topic, 0, [(None, f"c1-{i}") for i in range(3)])
        p.commit_transaction()
        p.begin_transaction()
        p.produce_sync(topic, 0, [(None, f"a-{i}") for i in range(4)])
        p.abort_transaction()
        p.begin_transaction()
        p.produce_sync(topic, 0, "k", "c2")
        p.commit_transaction()
    committed = _values(kafka_broker.bootstrap, topic, "read_committed")
    assert committed == [b"c1-0", b"c1-1", b"c1-2", b"c2"]
    everything = _values(kafka_broker.bootstrap, topic, "read_uncommitted")
    assert everything == [b"c1-0", b"c1-1", b"c1-2", b"a-0", b"a-1", b"a-2", b"a-3", b"c2"]


def test_send_offsets_to_transaction(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    source, sink = topic_factory(2), topic_factory(1)
    group = f"kaffe-it-txn-group-{uuid.uuid4().hex[:8]}"
    txn_id = f"kaffe-it-txn-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        async with kaffe.aio.Producer(
            endpoints=kafka_broker.bootstrap, transactional_id=txn_id
        ) as p:
            await p.begin_transaction()
            await p.produce_sync(sink, 0, "k", "committed")
            await p.send_offsets_to_transaction({(source, 0): 5, (source, 1): 7}, group)
            await p.commit_transaction()
            await p.begin_transaction()
            await p.produce_sync(sink, 0, "k", "aborted")
            await p.send_offsets_to_transaction({(source, 0): 50}, group)
            await p.abort_transaction()

    asyncio.run(main())
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": kafka_broker.bootstrap, "group.id": group}
    )
    try:
        offsets = consumer.committed(
            [confluent_kafka.TopicPartition(source, 0), confluent_kafka.TopicPartition(source, 1)],
            timeout=30,
        )
    finally:
        consumer.close()
    assert [(tp.partition, tp.offset) for tp in offsets] == [(0, 5), (1, 7)]
    assert _values(kafka_broker.bootstrap, sink, "read_committed") == [b"committed"]


def test_transactional_config_rules() -> None:
    with pytest.raises(kaffe.ConfigError, match="enable_idempotence"):
        kaffe.Producer(endpoints="127.0.0.1:9", transactional_id="t", enable_idempotence=False)
    with pytest.raises(kaffe.ConfigError, match="required_acks"):
        kaffe.Producer(endpoints="127.0.0.1:9", transactional_id="t", required_acks=1)
