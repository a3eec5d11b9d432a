"""kaffe.AdminClient / kaffe.aio.AdminClient against the real single-node broker.

Topic facts are cross-checked with the Java Admin client (``kafka_broker.admin``); records are
written with raw Produce requests (the Producer is a later issue) and group offsets with a raw
OffsetCommit (generation -1), so kaffe's admin reads what something else wrote.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import confluent_kafka
import pytest

import kaffe
import kaffe.aio
from kaffe import _core, errors
from kaffe._cluster import Cluster, CoordinatorType
from kaffe._protocol import ApiKey, ErrorCode
from kaffe.admin import AdminClient, GroupDescription, NewTopic, TopicPartition
from kafka_harness.broker import BrokerHandle
from kafka_harness.process import poll_until
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.broker

DEADLINE_S = 30.0
native: Any = _core
# UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_ID
RETRIABLE_PRODUCE_CODES = {
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode.LEADER_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER,
    ErrorCode.UNKNOWN_TOPIC_ID,
}


@pytest.fixture
def admin(kafka_broker: BrokerHandle) -> Iterator[AdminClient]:
    with AdminClient(endpoints=kafka_broker.bootstrap, client_id="kaffe-it-admin") as client:
        yield client


def unique(prefix: str = "kaffe-it-adm") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def produce(
    admin: AdminClient, topic: str, partition: int, records: list[tuple[bytes, bytes, int]]
) -> int:
    """Write ``(key, value, timestamp_ms)`` records with one raw Produce request (acks=-1);
    return the base offset."""

    async def send(cluster: Cluster) -> dict[str, Any]:
        conn = await cluster.leader_connection(topic, partition, timeout=DEADLINE_S)
        batch = native.encode_record_batch([(k, v, [], ts) for k, v, ts in records])
        version = conn.api_version(ApiKey.PRODUCE)
        data: dict[str, Any] = {"partition_data": [{"index": partition, "records": batch}]}
        if version >= 13:
            md = cluster.metadata
            assert md is not None
            info = md.topic(topic)
            assert info is not None
            data["topic_id"] = info.topic_id
        else:
            data["name"] = topic
        body = {"acks": -1, "timeout_ms": 10000, "topic_data": [data]}
        resp: dict[str, Any] = await conn.request(ApiKey.PRODUCE, body, timeout=DEADLINE_S)
        return resp

    def attempt() -> int | None:
        resp = admin._loop.run(send(admin._aio.cluster), DEADLINE_S)
        part = resp["responses"][0]["partition_responses"][0]
        if part["error_code"] in RETRIABLE_PRODUCE_CODES:  # e.g. a leader not ready yet
            admin._aio.cluster.invalidate([topic])
            return None
        assert part["error_code"] == 0, part
        return int(part["base_offset"])

    return poll_until(attempt, timeout=DEADLINE_S, what=f"produce to {topic}/{partition}")


def commit_raw(admin: AdminClient, group: str, topic: str, offsets: dict[int, int]) -> None:
    """OffsetCommit with generation -1 and no member id, sent by hand to the coordinator."""

    def build(version: int) -> dict[str, Any]:
        return {
            "group_id": group,
            "generation_id_or_member_epoch": -1,
            "member_id": "",
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {"partition_index": p, "committed_offset": o, "committed_metadata": "m"}
                        for p, o in offsets.items()
                    ],
                }
            ],
        }

    def codes_of(resp: dict[str, Any]) -> list[int]:
        return [p["error_code"] for t in resp["topics"] for p in t["partitions"]]

    # send_to_coordinator only finds the coordinator and retries while it is loading
    resp = admin._loop.run(
        admin._aio.cluster.send_to_coordinator(
            group,
            CoordinatorType.GROUP,
            ApiKey.OFFSET_COMMIT,
            build,
            error_codes=codes_of,
            timeout=DEADLINE_S,
        ),
        DEADLINE_S + 5,
    )
    codes = [p["error_code"] for t in resp["topics"] for p in t["partitions"]]
    assert codes == [0] * len(offsets)


# ------------------------------------------------------------------------------ topics


def test_create_describe_delete_topic_matches_the_java_admin(
    kafka_broker: BrokerHandle, admin: AdminClient
) -> None:
    name = unique()
    admin.create_topic(name, 4, 1, {"retention.ms": "3600000"}, timeout=DEADLINE_S)
    try:
        java = kafka_broker.admin.describe_topic(name)
        mine = admin.describe_topic(name)

        assert [p.partition for p in java.partitions] == [0, 1, 2, 3]
        assert mine.name == name
        assert mine.partition_count == 4
        assert [p.partition for p in mine.partitions] == [0, 1, 2, 3]
        assert [p.leader for p in mine.partitions] == [p.leader for p in java.partitions]
        assert [p.replicas for p in mine.partitions] == [p.replicas for p in java.partitions]
        assert [p.isr for p in mine.partitions] == [p.isr for p in java.partitions]
        assert str(mine.topic_id) is not None
        assert name in admin.list_topics()
        assert name in kafka_broker.admin.list_topics()
        assert admin.partition_count(name) == 4
        configs = admin.describe_configs("topic", name, ["retention.ms", "cleanup.policy"])
        assert configs["retention.ms"].value == "3600000"
        assert configs["retention.ms"].is_default is False
        assert configs["cleanup.policy"].value == "delete"
    finally:
        admin.delete_topic(name, timeout=DEADLINE_S)

    assert name not in admin.list_topics()
    poll_until(
        lambda: True if name not in kafka_broker.admin.list_topics() else None,
        timeout=DEADLINE_S,
        what=f"{name} gone for the Java admin",
    )
    with pytest.raises(errors.UnknownTopicOrPartitionError, match=name):
        admin.partition_count(name)


def test_create_several_topics_at_once(kafka_broker: BrokerHandle, admin: AdminClient) -> None:
    names = [unique(), unique()]
    admin.create_topics([NewTopic(names[0], 2, 1), names[1]], timeout=DEADLINE_S)
    try:
        described = admin.describe_topics(names)

        assert described[names[0]].partition_count == 2
        assert described[names[1]].partition_count == 1  # a bare name: one partition
        for name in names:
            assert len(kafka_broker.admin.describe_topic(name).partitions) == (
                described[name].partition_count
            )
    finally:
        admin.delete_topics(names, timeout=DEADLINE_S)


def test_creating_an_existing_topic_names_it(
    admin: AdminClient, topic_factory: TopicFactory
) -> None:
    name = topic_factory(1)

    with pytest.raises(errors.TopicAlreadyExistsError, match=name):
        admin.create_topic(name, 1, 1)


def test_invalid_replication_factor(admin: AdminClient) -> None:
    name = unique()

    with pytest.raises(errors.InvalidReplicationFactorError, match=name):
        admin.create_topic(name, 1, 3)  # one broker


def test_add_partitions(
    kafka_broker: BrokerHandle, admin: AdminClient, topic_factory: TopicFactory
) -> None:
    name = topic_factory(2)
    assert admin.partition_count(name) == 2

    admin.create_partitions(name, 5, timeout=DEADLINE_S)

    assert admin.partition_count(name) == 5
    assert [p.partition for p in kafka_broker.admin.describe_topic(name).partitions] == list(
        range(5)
    )
    with pytest.raises(errors.InvalidPartitionsError, match=name):
        admin.create_partitions(name, 3)


def test_unknown_topic_raises_the_error_class(admin: AdminClient) -> None:
    name = unique("kaffe-it-missing")

    with pytest.raises(errors.UnknownTopicOrPartitionError) as info:
        admin.partition_count(name, timeout=DEADLINE_S)
    assert name in str(info.value)
    assert info.value.code == 3
    with pytest.raises(errors.UnknownTopicOrPartitionError, match=name):
        admin.describe_topic(name)
    with pytest.raises(errors.UnknownTopicOrPartitionError, match=name):
        admin.list_offsets(name)
    with pytest.raises(errors.UnknownTopicOrPartitionError, match=name):
        admin.delete_topic(name)


def test_unknown_partition_names_it(admin: AdminClient, topic_factory: TopicFactory) -> None:
    name = topic_factory(2)

    with pytest.raises(errors.UnknownTopicOrPartitionError, match=f"{name}' partition 7"):
        admin.list_offsets(name, [7])


def test_no_auto_creation_by_default(kafka_broker: BrokerHandle, admin: AdminClient) -> None:
    name = unique("kaffe-it-noauto")

    with pytest.raises(errors.UnknownTopicOrPartitionError):
        admin.partition_count(name)
    assert name not in kafka_broker.admin.list_topics()


def test_auto_creation_when_asked(kafka_broker: BrokerHandle) -> None:
    name = unique("kaffe-it-auto")
    with AdminClient(endpoints=kafka_broker.bootstrap, allow_topic_auto_creation=True) as admin:
        try:
            count = admin.partition_count(name, timeout=DEADLINE_S)

            assert count == 1  # the broker's num.partitions
            assert name in kafka_broker.admin.list_topics()
        finally:
            kafka_broker.admin.delete_topic(name)


# ------------------------------------------------------------------------------ offsets


def test_offsets_earliest_latest_and_by_timestamp(
    admin: AdminClient, topic_factory: TopicFactory
) -> None:
    name = topic_factory(2)
    t0 = int(time.time() * 1000) - 60_000
    base = produce(
        admin, name, 1, [(b"k", b"a", t0), (b"k", b"b", t0 + 1000), (b"k", b"c", t0 + 2000)]
    )
    assert base == 0

    earliest = admin.list_offsets(name, None, "earliest")
    latest = admin.list_offsets(name, None, "latest")
    at = admin.list_offsets(name, [1], t0 + 500)
    exact = admin.list_offsets(name, [1], t0 + 2000)
    future = admin.list_offsets(name, [1], t0 + 3_600_000)

    assert {p: o.offset for p, o in earliest.items()} == {0: 0, 1: 0}
    assert {p: o.offset for p, o in latest.items()} == {0: 0, 1: 3}
    assert at[1].offset == 1
    assert at[1].timestamp == t0 + 1000
    assert exact[1].offset == 2
    assert future[1].offset == -1  # no record that new

    low = admin.delete_records(name, {1: 2})
    assert low == {1: 2}
    assert admin.list_offsets(name, [1], "earliest")[1].offset == 2
    assert admin.list_offsets(name, [1], "latest")[1].offset == 3


def test_bad_offset_spec_is_a_config_error(admin: AdminClient, topic_factory: TopicFactory) -> None:
    name = topic_factory(1)

    with pytest.raises(kaffe.ConfigError, match="oldest"):
        admin.list_offsets(name, None, "oldest")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ groups


def test_group_offsets_list_describe_read_and_reset(
    admin: AdminClient, topic_factory: TopicFactory
) -> None:
    name = topic_factory(2)
    group = unique("kaffe-it-group")
    now = int(time.time() * 1000)
    produce(admin, name, 0, [(b"k", b"v", now)] * 4)
    produce(admin, name, 1, [(b"k", b"v", now)] * 2)
    commit_raw(admin, group, name, {0: 3, 1: 1})

    listed = admin.list_groups()
    described = admin.describe_group(group)
    committed = admin.list_group_offsets(group)
    by_topic = admin.list_group_offsets(group, [name])

    assert group in [g.group_id for g in listed]
    assert described.group_id == group
    assert described.state == "Empty"
    assert described.members == ()
    assert {tp: c.offset for tp, c in committed.items()} == {
        TopicPartition(name, 0): 3,
        TopicPartition(name, 1): 1,
    }
    assert committed[TopicPartition(name, 0)].metadata == "m"
    assert by_topic == committed

    assert admin.reset_group_offsets(group, name, "earliest") == {0: 0, 1: 0}
    assert {tp.partition: c.offset for tp, c in admin.list_group_offsets(group).items()} == {
        0: 0,
        1: 0,
    }
    assert admin.reset_group_offsets(group, name, "latest") == {0: 4, 1: 2}
    assert {tp.partition: c.offset for tp, c in admin.list_group_offsets(group).items()} == {
        0: 4,
        1: 2,
    }
    admin.alter_group_offsets(group, {(name, 1): 1})
    assert admin.list_group_offsets(group)[TopicPartition(name, 1)].offset == 1
    assert admin.reset_group_offsets(group, name, {0: 2}) == {0: 2}
    assert admin.list_group_offsets(group)[TopicPartition(name, 0)].offset == 2


def test_unknown_group_is_not_found_and_has_no_offsets(admin: AdminClient) -> None:
    group = unique("kaffe-it-nogroup")

    with pytest.raises(errors.GroupIdNotFoundError, match=group):
        admin.describe_group(group)
    assert admin.list_group_offsets(group) == {}


def test_coordinator_lookup(kafka_broker: BrokerHandle, admin: AdminClient) -> None:
    cluster = admin._aio.cluster
    md = cluster.metadata
    assert md is not None

    group_node = admin._loop.run(cluster.coordinator_node(unique("g")), DEADLINE_S)
    txn_node = admin._loop.run(
        cluster.coordinator_node(unique("txn"), CoordinatorType.TRANSACTION),
        DEADLINE_S,
    )

    assert group_node.node_id in md.brokers
    assert txn_node.node_id in md.brokers
    assert (group_node.host, group_node.port) == (
        md.brokers[group_node.node_id].host,
        md.brokers[group_node.node_id].port,
    )


# ------------------------------------------------------------------------------ metadata


def test_metadata_timer_refresh_sees_new_partitions(
    kafka_broker: BrokerHandle, admin: AdminClient, topic_factory: TopicFactory
) -> None:
    name = topic_factory(2)
    with AdminClient(endpoints=kafka_broker.bootstrap, metadata_max_age_ms=300) as watcher:
        assert watcher.partition_count(name) == 2
        cluster = watcher._aio.cluster

        admin.create_partitions(name, 4)

        def cached_count() -> int | None:
            md = cluster.metadata  # no request of our own: only the timer refreshes it
            info = md.topic(name) if md is not None else None
            return 4 if info is not None and info.partition_count == 4 else None

        poll_until(cached_count, timeout=DEADLINE_S, what="the timer refresh to see 4 partitions")
        assert watcher.partition_count(name) == 4


def test_invalidate_refreshes_on_next_lookup(
    kafka_broker: BrokerHandle, admin: AdminClient, topic_factory: TopicFactory
) -> None:
    name = topic_factory(1)
    with AdminClient(endpoints=kafka_broker.bootstrap) as other:
        assert other.partition_count(name) == 1
        admin.create_partitions(name, 3)

        assert other.partition_count(name) == 1  # cached; the timer has not run
        other._aio.cluster.invalidate([name])  # what a NOT_LEADER_OR_FOLLOWER handler does
        assert other.partition_count(name) == 3


def test_a_partition_added_elsewhere_is_found_without_invalidation(
    kafka_broker: BrokerHandle, admin: AdminClient, topic_factory: TopicFactory
) -> None:
    name = topic_factory(1)
    with AdminClient(endpoints=kafka_broker.bootstrap) as other:
        assert other.partition_count(name) == 1
        admin.create_partitions(name, 3)

        # Partition 2 is not in other's cache; routing to its leader looks the topic up again.
        offsets = other.list_offsets(name, [2], "latest")

        assert offsets[2].offset == 0
        assert other.partition_count(name) == 3


# ------------------------------------------------------------------------------ bootstrap forms


def _forms(host: str, port: int) -> list[Any]:
    return [
        [(host, port)],
        {host: port},
        f"{host}:{port}",
        f"kafka://{host}:{port}",
        [("127.0.0.1", 1), (host, port)],  # a dead endpoint first: the next one is tried
        f"127.0.0.1:1,{host}:{port}",
    ]


@pytest.mark.parametrize("form", range(6))
def test_bootstrap_from_every_endpoint_form(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory, form: int
) -> None:
    host, port = kafka_broker.listener("PLAINTEXT")
    name = topic_factory(3)

    with AdminClient(endpoints=_forms(host, port)[form], connect_timeout=2000) as admin:
        assert admin.partition_count(name) == 3


def test_no_broker_listening_is_a_connection_error() -> None:
    admin = AdminClient(endpoints="127.0.0.1:1,127.0.0.1:2", connect_timeout=2000)
    try:
        with pytest.raises(kaffe.ConnectionError, match=re.escape("127.0.0.1:1")):
            admin.list_topics(timeout=DEADLINE_S)
    finally:
        admin.close()


# ------------------------------------------------------------------------------ aio


def test_aio_admin_client(kafka_broker: BrokerHandle) -> None:
    name = unique("kaffe-it-aio")

    async def scenario() -> tuple[int, list[str], int]:
        async with kaffe.aio.AdminClient(endpoints=kafka_broker.bootstrap) as admin:
            await admin.create_topic(name, 3, 1)
            try:
                count = await admin.partition_count(name)
                topics = await admin.list_topics()
                latest = await admin.list_offsets(name, None, "latest")
                return count, topics, len(latest)
            finally:
                await admin.delete_topic(name)

    count, topics, partitions = asyncio.run(scenario())

    assert count == 3
    assert name in topics
    assert partitions == 3


def test_sync_and_aio_have_the_same_methods() -> None:
    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}

    assert public(kaffe.aio.AdminClient) - {"from_client_config"} == public(AdminClient)
    for name in public(AdminClient):
        assert getattr(AdminClient, name).__doc__ == getattr(
            kaffe.aio.AdminClient, name
        ).__doc__ or (name in ("close", "from_config"))


def test_closed_client_refuses_work(kafka_broker: BrokerHandle) -> None:
    admin = AdminClient(endpoints=kafka_broker.bootstrap)
    admin.close()
    admin.close()  # idempotent

    with pytest.raises(kaffe.KafkaError):
        admin.list_topics()


def test_describe_an_active_consumer_group(
    kafka_broker: BrokerHandle, admin: AdminClient, topic_factory: TopicFactory
) -> None:
    """A real consumer (librdkafka, as an independent client) joins; kaffe sees its member and
    decodes its assignment, and refuses to reset the offsets of the active group."""
    name = topic_factory(3)
    group = unique("kaffe-it-live")
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "group.id": group,
            "client.id": "kaffe-it-oracle",
            "enable.auto.commit": False,
            "partition.assignment.strategy": "range",
        }
    )
    consumer.subscribe([name])
    try:

        def stable() -> GroupDescription | None:
            consumer.poll(0.1)  # drives librdkafka's join; not a sleep
            try:
                desc = admin.describe_group(group)
            except errors.GroupIdNotFoundError:
                return None
            ready = desc.state == "Stable" and desc.members and desc.members[0].assignment
            return desc if ready else None

        desc = poll_until(stable, timeout=DEADLINE_S, what=f"group {group} to be stable")

        assert desc.protocol_type == "consumer"
        assert desc.protocol == "range"
        assert len(desc.members) == 1
        member = desc.members[0]
        assert member.client_id == "kaffe-it-oracle"
        assert member.member_id
        assert member.assignment == tuple(TopicPartition(name, p) for p in range(3))
        listing = {g.group_id: g for g in admin.list_groups()}
        assert listing[group].protocol_type == "consumer"
        with pytest.raises(errors.UnknownMemberIdError, match=group):
            admin.reset_group_offsets(group, name, "earliest")
    finally:
        consumer.close()
