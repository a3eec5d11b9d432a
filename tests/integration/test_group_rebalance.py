"""Consumer groups against the real broker: sharing partitions, hand-over on stop, callbacks,
run-time subscription, a librdkafka member in the same group, and kill -9 of a member process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.integration import group_support
from tests.integration.group_support import (
    Collect,
    bootstrap_fixture,  # noqa: F401  (the bootstrap fixture)
    group,
    members_fixture,  # noqa: F401  (the members fixture)
    wait_until,
)

import kaffe

pytestmark = pytest.mark.broker

FAST: dict[str, Any] = {**group_support.FAST, "subscriber_retry_delay_ms": 100}


def produce(bootstrap: str, topic: str, values: list[str]) -> None:
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as p:
        p.produce_sync(topic, [(v, v) for v in values])


def committed(bootstrap: str, group_id: str, topic: str) -> dict[int, int]:
    with kaffe.AdminClient(endpoints=bootstrap) as admin:
        offsets = admin.list_group_offsets(group_id, [topic])
    return {tp[1]: c.offset for tp, c in offsets.items()}


@pytest.mark.parametrize("assignor", ["range", "roundrobin"])
def test_two_members_share_and_hand_over(
    bootstrap: str, topic_factory: Any, members: list[Any], assignor: str
) -> None:
    topic = topic_factory(6)
    g = group()
    a, b = Collect(), Collect()
    kw = dict(endpoints=bootstrap, topics=[topic], consumer_group=g, **FAST)
    kw["partition_assignment_strategy"] = assignor
    sup_a = kaffe.GroupMemberSupervisor(message_handler=a, subscriber_name="a", **kw)
    sup_b = kaffe.GroupMemberSupervisor(message_handler=b, subscriber_name="b", **kw)
    members += [sup_a.start(), sup_b.start()]
    wait_until(
        lambda: len(sup_a.assignment()) == 3 and len(sup_b.assignment()) == 3,
        40,
        "3 partitions each",
    )
    assert set(sup_a.assignment()) | set(sup_b.assignment()) == {(topic, p) for p in range(6)}
    first = [str(i) for i in range(300)]
    produce(bootstrap, topic, first)
    wait_until(lambda: len(a.values) + len(b.values) >= 300, 30, "300 messages")
    assert a.values
    assert b.values
    sup_a.stop()
    assert a.revoked
    assert sorted(a.revoked[-1]) == sorted(a.assigned[-1])
    wait_until(lambda: len(sup_b.assignment()) == 6, 30, "member b takes over all 6")
    second = [str(i) for i in range(300, 600)]
    produce(bootstrap, topic, second)
    wait_until(lambda: len(set(a.values) | set(b.values)) >= 600, 30, "600 distinct messages")
    everything = Counter(a.values + b.values)
    assert set(everything) == {v.encode() for v in first + second}  # nothing lost
    # a committed on stop, so b re-read nothing a had finished
    assert all(c == 1 for c in everything.values())
    assert b.assigned[-1] == [(topic, p) for p in range(6)]


def test_subscribe_to_topics_at_run_time(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    t1, t2 = topic_factory(1), topic_factory(2)
    col = Collect()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap, topics=[t1], consumer_group=group(), message_handler=col, **FAST
    )
    members.append(sup.start())
    wait_until(lambda: sup.assignment() == [(t1, 0)], 30, "t1 assigned")
    assert sup.subscribe_to_topics([t1, t2]) == [t2]
    assert sup.list_subscribed_topics() == [t1, t2]
    wait_until(lambda: len(sup.assignment()) == 3, 30, "t1 and t2 assigned")
    produce(bootstrap, t2, ["x", "y"])
    wait_until(lambda: len(col.values) >= 2, 30, "messages of the new topic")
    assert sorted(col.values) == [b"x", b"y"]


def _lone_kaffe_member(
    bootstrap: str, topic: str, g: str, col: Collect, assignor: str, members: list[Any]
) -> Any:
    """Start a kaffe member of ``g`` and wait until it alone owns the 6 partitions."""
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=g,
        message_handler=col,
        partition_assignment_strategy=assignor,
        **FAST,
    )
    members.append(sup.start())
    wait_until(lambda: len(sup.assignment()) == 6, 30, "kaffe alone owns 6")
    return sup


def _librdkafka_member(ck: Any, bootstrap: str, g: str, assignor: str, **extra: Any) -> Any:
    """A confluent-kafka consumer for ``g`` with the same session settings as ``FAST``."""
    return ck.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": g,
            "partition.assignment.strategy": assignor,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
            "auto.offset.reset": "earliest",
            **extra,
        }
    )


def _split_three_each(other: Any, sup: Any) -> tuple[set[int], set[int]]:
    """Poll ``other`` until it and ``sup`` own 3 partitions each; (kaffe's, librdkafka's)."""
    theirs: set[int] = set()

    def settled() -> bool:
        other.poll(0.1)
        theirs.clear()
        theirs.update(tp.partition for tp in other.assignment())
        return len(theirs) == 3 and len(sup.assignment()) == 3

    wait_until(settled, 60, "3 partitions each for kaffe and librdkafka")
    mine = {p for _, p in sup.assignment()}
    return mine, theirs


def test_shares_a_group_with_a_librdkafka_member(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    ck = pytest.importorskip("confluent_kafka")
    topic = topic_factory(6)
    g = group()
    col = Collect()
    sup = _lone_kaffe_member(bootstrap, topic, g, col, "range", members)
    other = _librdkafka_member(ck, bootstrap, g, "range", **{"enable.auto.commit": False})
    try:
        other.subscribe([topic])
        mine, theirs = _split_three_each(other, sup)
        assert mine | theirs == set(range(6))
        assert not mine & theirs
    finally:
        other.close()


_MEMBER_SCRIPT = textwrap.dedent(
    """
    import os, sys, threading
    import kaffe
    bootstrap, topic, group_id, out = sys.argv[1:5]
    lock = threading.Lock()
    log = open(out, "a", buffering=1)
    def handle(messages):
        with lock:
            for m in messages:
                log.write(f"{m.partition} {m.offset}\\n")
            log.flush()
    def assigned(parts):
        with lock:
            log.write("assigned " + ",".join(str(p) for _, p in parts) + "\\n")
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap, topics=[topic], consumer_group=group_id, message_handler=handle,
        on_assigned=assigned, rebalance_delay_ms=0, session_timeout_seconds=6,
        heartbeat_rate_seconds=1, rebalance_timeout_seconds=10, min_bytes=1, max_wait_time=300,
        offset_commit_interval_seconds=1, start_with_earliest_message=True,
        partition_assignment_strategy="range")
    sup.run()
    """
)


def _assigned(path: Path) -> list[int] | None:
    if not path.exists():
        return None
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("assigned ")]
    if not lines:
        return None
    body = lines[-1][len("assigned ") :]
    return [int(x) for x in body.split(",")] if body else []


def _processed(path: Path) -> list[tuple[int, int]]:
    out = []
    for ln in path.read_text().splitlines():
        if ln and not ln.startswith("assigned"):
            p, o = ln.split()
            out.append((int(p), int(o)))
    return out


def test_three_processes_kill_one(bootstrap: str, topic_factory: Any, tmp_path: Path) -> None:
    topic = topic_factory(12)
    g = group()
    script = tmp_path / "member.py"
    script.write_text(_MEMBER_SCRIPT)
    logs = [tmp_path / f"m{i}.log" for i in range(3)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen([sys.executable, str(script), bootstrap, topic, g, str(log)], env=env)
        for log in logs
    ]
    try:
        wait_until(
            lambda: all(_assigned(lg) is not None and len(_assigned(lg) or []) == 4 for lg in logs),
            60,
            "four partitions for each of three processes",
        )
        owned = [set(_assigned(lg) or []) for lg in logs]
        assert set().union(*owned) == set(range(12))
        produce(bootstrap, topic, [str(i) for i in range(600)])
        wait_until(lambda: sum(len(_processed(lg)) for lg in logs) >= 600, 60, "600 processed")
        before_kill = committed(bootstrap, g, topic)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        wait_until(
            lambda: all(len(_assigned(lg) or []) == 6 for lg in logs[1:]),
            30,
            "the two survivors take over within the session timeout",
        )
        produce(bootstrap, topic, [str(i) for i in range(600, 900)])
        wait_until(
            lambda: (
                len(set(_processed(logs[0]) + _processed(logs[1]) + _processed(logs[2]))) >= 900
            ),
            60,
            "900 distinct messages",
        )
        counts = Counter(_processed(logs[0]) + _processed(logs[1]) + _processed(logs[2]))
        with kaffe.AdminClient(endpoints=bootstrap) as admin:
            ends = admin.list_offsets(topic)
        expected = {(p, o) for p, e in ends.items() for o in range(e.offset)}
        assert set(counts) == expected  # every message processed at least once
        for (p, o), c in counts.items():
            if c > 1:  # only the killed member's uncommitted tail is processed twice
                assert p in owned[0], (p, o)
                assert o >= before_kill.get(p, 0), (p, o, before_kill)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
    for proc in procs[1:]:
        assert proc.returncode == 0  # SIGTERM stops run() cleanly


def test_cooperative_sticky_moves_only_what_the_new_member_takes(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(6)
    g = group()
    a, b = Collect(), Collect()
    kw = dict(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=g,
        partition_assignment_strategy="cooperative-sticky",
        **FAST,
    )
    sup_a = kaffe.GroupMemberSupervisor(message_handler=a, subscriber_name="a", **kw)
    members.append(sup_a.start())
    wait_until(lambda: len(sup_a.assignment()) == 6, 30, "a owns all 6")
    produce(bootstrap, topic, [str(i) for i in range(120)])
    wait_until(lambda: len(a.values) >= 120, 30, "a consumed the first 120")
    sup_b = kaffe.GroupMemberSupervisor(message_handler=b, subscriber_name="b", **kw)
    members.append(sup_b.start())
    wait_until(
        lambda: len(sup_a.assignment()) == 3 and len(sup_b.assignment()) == 3,
        40,
        "3 partitions each",
    )
    kept = set(sup_a.assignment())
    moved = set(sup_b.assignment())
    with a.lock:
        revoked = [tp for r in a.revoked for tp in r]
        assigned_events = list(a.assigned)
    assert set(revoked) == moved  # only what b took was revoked from a
    assert not kept & set(revoked)  # the kept partitions were never revoked
    assert assigned_events == [[(topic, p) for p in range(6)]]  # a was never re-assigned
    produce(bootstrap, topic, [str(i) for i in range(120, 240)])
    wait_until(lambda: len(set(a.values) | set(b.values)) >= 240, 30, "240 distinct")
    assert set(a.values) | set(b.values) == {str(i).encode() for i in range(240)}


def test_cooperative_sticky_with_a_librdkafka_member(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    ck = pytest.importorskip("confluent_kafka")
    topic = topic_factory(6)
    g = group()
    col = Collect()
    sup = _lone_kaffe_member(bootstrap, topic, g, col, "cooperative-sticky", members)
    other = _librdkafka_member(ck, bootstrap, g, "cooperative-sticky")
    try:
        other.subscribe([topic])
        mine, theirs = _split_three_each(other, sup)
        assert mine | theirs == set(range(6))
        assert not mine & theirs
        with col.lock:
            revoked = {p for r in col.revoked for _, p in r}
        assert revoked == theirs  # kaffe gave up exactly what librdkafka took
    finally:
        other.close()


def test_leader_rebalances_when_partitions_are_added(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(2)
    col = Collect()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=group(),
        message_handler=col,
        metadata_max_age_ms=500,
        **FAST,
    )
    members.append(sup.start())
    wait_until(lambda: len(sup.assignment()) == 2, 30, "2 partitions")
    with kaffe.AdminClient(endpoints=bootstrap) as admin:
        admin.create_partitions(topic, 4)
    wait_until(lambda: len(sup.assignment()) == 4, 30, "the 2 new partitions too")
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as p:
        p.produce_sync(topic, 3, [(None, "in-new-partition")])
    wait_until(lambda: b"in-new-partition" in col.values, 30, "a message of a new partition")


def test_shares_a_group_with_a_java_consumer(
    kafka_broker: Any, kafka_jars: Any, topic_factory: Any, members: list[Any], tmp_path: Path
) -> None:
    from kafka_harness.node import java

    bootstrap = str(kafka_broker.bootstrap)
    topic = topic_factory(6)
    g = group()
    col = Collect()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=g,
        message_handler=col,
        partition_assignment_strategy="range",
        **FAST,
    )
    members.append(sup.start())
    wait_until(lambda: len(sup.assignment()) == 6, 30, "kaffe alone owns 6")
    out = tmp_path / "java.out"
    cmd = [
        java(),
        "-Xmx256m",
        "-cp",
        kafka_jars.classpath,
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--group",
        g,
        "--consumer-property",
        "partition.assignment.strategy=org.apache.kafka.clients.consumer.RangeAssignor",
        "--consumer-property",
        "session.timeout.ms=6000",
        "--consumer-property",
        "heartbeat.interval.ms=1000",
        "--consumer-property",
        "auto.offset.reset=earliest",
        "--property",
        "print.partition=true",
    ]
    with out.open("w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: len(sup.assignment()) == 3, 90, "the Java member to take 3")
            mine = {p for _, p in sup.assignment()}
            with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as p:
                for part in range(6):
                    p.produce_sync(topic, part, [(None, f"p{part}-{i}") for i in range(5)])
            wait_until(lambda: len(col.values) >= 15, 30, "kaffe's 15 messages")

            def java_lines() -> list[str]:
                return [ln for ln in out.read_text().splitlines() if "\t" in ln]

            wait_until(lambda: len(java_lines()) >= 15, 60, "the Java member's 15 messages")
            theirs = {int(ln.split("\t")[0].split(":")[1]) for ln in java_lines()}
            assert theirs == set(range(6)) - mine
            assert sorted(col.values) == sorted(
                f"p{part}-{i}".encode() for part in mine for i in range(5)
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
