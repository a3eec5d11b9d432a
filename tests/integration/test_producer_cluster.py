"""Leader change on the three-node cluster: kill -9 the leader while producing.

Every ``produce_sync`` either succeeds (after a metadata refresh finds the new leader) or raises
a ``kaffe.KafkaError`` within its delivery deadline; nothing hangs; every acknowledged message
is in the log afterwards (acks=all, replication factor 3).
"""

from __future__ import annotations

import threading
import uuid

import pytest
from tests.integration.test_producer_oracles import read_confluent

import kaffe
from kafka_harness.admin import AdminError
from kafka_harness.cluster import LocalCluster
from kafka_harness.process import poll_until

pytestmark = pytest.mark.cluster

DEADLINE_S = 60.0


def _leader(cluster: LocalCluster, topic: str) -> int | None:
    try:
        desc = cluster.admin.describe_topic(topic, timeout=10.0)
    except AdminError:  # not known to every node yet
        return None
    part = desc.partitions[0]
    return part.leader if len(part.isr) == 3 else None


def test_kill_9_the_leader_while_producing(kafka_cluster: LocalCluster) -> None:
    topic = f"kaffe-it-prod-kill-{uuid.uuid4().hex[:8]}"
    kafka_cluster.wait_until_nodes(3, timeout=120.0)
    kafka_cluster.admin.create_topic(topic, 1, 3, None)
    old = poll_until(lambda: _leader(kafka_cluster, topic), timeout=DEADLINE_S, what="ISR")
    try:
        acked: list[int] = []
        failed: list[BaseException] = []
        stop = threading.Event()
        half = threading.Event()
        with kaffe.Producer(
            endpoints=kafka_cluster.bootstrap,
            retry_backoff_ms=200,
            max_retries=10,
            connect_timeout=2000,
        ) as p:

            def work() -> None:
                i = 0
                while not stop.is_set() and i < 10_000:
                    try:
                        p.produce_sync(topic, 0, [(None, str(i).encode())])
                        acked.append(i)
                    except kaffe.KafkaError as exc:
                        failed.append(exc)
                    i += 1
                    if i == 50:
                        half.set()

            thread = threading.Thread(target=work)
            thread.start()
            assert half.wait(DEADLINE_S)
            kafka_cluster.kill(old)
            try:
                count = len(acked)
                poll_until(
                    lambda: True if len(acked) >= count + 50 else None,
                    timeout=DEADLINE_S,
                    what="produce to succeed on the new leader",
                )
            finally:
                stop.set()
                thread.join(DEADLINE_S * 2)
            assert not thread.is_alive()  # nothing hung
        assert all(isinstance(e, kaffe.KafkaError) for e in failed)
        values = {
            int(r.value) for r in read_confluent(kafka_cluster.bootstrap, topic, 0) if r.value
        }
        assert set(acked) <= values  # every acknowledged message survived
        assert len(values) == len(set(values))
    finally:
        kafka_cluster.restart(old)
        kafka_cluster.wait_until_nodes(3, timeout=120.0)
        kafka_cluster.admin.delete_topic(topic)
