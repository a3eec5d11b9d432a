"""The producer's hand-off: produce calls never wait for the event loop, keep their order per
partition, and are delivered or failed (never dropped) when the producer closes.

The producer's event-loop thread is blocked on purpose (a callback scheduled on it waits on a
``threading.Event``): calls made meanwhile must return, and their messages must arrive once the
loop runs again. What arrived is read back with confluent-kafka. The calls made while the loop
is blocked stay below ``partition_buffer_limit`` (512 waiting calls), past which a call waits for
room (back-pressure).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from tests.integration.test_producer_oracles import md5_partition, read_confluent

import kaffe
from kafka_harness.broker import BrokerHandle
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.broker

DEADLINE_S = 30.0


@contextmanager
def loop_blocked(p: kaffe.Producer) -> Iterator[threading.Event]:
    """Block the producer's event-loop thread until the block ends (or the yielded event is
    set); yields once the loop is really stuck in the blocking callback."""
    loop = p._loop
    assert loop is not None
    entered = threading.Event()
    release = threading.Event()

    def block() -> None:
        entered.set()
        release.wait(DEADLINE_S)

    loop.loop.call_soon_threadsafe(block)
    assert entered.wait(DEADLINE_S), "the loop never ran the blocking callback"
    try:
        yield release
    finally:
        release.set()


def test_produce_async_returns_while_the_loop_is_blocked(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(4)
    keys = [f"key-{i % 37}".encode() for i in range(400)]
    with kaffe.Producer(endpoints=kafka_broker.bootstrap) as p:
        p.produce_sync(topic, "warm-up", "0")  # the topic's metadata is known
        with loop_blocked(p) as release:
            futures = [p.produce_async(topic, k, f"m{i}".encode()) for i, k in enumerate(keys)]
            none = [p.produce_async(topic, k, b"nf", future=False) for k in keys[:50]]
            # Every call returned although the loop could not run a single step.
            assert not release.is_set()
            assert all(f is not None and not f.done() for f in futures)
            assert none == [None] * 50
        p.flush(DEADLINE_S)
        results = [f.result(0) for f in futures if f is not None]
    by_partition: dict[int, list[bytes | None]] = {}
    for partition in range(4):
        by_partition[partition] = [
            r.value for r in read_confluent(kafka_broker.bootstrap, topic, partition)
        ]
    for k, result in zip(keys, results, strict=True):
        assert result[0][0] == md5_partition(k, 4)
    for partition, values in by_partition.items():
        expected = [
            f"m{i}".encode() for i, k in enumerate(keys) if md5_partition(k, 4) == partition
        ]
        sent = [v for v in values if v not in (b"0", b"nf")]
        assert sent == expected, f"partition {partition}: order differs from call order"
    assert sum(v == b"nf" for vs in by_partition.values() for v in vs) == 50


def test_aio_produce_async_does_not_wait_for_the_sender(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    import asyncio

    topic = topic_factory(2)

    async def main() -> list[Any]:
        async with kaffe.aio.Producer(endpoints=kafka_broker.bootstrap) as p:
            await p.produce_sync(topic, 0, "warm-up", "0")
            futures = [await p.produce_async(topic, 1, f"k{i}", f"{i}") for i in range(300)]
            assert not all(f is not None and f.done() for f in futures)
            await p.flush(DEADLINE_S)
            return [f.result() for f in futures if f is not None]

    results = asyncio.run(main())
    offsets = [r[0][1] for r in results]
    assert offsets == sorted(offsets)
    assert len(set(offsets)) == 300
    values = [r.value for r in read_confluent(kafka_broker.bootstrap, topic, 1)]
    assert values == [f"{i}".encode() for i in range(300)]


def test_close_with_calls_still_queued_delivers_them(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(3)
    p = kaffe.Producer(endpoints=kafka_broker.bootstrap).start()
    p.produce_sync(topic, "warm-up", "0")
    with loop_blocked(p):
        futures = [p.produce_async(topic, f"k{i}", f"v{i}") for i in range(450)]
        lists = [p.produce_async(topic, [(f"l{i}", "v")] * 3) for i in range(20)]
    p.close()  # right after the loop is released: the calls are still in the hand-off queue
    everything = [f for f in futures + lists if f is not None]
    assert all(f.done() for f in everything), "close() returned with undecided produce calls"
    assert all(f.exception() is None for f in everything)
    total = sum(len(read_confluent(kafka_broker.bootstrap, topic, i)) for i in range(3))
    assert total == 1 + 450 + 20 * 3


def test_close_fails_what_it_cannot_deliver(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    """A partition that does not exist cannot take messages: closing fails those calls loudly
    (their futures), delivers the others, and never leaves a future undecided."""
    topic = topic_factory(1)
    p = kaffe.Producer(endpoints=kafka_broker.bootstrap).start()
    p.produce_sync(topic, "warm-up", "0")
    with loop_blocked(p):
        good = [p.produce_async(topic, 0, f"g{i}", "v") for i in range(100)]
        bad = [p.produce_async(topic, 7, f"b{i}", "v") for i in range(10)]
    p.close(timeout=DEADLINE_S)
    assert all(f is not None and f.done() and f.exception() is None for f in good)
    for f in bad:
        assert f is not None
        assert f.done()
        assert isinstance(f.exception(), kaffe.UnknownTopicOrPartitionError)
    assert len(read_confluent(kafka_broker.bootstrap, topic, 0)) == 101


def test_calls_after_close_are_refused(kafka_broker: BrokerHandle) -> None:
    p = kaffe.Producer(endpoints=kafka_broker.bootstrap).start()
    p.close()
    with pytest.raises(kaffe.KafkaError, match=r"not started|closed"):
        p.produce_async("any-topic", "k", "v")
    with pytest.raises(kaffe.KafkaError, match=r"not started|closed"):
        p.produce_sync("any-topic", "k", "v")


def test_future_false_failure_is_raised_by_flush(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    small = topic_factory(1, configs={"max.message.bytes": "2000"})
    with kaffe.Producer(endpoints=kafka_broker.bootstrap) as p:
        assert p.produce_async(small, "k", b"z" * 10_000, future=False) is None
        with pytest.raises((kaffe.MessageTooLargeError, kaffe.RecordListTooLargeError)):
            p.flush(DEADLINE_S)
        p.flush(DEADLINE_S)  # reported once


def test_sync_call_on_the_loop_thread_refuses_to_wait_for_itself(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    """Calls made on the producer's own loop thread (say, from a delivery callback of the
    asyncio layer) never deadlock: once the queue is full they raise instead of waiting."""
    topic = topic_factory(1)
    outcome: list[object] = []
    done = threading.Event()
    with kaffe.Producer(endpoints=kafka_broker.bootstrap) as p:
        p.produce_sync(topic, "warm-up", "0")
        loop = p._loop
        assert loop is not None

        def on_loop() -> None:
            try:
                for i in range(p.settings.partition_buffer_limit + 10):
                    p.produce_async(topic, f"k{i}", "v", future=False)
                outcome.append("no error")
            except RuntimeError as exc:
                outcome.append(exc)
            finally:
                done.set()

        loop.loop.call_soon_threadsafe(on_loop)
        assert done.wait(DEADLINE_S), "the call on the loop thread hung"
        p.flush(DEADLINE_S)
    assert len(outcome) == 1
    assert isinstance(outcome[0], RuntimeError)
    assert "own event-loop thread" in str(outcome[0])
    # What was queued before the refusal is delivered.
    limit = p.settings.partition_buffer_limit
    assert len(read_confluent(kafka_broker.bootstrap, topic, 0)) == 1 + limit
