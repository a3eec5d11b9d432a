"""The Kaffe README's consumer examples, in Python, against the real broker.

Single-message ``Consumer`` (sync and async ack), the batch ``GroupMemberSupervisor`` with each
return value, ``commit_offset(n)`` surviving a restart, and an exception redelivering the batch.
Small session timeouts keep the file quick; every wait polls a condition with a deadline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from tests.integration import group_support
from tests.integration.group_support import (
    bootstrap_fixture,  # noqa: F401  (the bootstrap fixture)
    group,
    members_fixture,  # noqa: F401  (the members fixture)
    wait_until,
)

import kaffe

pytestmark = pytest.mark.broker

FAST: dict[str, Any] = {**group_support.FAST, "subscriber_retry_delay_ms": 100}


def produce(
    bootstrap: str, topic: str, messages: list[tuple[Any, Any]], partition: int | None = None
) -> None:
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as p:
        if partition is None:
            p.produce_sync(topic, messages)
        else:
            p.produce_sync(topic, partition, messages)


def committed(bootstrap: str, group_id: str, topic: str) -> dict[int, int]:
    with kaffe.AdminClient(endpoints=bootstrap) as admin:
        offsets = admin.list_group_offsets(group_id, [topic])
    return {tp[1]: c.offset for tp, c in offsets.items()}


class Recorder:
    """A batch handler recording every batch; ``result`` decides what it returns."""

    def __init__(self, result: Callable[[list[kaffe.Message]], Any] = lambda m: None) -> None:
        self.batches: list[list[kaffe.Message]] = []
        self.lock = threading.Lock()
        self.result = result

    def handle_messages(self, messages: list[kaffe.Message]) -> Any:
        with self.lock:
            self.batches.append(list(messages))
        return self.result(messages)

    @property
    def messages(self) -> list[kaffe.Message]:
        with self.lock:
            return [m for b in self.batches for m in b]


def test_batch_handler_ok_commits_after_last_message(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    produce(bootstrap, topic, [(f"k{i}", f"v{i}") for i in range(20)])
    rec = Recorder()
    g = group()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap, topics=[topic], consumer_group=g, message_handler=rec, **FAST
    )
    members.append(sup.start())
    wait_until(lambda: len(rec.messages) >= 20, 30, "20 messages")
    msgs = rec.messages
    assert [m.value for m in msgs] == [f"v{i}".encode() for i in range(20)]
    assert [m.offset for m in msgs] == list(range(20))
    assert all(m.topic == topic and m.partition == 0 and m.ts_type == "create" for m in msgs)
    assert all(len(set(m.partition for m in b)) == 1 for b in rec.batches)
    wait_until(lambda: committed(bootstrap, g, topic).get(0) == 20, 20, "commit of offset 20")
    sup.stop()
    # A restarted member resumes after the committed offset: it sees only new messages.
    rec2 = Recorder()
    sup2 = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap, topics=[topic], consumer_group=g, message_handler=rec2, **FAST
    )
    members.append(sup2.start())
    wait_until(lambda: sup2.assignment(), 30, "an assignment")
    produce(bootstrap, topic, [("k", "new")])
    wait_until(lambda: rec2.messages, 30, "the new message")
    assert [(m.offset, m.value) for m in rec2.messages] == [(20, b"new")]


def test_commit_offset_n_restart_resumes_at_n(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    produce(bootstrap, topic, [(None, str(i)) for i in range(10)])
    rec = Recorder(lambda msgs: kaffe.commit_offset(4))
    g = group()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap, topics=[topic], consumer_group=g, message_handler=rec, **FAST
    )
    members.append(sup.start())
    wait_until(lambda: len(rec.messages) >= 10, 30, "10 messages")
    sup.stop()
    assert committed(bootstrap, g, topic)[0] == 4
    rec2 = Recorder()
    sup2 = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap, topics=[topic], consumer_group=g, message_handler=rec2, **FAST
    )
    members.append(sup2.start())
    wait_until(lambda: len(rec2.messages) >= 6, 30, "redelivery from offset 4")
    assert [m.offset for m in rec2.messages] == list(range(4, 10))


def test_no_commit_commits_nothing_but_moves_on(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    produce(bootstrap, topic, [(None, str(i)) for i in range(5)])
    rec = Recorder(lambda msgs: kaffe.NO_COMMIT)
    g = group()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap, topics=[topic], consumer_group=g, message_handler=rec, **FAST
    )
    members.append(sup.start())
    wait_until(lambda: len(rec.messages) >= 5, 30, "5 messages")
    produce(bootstrap, topic, [(None, "more")])
    wait_until(lambda: len(rec.messages) >= 6, 30, "the message after the batch")
    assert [m.offset for m in rec.messages] == list(range(6))  # each exactly once
    sup.stop()
    assert committed(bootstrap, g, topic).get(0, -1) == -1


def test_exception_redelivers_the_batch_and_commits_nothing_for_it(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    produce(bootstrap, topic, [(None, str(i)) for i in range(8)])
    failures = {"left": 2}
    seen: list[list[int]] = []
    lock = threading.Lock()

    def handle(messages: list[kaffe.Message]) -> None:
        with lock:
            seen.append([m.offset for m in messages])
            if failures["left"] > 0:
                failures["left"] -= 1
                raise RuntimeError("boom")

    g = group()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap, topics=[topic], consumer_group=g, message_handler=handle, **FAST
    )
    members.append(sup.start())
    wait_until(lambda: committed(bootstrap, g, topic).get(0) == 8, 30, "commit of offset 8")
    with lock:
        assert len(seen) >= 3
        first = seen[0]
        assert seen[1] == first
        assert seen[2] == first
        assert first[0] == 0
        delivered = sorted({o for b in seen for o in b})
    assert delivered == list(range(8))  # nothing skipped


def test_single_message_consumer(bootstrap: str, topic_factory: Any, members: list[Any]) -> None:
    topic = topic_factory(3)
    produce(bootstrap, topic, [(f"k{i}", f"v{i}") for i in range(30)])
    got: list[kaffe.Message] = []
    lock = threading.Lock()

    class Processor:
        def handle_message(self, message: kaffe.Message) -> None:
            with lock:
                got.append(message)

    g = group()
    consumer = kaffe.Consumer(
        endpoints=bootstrap, topics=[topic], consumer_group=g, message_handler=Processor(), **FAST
    )
    members.append(consumer.start())
    wait_until(lambda: len(got) >= 30, 30, "30 messages")
    with lock:
        assert sorted(m.value for m in got) == sorted(f"v{i}".encode() for i in range(30))
        for p in range(3):
            offsets = [m.offset for m in got if m.partition == p]
            assert offsets == list(range(len(offsets)))  # in order per partition
        ends = {p: len([m for m in got if m.partition == p]) for p in range(3)}
    wait_until(
        lambda: committed(bootstrap, g, topic) == {p: ends[p] for p in range(3)},
        20,
        f"commits {ends}",
    )


def test_async_ack_commits_only_up_to_first_unacked(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    produce(bootstrap, topic, [(None, str(i)) for i in range(6)])
    got: list[kaffe.Message] = []
    lock = threading.Lock()

    class Processor:
        def handle_message(self, consumer: kaffe.Consumer, message: kaffe.Message) -> None:
            with lock:
                got.append(message)

    g = group()
    consumer = kaffe.Consumer(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=g,
        message_handler=Processor(),
        async_message_ack=True,
        **FAST,
    )
    members.append(consumer.start())
    wait_until(lambda: len(got) >= 6, 30, "6 messages")
    with lock:
        by_offset = {m.offset: m for m in got}
    # Acknowledge out of order: 0, 1, then 3, 4, 5; 2 stays open.
    for off in (0, 1, 3, 4, 5):
        consumer.ack(by_offset[off])
    wait_until(lambda: committed(bootstrap, g, topic).get(0) == 2, 20, "commit of offset 2")
    assert consumer.commit() == {}  # nothing further may be committed while 2 is open
    assert committed(bootstrap, g, topic)[0] == 2
    kaffe.Consumer.ack(consumer, by_offset[2])
    wait_until(lambda: committed(bootstrap, g, topic).get(0) == 6, 20, "commit of offset 6")


def test_single_message_exception_redelivers_from_the_failed_message(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    produce(bootstrap, topic, [(None, str(i)) for i in range(5)])
    calls: list[int] = []
    lock = threading.Lock()
    failed = threading.Event()

    def handle(message: kaffe.Message) -> None:
        with lock:
            calls.append(message.offset)
        if message.offset == 3 and not failed.is_set():
            failed.set()
            raise ValueError("once")

    g = group()
    consumer = kaffe.Consumer(
        endpoints=bootstrap, topics=[topic], consumer_group=g, message_handler=handle, **FAST
    )
    members.append(consumer.start())
    wait_until(lambda: committed(bootstrap, g, topic).get(0) == 5, 30, "commit of offset 5")
    with lock:
        assert calls == [0, 1, 2, 3, 3, 4]


@pytest.mark.parametrize("strategy", ["worker_per_partition", "worker_per_topic_partition"])
def test_worker_strategies_keep_order_and_run_partitions_concurrently(
    bootstrap: str, topic_factory: Any, members: list[Any], strategy: str
) -> None:
    topic = topic_factory(2)
    for p in (0, 1):
        produce(bootstrap, topic, [(None, str(i)) for i in range(10)], partition=p)
    threads: dict[int, set[str]] = {0: set(), 1: set()}
    order: dict[int, list[int]] = {0: [], 1: []}
    both_inside = threading.Event()
    inside: set[int] = set()
    lock = threading.Lock()

    def handle(messages: list[kaffe.Message]) -> None:
        p = messages[0].partition
        with lock:
            threads[p].add(threading.current_thread().name)
            order[p].extend(m.offset for m in messages)
            inside.add(p)
            if len(inside) == 2:
                both_inside.set()
        both_inside.wait(5.0)  # both partitions' handlers are running at the same time
        with lock:
            inside.discard(p)

    g = group()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=g,
        message_handler=handle,
        worker_allocation_strategy=strategy,
        **FAST,
    )
    members.append(sup.start())
    wait_until(lambda: sum(len(v) for v in order.values()) >= 20, 30, "20 messages")
    assert both_inside.is_set()
    with lock:
        for p in (0, 1):
            assert order[p] == list(range(len(order[p])))
            assert len(threads[p]) == 1
        assert threads[0] != threads[1]


def test_config_errors_name_key_value_and_allowed() -> None:
    base = {"endpoints": "127.0.0.1:1", "topics": ["t"], "consumer_group": "g"}
    with pytest.raises(kaffe.ConfigError, match=r"offset_reset_policy.*reset_to_earliest"):
        kaffe.GroupMemberSupervisor(message_handler=print, offset_reset_policy="earliest", **base)
    with pytest.raises(kaffe.ConfigError, match="unknown config key 'max_byte'"):
        kaffe.GroupMemberSupervisor.from_config({**base, "message_handler": print, "max_byte": 1})
    with pytest.raises(kaffe.ConfigError, match="message_handler"):
        kaffe.GroupMemberSupervisor(message_handler=object(), **base)
    with pytest.raises(kaffe.ConfigError, match="async_message_ack"):
        kaffe.GroupMemberSupervisor(message_handler=print, async_message_ack=True, **base)
    with pytest.raises(kaffe.ConfigError, match="heartbeat_rate_seconds"):
        kaffe.Consumer(
            message_handler=print, session_timeout_seconds=3, heartbeat_rate_seconds=5, **base
        )
    sup = kaffe.GroupMemberSupervisor.from_config({**base, "message_handler": print})
    assert sup.values["max_bytes"] == 1_000_000
    assert sup.values["rebalance_delay_ms"] == 0  # kaffe's default (Kaffe: 10_000)
    assert sup.values["min_bytes"] == 1  # kaffe's default (Kaffe: 0)
    assert sup.list_subscribed_topics() == ["t"]
