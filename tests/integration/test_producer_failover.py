"""A leader failover is invisible to a producer with kaffe's defaults.

Three nodes, a topic with replication factor 3 and ``min.insync.replicas=2``. A default
``kaffe.Producer`` calls ``produce_sync`` with lists of 200 keyed messages, one call after the
other, while the leader of partition 0 is killed with SIGKILL and restarted, twice. Retries are
bounded by the delivery deadline (120 s), not by a count, so every call must succeed: the
producer refreshes metadata, backs off and re-sends until the new leader takes the batch. Read
back with confluent-kafka, every message is in the log exactly once, in order per key.

Where a user sets ``max_retries`` the count still applies: with ``max_retries=0`` a produce to
a partition that has too few in-sync replicas fails at the first ``NOT_ENOUGH_REPLICAS``, with
an error that says so, long before the delivery deadline.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Iterator

import pytest
from tests.integration.group_support import wait_until
from tests.integration.test_producer_oracles import read_confluent

import kaffe
from kafka_harness.admin import AdminError
from kafka_harness.cluster import LocalCluster
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.cluster

PARTITIONS = 3
KEYS = [f"key-{i:02d}" for i in range(40)]
PER_CALL = 200
ROUNDS = 2
WAIT_S = 180.0  # generous: a failover on a loaded 2-core machine


class KeyedStream:
    """Calls ``produce_sync`` with 200 keyed messages at a time, one call after the other, in
    a thread; remembers each call's duration and every failure."""

    def __init__(self, producer: kaffe.Producer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.sent = dict.fromkeys(KEYS, 0)  # per key: how many were acknowledged
        self.calls = 0
        self.durations: list[float] = []
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.is_set():
            batch: list[tuple[str, str]] = []
            seq = dict(self.sent)
            for i in range(PER_CALL):
                key = KEYS[i % len(KEYS)]
                batch.append((key, f"{key}:{seq[key]}"))
                seq[key] += 1
            started = time.monotonic()
            try:
                self.producer.produce_sync(self.topic, batch)
            except Exception as exc:  # every failure is a test failure, recorded
                with self.lock:
                    self.errors.append(exc)
                return
            with self.lock:
                self.durations.append(time.monotonic() - started)
                self.sent = seq
                self.calls += 1

    def count(self) -> int:
        with self.lock:
            return self.calls

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "a produce_sync call never returned"


def _describe(cluster: LocalCluster, topic: str) -> list[tuple[int | None, int]] | None:
    """``(leader, ISR size)`` per partition; ``None`` while the admin cannot say."""
    try:
        desc = cluster.admin.describe_topic(topic, timeout=10.0)
    except AdminError:
        return None
    return [(p.leader, len(p.isr)) for p in desc.partitions]


def _fully_in_sync(cluster: LocalCluster, topic: str) -> bool:
    parts = _describe(cluster, topic)
    return parts is not None and all(leader is not None and isr == 3 for leader, isr in parts)


@pytest.fixture
def replicated_topic(kafka_cluster: LocalCluster) -> Iterator[str]:
    kafka_cluster.wait_until_nodes(3, timeout=WAIT_S)
    topics = TopicFactory(kafka_cluster.admin)
    name = topics(PARTITIONS, replication_factor=3, configs={"min.insync.replicas": "2"})
    wait_until(lambda: _fully_in_sync(kafka_cluster, name), WAIT_S, "full ISR")
    try:
        yield name
    finally:
        topics.cleanup()


def _progress(stream: KeyedStream, calls: int, what: str) -> None:
    """Wait until ``calls`` more produce calls succeeded (or one failed)."""
    mark = stream.count()
    wait_until(lambda: stream.count() >= mark + calls or stream.errors, WAIT_S, what)


def _kill_and_restart_leader(cluster: LocalCluster, topic: str, stream: KeyedStream) -> None:
    """Kill -9 the leader of partition 0 while ``stream`` produces; once a new leader took
    over and calls go on, restart it and wait until it is back in sync."""
    wait_until(lambda: _fully_in_sync(cluster, topic), WAIT_S, "full ISR")
    parts = _describe(cluster, topic)
    assert parts is not None
    victim = parts[0][0]
    assert victim is not None
    cluster.kill(victim)
    try:
        wait_until(
            lambda: (_describe(cluster, topic) or [(None, 0)])[0][0] not in (None, victim),
            WAIT_S,
            "a new leader for partition 0",
        )
        _progress(stream, 20, "produce calls to go on after the kill")
    finally:
        cluster.restart(victim)
        cluster.wait_until_nodes(3, timeout=WAIT_S)
    wait_until(lambda: _fully_in_sync(cluster, topic), WAIT_S, "the node back in sync")
    _progress(stream, 20, "produce calls to go on after the restart")


def test_default_producer_rides_through_two_leader_kills(
    kafka_cluster: LocalCluster, replicated_topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    topic = replicated_topic
    caplog.set_level(logging.WARNING, logger="kaffe")
    producer = kaffe.Producer(endpoints=kafka_cluster.bootstrap)  # every default
    producer.start()
    stream = KeyedStream(producer, topic)
    stream.thread.start()
    first = 0
    try:
        _progress(stream, 20, "producing under way")
        first = stream.count()
        for _ in range(ROUNDS):
            _kill_and_restart_leader(kafka_cluster, topic, stream)
    finally:
        stream.stop()
        producer.close()

    assert stream.errors == []  # every produce_sync call succeeded
    gave_up = [r.getMessage() for r in caplog.records if "giving up" in r.getMessage()]
    assert gave_up == []
    durations = stream.durations
    during = durations[first:]
    print(
        f"\n{stream.calls} produce_sync calls of {PER_CALL} messages; "
        f"max {max(durations):.2f} s, median {statistics.median(durations) * 1000:.1f} ms; "
        f"from the first kill on: {len(during)} calls, max {max(during):.2f} s, "
        f"{sum(1 for d in during if d > 1.0)} over 1 s"
    )
    by_key: dict[str, list[int]] = {k: [] for k in KEYS}
    for partition in range(PARTITIONS):
        for r in read_confluent(kafka_cluster.bootstrap, topic, partition, timeout=WAIT_S):
            assert r.key is not None
            assert r.value is not None
            key, _, seq = r.value.decode().partition(":")
            assert r.key.decode() == key
            by_key[key].append(int(seq))
    # Exactly once, in order per key: each key's values read back in offset order are
    # 0, 1, 2, ... up to the number acknowledged, nothing missing, repeated or reordered.
    for key in KEYS:
        assert by_key[key] == list(range(stream.sent[key])), key


def test_user_set_max_retries_zero_still_gives_up_at_once(kafka_cluster: LocalCluster) -> None:
    """``min.insync.replicas=3`` with one node down: every produce is answered
    ``NOT_ENOUGH_REPLICAS`` (retriable). With ``max_retries=0`` the first answer ends the call;
    the default producer would retry until its deadline."""
    kafka_cluster.wait_until_nodes(3, timeout=WAIT_S)
    topics = TopicFactory(kafka_cluster.admin)
    topic = topics(1, replication_factor=3, configs={"min.insync.replicas": "3"})
    try:
        wait_until(lambda: _fully_in_sync(kafka_cluster, topic), WAIT_S, "full ISR")
        parts = _describe(kafka_cluster, topic)
        assert parts is not None
        follower = next(n for n in (1, 2, 3) if n != parts[0][0])
        kafka_cluster.kill(follower)
        wait_until(
            lambda: (_describe(kafka_cluster, topic) or [(None, 3)])[0][1] == 2,
            WAIT_S,
            "the ISR to shrink to 2",
        )
        with kaffe.Producer(endpoints=kafka_cluster.bootstrap, max_retries=0) as p:
            assert p.settings.delivery_timeout == 120.0
            started = time.monotonic()
            with pytest.raises(kaffe.NotEnoughReplicasError) as info:
                p.produce_sync(topic, 0, [("k", "v")])
            elapsed = time.monotonic() - started
        assert "max_retries=0" in str(info.value)
        assert elapsed < 60.0  # the deadline (120 s) would have raised KafkaTimeoutError
        # no count: the deadline ends it, after retries
        started = time.monotonic()
        with (
            kaffe.Producer(endpoints=kafka_cluster.bootstrap, delivery_timeout_ms=3000) as p,
            pytest.raises(kaffe.KafkaError) as info,
        ):
            p.produce_sync(topic, 0, [("k", "v")])
        assert "NOT_ENOUGH_REPLICAS" in str(info.value)
        assert "deadline" in str(info.value)
        print(
            f"\nmax_retries=0: gave up after {elapsed:.2f} s; no count, a 3 s deadline: "
            f"{time.monotonic() - started:.2f} s ({info.value})"
        )
    finally:
        for node in (1, 2, 3):
            if not kafka_cluster.node(node).running():
                kafka_cluster.restart(node)
        kafka_cluster.wait_until_nodes(3, timeout=WAIT_S)
        topics.cleanup()
