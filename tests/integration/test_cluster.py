"""Three-node cluster: a SIGKILLed or SIGTERMed node is fenced, the others serve, it comes back."""

from __future__ import annotations

import pytest

from kafka_harness import probe
from kafka_harness.admin import AdminError
from kafka_harness.cluster import LocalCluster
from kafka_harness.process import poll_until
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.cluster

# Generous deadlines (the broker session timeout is 3 s); never a timing assertion.
FENCE_DEADLINE_S = 30.0
REJOIN_DEADLINE_S = 90.0


def _api_versions_codes(cluster: LocalCluster, node_ids: tuple[int, ...]) -> list[int]:
    codes = []
    for nid in node_ids:
        host, port = "127.0.0.1", cluster.node(nid).port
        codes.append(probe.api_versions(host, port, timeout=10.0).error_code)
    return codes


def _full_isr(cluster: LocalCluster, topic: str) -> bool | None:
    try:
        desc = cluster.admin.describe_topic(topic, timeout=10.0)
    except AdminError:
        return None  # retried until the deadline
    return True if all(len(p.isr) == 3 for p in desc.partitions) else None


def test_cluster_starts_with_three_registered_nodes(kafka_cluster: LocalCluster) -> None:
    description = kafka_cluster.describe(timeout=30.0)

    assert description.node_ids == (1, 2, 3)
    assert description.cluster_id == kafka_cluster.cluster_id


def test_kill_nine_one_node_then_restart(kafka_cluster: LocalCluster) -> None:
    topics = TopicFactory(kafka_cluster.admin)
    try:
        topic = topics(3, replication_factor=3, prefix="kaffe-it-failover")
        poll_until(lambda: _full_isr(kafka_cluster, topic), timeout=60.0, what="full ISR")

        kafka_cluster.kill(2)
        try:
            survivors = kafka_cluster.wait_until_nodes(2, timeout=FENCE_DEADLINE_S)
            assert survivors.node_ids == (1, 3)
            assert _api_versions_codes(kafka_cluster, (1, 3)) == [0, 0]

            def leaders_on_survivors() -> bool | None:
                try:
                    desc = kafka_cluster.admin.describe_topic(topic, timeout=10.0)
                except AdminError:
                    return None
                ok = all(p.leader in (1, 3) for p in desc.partitions)
                return True if ok else None

            poll_until(leaders_on_survivors, timeout=FENCE_DEADLINE_S, what="new leaders")
        finally:
            kafka_cluster.restart(2)

        back = kafka_cluster.wait_until_nodes(3, timeout=REJOIN_DEADLINE_S)
        assert back.node_ids == (1, 2, 3)
        poll_until(
            lambda: _full_isr(kafka_cluster, topic),
            timeout=REJOIN_DEADLINE_S,
            what="node 2 back in every ISR",
        )
    finally:
        topics.cleanup()


def test_sigterm_one_node_then_restart(kafka_cluster: LocalCluster) -> None:
    kafka_cluster.stop(3)
    try:
        survivors = kafka_cluster.wait_until_nodes(2, timeout=FENCE_DEADLINE_S)
        assert survivors.node_ids == (1, 2)
    finally:
        kafka_cluster.restart(3)

    back = kafka_cluster.wait_until_nodes(3, timeout=REJOIN_DEADLINE_S)
    assert back.node_ids == (1, 2, 3)
