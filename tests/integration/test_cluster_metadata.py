"""Cluster metadata on the three-node cluster: leader routing, and recovery after the leader of
a partition is killed with SIGKILL (checked against the Java Admin client)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from kaffe import _core
from kaffe._cluster import Cluster
from kaffe._protocol import ApiKey, ErrorCode
from kaffe.admin import AdminClient
from kafka_harness.admin import AdminError, TopicDescription
from kafka_harness.cluster import LocalCluster
from kafka_harness.process import poll_until

pytestmark = pytest.mark.cluster

DEADLINE_S = 60.0
REJOIN_DEADLINE_S = 90.0
native: Any = _core


def unique() -> str:
    return f"kaffe-it-cl-{uuid.uuid4().hex[:10]}"


def full_isr(cluster: LocalCluster, topic: str, partitions: int) -> bool | None:
    try:
        desc = cluster.admin.describe_topic(topic, timeout=10.0)
    except AdminError:
        return None
    ok = len(desc.partitions) == partitions and all(len(p.isr) == 3 for p in desc.partitions)
    return True if ok else None


def _leader_other_than(cluster: LocalCluster, topic: str, old: int) -> int | None:
    try:
        leader = cluster.admin.describe_topic(topic, timeout=10.0).partitions[0].leader
    except AdminError:
        return None
    return leader if leader is not None and leader != old else None


def java_describe(cluster: LocalCluster, topic: str, partitions: int) -> TopicDescription:
    """The Java admin's view once it shows every partition with a leader (brokers learn new
    topics at slightly different moments, and the Java client may ask another broker)."""

    def ready() -> TopicDescription | None:
        try:
            desc = cluster.admin.describe_topic(topic, timeout=10.0)
        except AdminError:
            return None
        ok = len(desc.partitions) == partitions and all(
            p.leader is not None for p in desc.partitions
        )
        return desc if ok else None

    return poll_until(ready, timeout=DEADLINE_S, what=f"the Java admin to describe {topic}")


def produce_one(admin: AdminClient, topic: str, partition: int) -> None:
    """One record with acks=-1 through a raw Produce request, retried while the leader is not
    ready (the real Producer is a later issue)."""

    async def send(cluster: Cluster) -> int:
        conn = await cluster.leader_connection(topic, partition, timeout=DEADLINE_S)
        batch = native.encode_record_batch([(b"k", b"v", [], int(time.time() * 1000))])
        data: dict[str, Any] = {"partition_data": [{"index": partition, "records": batch}]}
        if conn.api_version(ApiKey.PRODUCE) >= 13:
            md = cluster.metadata
            info = md.topic(topic) if md is not None else None
            assert info is not None
            data["topic_id"] = info.topic_id
        else:
            data["name"] = topic
        resp = await conn.request(
            ApiKey.PRODUCE,
            {"acks": -1, "timeout_ms": 10000, "topic_data": [data]},
            timeout=DEADLINE_S,
        )
        return int(resp["responses"][0]["partition_responses"][0]["error_code"])

    def attempt() -> bool | None:
        code = admin._loop.run(send(admin._aio.cluster), DEADLINE_S)
        if code in (  # the leader does not know the topic (id) yet
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode.LEADER_NOT_AVAILABLE,
            ErrorCode.NOT_LEADER_OR_FOLLOWER,
            ErrorCode.UNKNOWN_TOPIC_ID,
        ):
            admin._aio.cluster.invalidate([topic])
            return None
        assert code == 0
        return True

    poll_until(attempt, timeout=DEADLINE_S, what=f"produce to {topic}/{partition}")


def test_metadata_lists_all_brokers_and_routes_to_each_leader(
    kafka_cluster: LocalCluster,
) -> None:
    with AdminClient(endpoints=kafka_cluster.bootstrap) as admin:
        name = unique()
        admin.create_topic(name, 6, 3, timeout=DEADLINE_S)
        try:
            cluster = admin._aio.cluster
            md = cluster.metadata
            assert md is not None
            assert sorted(md.brokers) == [1, 2, 3]
            assert {(b.host, b.port) for b in md.brokers.values()} == {
                ("127.0.0.1", kafka_cluster.node(n).port) for n in (1, 2, 3)
            }
            java = java_describe(kafka_cluster, name, 6)
            assert len({p.leader for p in java.partitions}) > 1  # leaders are spread out

            for p in java.partitions:
                leader = admin._loop.run(cluster.leader_for(name, p.partition), DEADLINE_S)
                conn = admin._loop.run(cluster.leader_connection(name, p.partition), DEADLINE_S)

                assert leader.node_id == p.leader
                assert conn.port == kafka_cluster.node(p.leader).port
            described = admin.describe_topic(name)
            assert [p.replicas for p in described.partitions] == [
                p.replicas for p in java.partitions
            ]
            latest = admin.list_offsets(name, None, "latest")
            assert {p: o.offset for p, o in latest.items()} == dict.fromkeys(range(6), 0)
        finally:
            admin.delete_topic(name, timeout=DEADLINE_S)


def test_new_leader_found_after_kill_9_of_the_leader(kafka_cluster: LocalCluster) -> None:
    with AdminClient(endpoints=kafka_cluster.bootstrap) as admin:
        name = unique()
        admin.create_topic(name, 3, 3, timeout=DEADLINE_S)
        try:
            poll_until(lambda: full_isr(kafka_cluster, name, 3), timeout=DEADLINE_S, what="ISR")
            cluster = admin._aio.cluster
            old = admin._loop.run(cluster.leader_for(name, 0), DEADLINE_S).node_id
            produce_one(admin, name, 0)
            assert admin.list_offsets(name, [0], "latest")[0].offset == 1

            kafka_cluster.kill(old)
            try:
                # kaffe's cache still names the dead node; the request to it fails, the
                # metadata is refreshed and the new leader answers, within the deadline.
                after = admin.list_offsets(name, [0], "latest", timeout=DEADLINE_S)
                md = cluster.metadata
                assert md is not None
                new = md.leader_for(name, 0)

                assert after[0].offset == 1  # acks=-1 with RF 3: the record survived
                assert new is not None
                assert new != old
                java_leader = poll_until(
                    lambda: _leader_other_than(kafka_cluster, name, old),
                    timeout=DEADLINE_S,
                    what="the Java admin to see the new leader",
                )
                assert java_leader in {n for n in (1, 2, 3) if n != old}
                assert admin.partition_count(name) == 3
            finally:
                kafka_cluster.restart(old)
                kafka_cluster.wait_until_nodes(3, timeout=REJOIN_DEADLINE_S)
        finally:
            admin.delete_topic(name, timeout=DEADLINE_S)


def test_bootstrap_survives_a_dead_first_endpoint(kafka_cluster: LocalCluster) -> None:
    live = kafka_cluster.bootstrap
    with AdminClient(endpoints=f"127.0.0.1:1,{live}", connect_timeout=2000) as admin:
        md = admin._aio.cluster.metadata

        assert md is not None
        assert sorted(md.brokers) == [1, 2, 3]
