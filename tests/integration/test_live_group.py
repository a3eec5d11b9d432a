"""A group consuming a live stream while members come and go, with kaffe's defaults: a joining
member handles messages without a fixed wait, a stopping member leaves (its partitions move at
once, not after the session timeout), and under cooperative-sticky the partitions that stay with
a member are never revoked or paused.

Deadlines are generous and sit below the waits of the old behaviour (a fixed 10 s rebalance
delay, a 30 s session timeout), never at the figures the benchmarks report."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.group_support import (
    bootstrap_fixture,  # noqa: F401  (the bootstrap fixture)
    group,
    members_fixture,  # noqa: F401  (the members fixture)
    wait_until,
)

import kaffe
from kaffe.group_member import CONSUMER_KEYS

pytestmark = pytest.mark.broker

TopicPartition = tuple[str, int]


class Timed:
    """Records when each partition's messages were handled, and the revoked partitions."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.handled: dict[TopicPartition, list[float]] = {}
        self.revoked: list[TopicPartition] = []

    def handle_messages(self, messages: list[kaffe.Message]) -> None:
        now = time.monotonic()
        with self.lock:
            self.handled.setdefault((messages[0].topic, messages[0].partition), []).extend(
                [now] * len(messages)
            )

    def on_revoked(self, partitions: list[TopicPartition]) -> None:
        with self.lock:
            self.revoked.extend(partitions)

    def count(self, tp: TopicPartition | None = None) -> int:
        with self.lock:
            if tp is not None:
                return len(self.handled.get(tp, ()))
            return sum(len(v) for v in self.handled.values())

    def times(self, tp: TopicPartition) -> list[float]:
        with self.lock:
            return list(self.handled.get(tp, ()))


@pytest.fixture(name="stream")
def stream_fixture(bootstrap: str) -> Iterator[Any]:
    """``stream(topic, partitions)`` produces one message to every partition every 20 ms in a
    thread until the test ends."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(topic: str, partitions: int) -> None:
        def run() -> None:
            with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as producer:
                i = 0
                while not stop.wait(0.02):  # the stream's pace, not a synchronisation
                    for p in range(partitions):
                        producer.produce_sync(topic, p, [(None, str(i))])
                    i += 1

        t = threading.Thread(target=run, daemon=True)
        t.start()
        threads.append(t)

    yield start
    stop.set()
    for t in threads:
        t.join(30)


def _member(bootstrap: str, topic: str, grp: str, handler: Any, **kw: Any) -> Any:
    # kaffe's defaults, except a start at the earliest message
    return kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=grp,
        message_handler=handler,
        start_with_earliest_message=True,
        **kw,
    )


def test_defaults_long_poll_and_rebalance_without_delay() -> None:
    assert CONSUMER_KEYS["min_bytes"].default == 1
    assert CONSUMER_KEYS["rebalance_delay_ms"].default == 0


def test_joining_member_handles_without_a_fixed_wait(
    bootstrap: str, topic_factory: Any, members: list[Any], stream: Any
) -> None:
    topic = topic_factory(2)
    grp = group()
    first, second = Timed(), Timed()
    a = _member(bootstrap, topic, grp, first)
    members.append(a.start())
    stream(topic, 2)
    wait_until(lambda: first.count() > 0, 30, "the first member handling the stream")
    started = time.monotonic()
    b = _member(bootstrap, topic, grp, second, rebalance_delay_ms=0)
    members.append(b.start())
    wait_until(lambda: second.count() > 0, 30, "the joining member handling messages")
    # Kaffe's rebalance_delay_ms alone held every new assignment back for 10 s
    assert time.monotonic() - started < 8.0
    assert len(a.assignment()) == 1
    assert len(b.assignment()) == 1


def test_stopping_member_leaves_and_its_partitions_move_at_once(
    bootstrap: str, topic_factory: Any, members: list[Any], stream: Any
) -> None:
    topic = topic_factory(2)
    grp = group()
    first, second = Timed(), Timed()
    a = _member(bootstrap, topic, grp, first, session_timeout_seconds=45)
    members.append(a.start())
    b = _member(bootstrap, topic, grp, second, session_timeout_seconds=45)
    members.append(b.start())
    wait_until(
        lambda: len(a.assignment()) == 1 and len(b.assignment()) == 1, 30, "one partition each"
    )
    stream(topic, 2)
    moved = b.assignment()[0]
    wait_until(lambda: second.count(moved) > 0, 30, "the second member handling its partition")
    stopped = time.monotonic()
    b.stop()
    before = first.count(moved)
    wait_until(lambda: first.count(moved) > before, 30, "the moved partition on the first member")
    # without a LeaveGroup the partition would wait for the 45 s session timeout
    assert time.monotonic() - stopped < 15.0
    assert sorted(a.assignment()) == [(topic, 0), (topic, 1)]


def test_cooperative_sticky_never_pauses_partitions_that_stay(
    bootstrap: str, topic_factory: Any, members: list[Any], stream: Any
) -> None:
    topic = topic_factory(4)
    grp = group()
    first, second = Timed(), Timed()
    coop = {"partition_assignment_strategy": "cooperative-sticky"}
    a = _member(bootstrap, topic, grp, first, **coop)
    members.append(a.start())
    stream(topic, 4)
    wait_until(
        lambda: all(first.count((topic, p)) > 0 for p in range(4)), 30, "all 4 on one member"
    )
    engine = a._engine
    assert engine is not None
    assert engine.fetcher is not None
    states_before = {s.tp: s for s in engine.fetcher.assigned()}
    joined = time.monotonic()
    b = _member(bootstrap, topic, grp, second, **coop)
    members.append(b.start())
    wait_until(
        lambda: len(b.assignment()) == 2 and len(a.assignment()) == 2,
        30,
        "two partitions each",
    )
    wait_until(lambda: second.count() > 0, 30, "the second member handling its partitions")
    kept = a.assignment()
    marks = {tp: first.count(tp) for tp in kept}
    wait_until(
        lambda: all(first.count(tp) > marks[tp] + 20 for tp in kept),
        30,
        "the kept partitions going on after the rebalance",
    )
    states_after = {s.tp: s for s in engine.fetcher.assigned()}
    for tp in kept:
        # never revoked, never re-assigned: the same fetch state and subscriber all along
        assert tp not in first.revoked
        assert states_after[tp] is states_before[tp]
        handled = [t for t in first.times(tp) if t >= joined]
        gaps = [b_ - a_ for a_, b_ in itertools.pairwise(handled)]
        # one message every 20 ms; generous bound for a loaded machine
        assert max(gaps) < 2.0, f"{tp} paused for {max(gaps):.2f} s during the rebalance"
