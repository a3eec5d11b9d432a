"""The fetcher against the real broker: incremental fetch sessions, prefetch bounds, records
larger than ``max_bytes``, and the begin offset without a committed one."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from tests.integration.group_support import (
    bootstrap_fixture,  # noqa: F401  (the bootstrap fixture)
    members_fixture,  # noqa: F401  (the members fixture)
    wait_until,
)

import kaffe

pytestmark = pytest.mark.broker

FAST: dict[str, Any] = {
    "rebalance_delay_ms": 0,
    "session_timeout_seconds": 6,
    "heartbeat_rate_seconds": 1,
    "min_bytes": 1,
    "max_wait_time": 200,
    "offset_commit_interval_seconds": 1,
    "start_with_earliest_message": True,
}


def _member(bootstrap: str, topic: str, handler: Any, **kw: Any) -> kaffe.GroupMemberSupervisor:
    return kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=f"kaffe-it-{uuid.uuid4().hex[:10]}",
        message_handler=handler,
        **{**FAST, **kw},
    )


def test_incremental_fetch_session_delivers_everything(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(4)
    got: list[kaffe.Message] = []
    lock = threading.Lock()

    def handle(messages: list[kaffe.Message]) -> None:
        with lock:
            got.extend(messages)

    sup = _member(bootstrap, topic, handle)
    members.append(sup.start())
    wait_until(lambda: len(sup.assignment()) == 4, 30, "4 partitions")
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as producer:
        for round_ in range(5):  # several rounds: later fetches are incremental
            for p in range(4):
                producer.produce_sync(topic, p, [(None, f"{round_}-{p}-{i}") for i in range(10)])
            wait_until(lambda r=round_: len(got) >= 40 * (r + 1), 30, f"round {round_}")
    engine = sup._engine
    assert engine is not None
    assert engine.fetcher is not None
    sessions = engine.fetcher.sessions()
    assert any(s.session_id != 0 for s in sessions)  # the broker gave a session
    assert any(s.epoch > 1 for s in sessions)  # and it was used incrementally
    with lock:
        values = sorted(m.value or b"" for m in got)
    expected = sorted(
        f"{r}-{p}-{i}".encode() for r in range(5) for p in range(4) for i in range(10)
    )
    assert values == expected


def test_prefetch_count_bounds_buffered_batches(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    release = threading.Event()
    batches: list[list[int]] = []

    def handle(messages: list[kaffe.Message]) -> None:
        batches.append([m.offset for m in messages])
        release.wait(30)

    sup = _member(bootstrap, topic, handle, prefetch_count=1, prefetch_bytes=0)
    members.append(sup.start())
    wait_until(lambda: sup.assignment(), 30, "the partition")
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as producer:
        producer.produce_sync(topic, 0, [(None, "first")])
        wait_until(lambda: batches, 30, "the first batch")
        producer.produce_sync(topic, 0, [(None, str(i)) for i in range(50)])
    engine = sup._engine
    assert engine is not None
    state = engine.assigned[(topic, 0)]
    assert len(state.batches) == 0  # nothing fetched ahead while one batch is unacknowledged
    assert state.position == 1
    release.set()
    wait_until(lambda: sum(len(b) for b in batches) >= 51, 30, "the rest")
    assert [o for b in batches for o in b] == list(range(51))


def test_record_larger_than_max_bytes(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1, configs={"max.message.bytes": "2000000"})
    big = bytes(range(256)) * 4000  # ~1 MB, 1000x max_bytes
    got: list[kaffe.Message] = []
    sup = _member(bootstrap, topic, got.extend, max_bytes=1000)
    members.append(sup.start())
    with kaffe.Producer(endpoints=bootstrap, topics=[topic], max_batch_size=2_000_000) as producer:
        producer.produce_sync(topic, 0, [(None, "small"), (None, big), (None, "after")])
    wait_until(lambda: len(got) >= 3, 30, "the big message and the ones around it")
    assert [m.value for m in got] == [b"small", big, b"after"]


def test_latest_begin_offset_skips_old_messages(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as producer:
        producer.produce_sync(topic, 0, [(None, "old")])
        got: list[kaffe.Message] = []
        sup = _member(bootstrap, topic, got.extend, start_with_earliest_message=False)
        members.append(sup.start())
        engine = sup._engine
        assert engine is not None
        wait_until(
            lambda: sup.assignment() and engine.assigned[(topic, 0)].position is not None,
            30,
            "the partition's start position",
        )
        producer.produce_sync(topic, 0, [(None, "new")])
    wait_until(lambda: got, 30, "the new message")
    assert [(m.offset, m.value) for m in got] == [(1, b"new")]
