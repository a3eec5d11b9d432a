"""Group consumption on the three-node cluster survives broker failures.

A producer thread writes a numbered stream (``required_acks=-1``, RF 3, ``min.insync.replicas``
2) while a ``GroupMemberSupervisor`` consumes it. Mid-stream the leader of partition 0 is killed
with SIGKILL (then restarted), the group coordinator is killed, or every node is restarted in
turn. Consumption must resume, and
every message the producer had acknowledged must be consumed. A last test stops (SIGSTOP) the
group coordinator just as a member reads its partitions' committed offsets.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from tests.integration.group_support import FAST, wait_until

import kaffe
from kafka_harness.admin import AdminError
from kafka_harness.cluster import LocalCluster
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.cluster


class Stream:
    """Produces numbered messages in a thread; remembers which were acknowledged."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.producer = kaffe.Producer(
            endpoints=bootstrap, topics=[topic], required_acks=-1, max_retries=10
        )
        self.producer.start()
        self.topic = topic
        self.acked: set[bytes] = set()
        self.failed = 0
        self.next = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            values = [str(self.next + i).encode() for i in range(20)]
            self.next += 20
            try:
                self.producer.produce_sync(self.topic, [(v, v) for v in values])
            except kaffe.KafkaError:
                self.failed += 1
                continue
            with self.lock:
                self.acked.update(values)
            time.sleep(0.01)  # a steady stream, not a flood

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(60)
        self.producer.close()


class Collect:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: set[bytes] = set()

    def handle_messages(self, messages: list[kaffe.Message]) -> None:
        with self.lock:
            self.values.update(m.value or b"" for m in messages)

    def count(self) -> int:
        with self.lock:
            return len(self.values)


@pytest.fixture
def replicated_topic(kafka_cluster: LocalCluster) -> Iterator[str]:
    topics = TopicFactory(kafka_cluster.admin)
    name = topics(6, replication_factor=3, configs={"min.insync.replicas": "2"})

    def full_isr() -> bool:
        try:
            desc = kafka_cluster.admin.describe_topic(name, timeout=10.0)
        except AdminError:
            return False
        return all(len(p.isr) == 3 for p in desc.partitions)

    wait_until(full_isr, 60, "full ISR")
    try:
        yield name
    finally:
        topics.cleanup()


def _leader(cluster: LocalCluster, topic: str, partition: int) -> int | None:
    """The partition's leader as the Java admin sees it; ``None`` while it has none (during an
    election after a kill, a describe can show no leader for a moment)."""
    try:
        desc = cluster.admin.describe_topic(topic, timeout=10.0)
    except AdminError:
        return None
    return desc.partitions[partition].leader


def _run_with_fault(
    cluster: LocalCluster, topic: str, fault: Callable[[kaffe.GroupMemberSupervisor], None]
) -> None:
    col = Collect()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=cluster.bootstrap,
        topics=[topic],
        consumer_group=f"kaffe-it-{uuid.uuid4().hex[:10]}",
        message_handler=col,
        **FAST,
    )
    stream = Stream(cluster.bootstrap, topic)
    sup.start()
    try:
        stream.thread.start()
        wait_until(lambda: col.count() >= 200, 60, "consumption under way")
        fault(sup)
        mark = stream.count()
        wait_until(lambda: stream.count() >= mark + 200, 120, "the producer to go on")
        wait_until(lambda: col.count() >= mark + 100, 120, "consumption to resume")
    finally:
        stream.stop()
    try:
        wait_until(lambda: stream.acked <= col.values, 120, "every acknowledged message")
        assert sup.failure is None
    finally:
        sup.stop()


def test_kill_nine_partition_leader_during_consumption(
    kafka_cluster: LocalCluster, replicated_topic: str
) -> None:
    killed: list[int] = []

    def leader_with_full_isr() -> int | None:
        try:
            desc = kafka_cluster.admin.describe_topic(replicated_topic, timeout=10.0)
        except AdminError:
            return None
        p0 = desc.partitions[0]
        # the harness numbers nodes from 1, so a leader id is truthy for wait_until
        return p0.leader if p0.leader is not None and len(p0.isr) == 3 else None

    def kill(sup: kaffe.GroupMemberSupervisor) -> None:
        # The premise: followers are in sync to take over. Under load an ISR can shrink for a
        # moment, and with unclean election off the death of a lone leader leaves it offline.
        victim: int = wait_until(leader_with_full_isr, 60, "partition 0 led and fully in sync")
        killed.append(victim)
        kafka_cluster.kill(victim)
        wait_until(
            lambda: _leader(kafka_cluster, replicated_topic, 0) not in (None, victim),
            60,
            "a new leader",
        )

    try:
        _run_with_fault(kafka_cluster, replicated_topic, kill)
    finally:
        for node in killed:
            if not kafka_cluster.node(node).running():
                kafka_cluster.restart(node)
        kafka_cluster.wait_until_nodes(3, timeout=90)


def test_rolling_restart_during_consumption(
    kafka_cluster: LocalCluster, replicated_topic: str
) -> None:
    def rolling(sup: kaffe.GroupMemberSupervisor) -> None:
        for node in (1, 2, 3):
            kafka_cluster.stop(node)
            kafka_cluster.restart(node)
            kafka_cluster.wait_until_nodes(3, timeout=90)

    _run_with_fault(kafka_cluster, replicated_topic, rolling)


def test_kill_nine_group_coordinator_during_consumption(
    kafka_cluster: LocalCluster, replicated_topic: str
) -> None:
    killed: list[int] = []

    def kill_coordinator(sup: kaffe.GroupMemberSupervisor) -> None:
        engine, loop = sup._engine, sup._loop
        assert engine is not None
        assert engine.cluster is not None
        assert loop is not None
        node = loop.run(engine.cluster.coordinator_node(sup.settings.group_id), 30).node_id
        killed.append(node)
        kafka_cluster.kill(node)
        # the group moves to a new coordinator; the member finds it and carries on
        wait_until(
            lambda: (
                loop.run(engine.cluster.coordinator_node(sup.settings.group_id), 30).node_id != node
            ),
            60,
            "a new coordinator",
        )

    try:
        _run_with_fault(kafka_cluster, replicated_topic, kill_coordinator)
    finally:
        for node in killed:
            if not kafka_cluster.node(node).running():
                kafka_cluster.restart(node)
        kafka_cluster.wait_until_nodes(3, timeout=90)


def test_coordinator_stopped_while_partitions_are_assigned(
    kafka_cluster: LocalCluster, replicated_topic: str
) -> None:
    """The group coordinator is frozen (SIGSTOP) for 40 s between the member's SyncGroup and its
    OffsetFetch (``rebalance_delay_ms`` holds the lookup back until it is). The lookup times out
    after 30 s; that is retriable, so the member looks the coordinator up again (a node frozen
    past the 3 s broker session is replaced) and goes on. ``subscriber_retries`` is 0, so any
    failure counted against it would stop the member: the old engine counted this timeout and
    stopped. The session timeout (45 s) outlasts the lookup's timeout, so the membership does not
    give the assignment up first. Every message, written before and after, is handled."""
    group = f"kaffe-it-{uuid.uuid4().hex[:10]}"
    with kaffe.Producer(endpoints=kafka_cluster.bootstrap, required_acks=-1) as producer:
        before = [f"before-{i}".encode() for i in range(300)]
        producer.produce_sync(replicated_topic, [(v, v) for v in before])
        col = Collect()
        sup = kaffe.GroupMemberSupervisor(
            endpoints=kafka_cluster.bootstrap,
            topics=[replicated_topic],
            consumer_group=group,
            message_handler=col,
            **{
                **FAST,
                "session_timeout_seconds": 45,
                "rebalance_delay_ms": 5_000,
                "subscriber_retries": 0,
            },
        )
        frozen: list[int] = []
        sup.start()
        try:
            engine, loop = sup._engine, sup._loop
            assert engine is not None
            assert loop is not None
            membership = wait_until(lambda: engine.membership, 60, "the membership to start")
            wait_until(lambda: membership.generation is not None, 90, "the first assignment")
            assert engine.cluster is not None
            coordinator = loop.run(engine.cluster.coordinator_node(group), 30).node_id
            node = kafka_cluster.node(coordinator)
            assert node.proc is not None
            partitions = engine.partitions
            assert partitions is not None
            # The assignment waits out rebalance_delay before its OffsetFetch: none started yet.
            assert not partitions.assigned, "offsets were read before the coordinator froze"
            node.proc.signal(signal.SIGSTOP)
            frozen.append(coordinator)
            time.sleep(40)  # the fault's duration (longer than the lookup's 30 s), not a sync
            node.proc.signal(signal.SIGCONT)
            frozen.clear()
            assert sup.failure is None
            after = [f"after-{i}".encode() for i in range(300)]
            producer.produce_sync(replicated_topic, [(v, v) for v in after])
            wanted = set(before) | set(after)
            wait_until(lambda: wanted <= col.values, 120, "every message handled")
            assert sup.failure is None
        finally:
            for node_id in frozen:
                kafka_cluster.node(node_id).proc.signal(signal.SIGCONT)  # type: ignore[union-attr]
            sup.stop()
    kafka_cluster.wait_until_nodes(3, timeout=90)
