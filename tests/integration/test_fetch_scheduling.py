"""Fetch scheduling per partition against the real broker: long polls deliver at once, a
partition that becomes fetchable is fetched while a long poll for other partitions is in flight
or while they sleep, and stop() never waits for a long poll.

The settings make the old behaviour (one fetch per broker at a time, the whole broker asleep
after an empty fetch) miss every deadline here by far: long polls of 30-60 s and sleeps of 60 s,
against deadlines of 15 s."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from tests.integration.group_support import (
    bootstrap_fixture,  # noqa: F401  (the bootstrap fixture)
    group,
    members_fixture,  # noqa: F401  (the members fixture)
    wait_until,
)

import kaffe
from kaffe._fetch.fetcher import PartitionFetch

pytestmark = pytest.mark.broker

QUICK_GROUP: dict[str, Any] = {
    "session_timeout_seconds": 10,
    "offset_commit_interval_seconds": 1,
    "start_with_earliest_message": True,
}
DEADLINE = 15.0
"""Seconds a fetch may take in these tests: far below the long polls and sleeps they set."""


class Gate:
    """A handler that records values and blocks on partition 0 until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: list[bytes] = []
        self.release = threading.Event()
        self.blocked = threading.Event()

    def handle_messages(self, messages: list[kaffe.Message]) -> None:
        if messages[0].partition == 0 and not self.release.is_set():
            self.blocked.set()
            self.release.wait(60)
        with self.lock:
            self.values.extend(m.value or b"" for m in messages)

    def has(self, value: bytes) -> bool:
        with self.lock:
            return value in self.values


def _member(bootstrap: str, topics: list[str], handler: Any, **kw: Any) -> Any:
    return kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=topics,
        consumer_group=group(),
        message_handler=handler,
        **{**QUICK_GROUP, **kw},
    )


def _states(sup: Any) -> dict[tuple[str, int], PartitionFetch]:
    engine = sup._engine
    assert engine is not None
    assert engine.fetcher is not None
    return {s.tp: s for s in engine.fetcher.assigned()}


def _in_flight(sup: Any, tp: tuple[str, int]) -> bool:
    state = _states(sup).get(tp)
    return state is not None and state.lane is not None and state.lane.busy


def test_message_to_an_idle_partition_arrives_during_the_long_poll(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    got = Gate()
    got.release.set()
    # min_bytes is left at its default (1): the fetch long-polls, so the message is answered
    # the moment it lands, never after a sleep_timeout of 60 s
    sup = _member(bootstrap, [topic], got, max_wait_time=30_000, sleep_timeout=60_000)
    members.append(sup.start())
    wait_until(lambda: _in_flight(sup, (topic, 0)), 30, "a long poll for the idle partition")
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as producer:
        producer.produce_sync(topic, 0, [(None, "live")])
    wait_until(lambda: got.has(b"live"), DEADLINE, "the message, well before any sleep")


def _paused_partition_zero(
    bootstrap: str, topic: str, producer: kaffe.Producer, members: list[Any], **kw: Any
) -> tuple[Any, Gate]:
    """A member of ``topic`` (2 partitions) whose handler holds partition 0's first batch, with
    prefetch_count 1 / prefetch_bytes 0: partition 0 stops fetching while its worker holds the
    batch and becomes fetchable again when the worker finishes it (``gate.release``). A second
    message waits for partition 0 meanwhile."""
    gate = Gate()
    producer.produce_sync(topic, 0, [(None, "first")])
    sup = _member(
        bootstrap, [topic], gate, sleep_timeout=60_000, prefetch_count=1, prefetch_bytes=0, **kw
    )
    members.append(sup.start())
    assert gate.blocked.wait(30), "the first batch of partition 0 never reached the handler"
    producer.produce_sync(topic, 0, [(None, "second")])
    return sup, gate


def test_acked_partition_is_fetched_while_a_long_poll_is_in_flight(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(2)
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as producer:
        sup, gate = _paused_partition_zero(
            bootstrap, topic, producer, members, max_wait_time=30_000
        )
        wait_until(
            lambda: _in_flight(sup, (topic, 1)) and not _in_flight(sup, (topic, 0)),
            30,
            "a long poll for partition 1 while partition 0 is paused",
        )
        gate.release.set()
        wait_until(lambda: gate.has(b"second"), DEADLINE, "partition 0 fetched again at once")
        # partition 1's long poll was neither waited for nor cut short
        assert _in_flight(sup, (topic, 1))


def test_acked_partition_is_fetched_while_another_partition_sleeps(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(2)
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as producer:
        # Kaffe's min_bytes 0: every empty answer puts its partition to sleep for 60 s
        sup, gate = _paused_partition_zero(bootstrap, topic, producer, members, min_bytes=0)
        wait_until(
            lambda: _states(sup)[(topic, 1)].not_before > time.monotonic() + 30,
            30,
            "partition 1 asleep after an empty answer",
        )
        gate.release.set()
        wait_until(lambda: gate.has(b"second"), DEADLINE, "partition 0 fetched at once")
    assert _states(sup)[(topic, 1)].not_before > time.monotonic()  # still asleep meanwhile


def test_newly_assigned_partition_is_fetched_while_a_long_poll_is_in_flight(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    first, second = topic_factory(1), topic_factory(1)
    got = Gate()
    got.release.set()
    sup = _member(bootstrap, [first], got, max_wait_time=30_000, sleep_timeout=60_000)
    members.append(sup.start())
    wait_until(lambda: _in_flight(sup, (first, 0)), 30, "a long poll for the first topic")
    with kaffe.Producer(endpoints=bootstrap, topics=[second]) as producer:
        producer.produce_sync(second, 0, [(None, "waiting")])
    sup.subscribe_to_topics([second])
    wait_until(lambda: got.has(b"waiting"), DEADLINE, "the new topic's message")


def test_stop_does_not_wait_for_a_long_poll(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(2)
    got = Gate()
    got.release.set()
    sup = _member(bootstrap, [topic], got, max_wait_time=60_000)
    members.append(sup.start())
    wait_until(
        lambda: _in_flight(sup, (topic, 0)) and _in_flight(sup, (topic, 1)),
        30,
        "long polls for both partitions",
    )
    started = time.monotonic()
    sup.stop()
    assert time.monotonic() - started < 20, "stop() waited for the 60 s long poll"
    assert not sup.running
