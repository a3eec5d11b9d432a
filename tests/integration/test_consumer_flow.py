"""Flow control of ``kaffe.Consumer(async_message_ack=True)`` against the real broker.

Per partition, at most ``max(1, prefetch_count)`` messages are outstanding: delivered, counted
from the first one not yet acknowledged. The tests never wait for "nothing more arrives": they
wait until the consumer reports a partition's delivery as blocked (``delivery_blocked()``) and
then check the exact number delivered, which the bound fixes. An independent oracle in the
handler recomputes the outstanding window from the test's own acknowledgements at every
delivery.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.test_consumer_examples import FAST, committed, group, produce, wait_until

import kaffe

pytestmark = pytest.mark.broker


@pytest.fixture
def bootstrap(kafka_broker: Any) -> str:
    return str(kafka_broker.bootstrap)


@pytest.fixture
def members() -> Iterator[list[Any]]:
    """Stops every member a test started, even when it fails."""
    started: list[Any] = []
    yield started
    for m in started:
        m.stop()


class AckLater:
    """An async-ack handler: records deliveries; the test acknowledges through :meth:`ack`.

    At every delivery it checks the bound against its own bookkeeping (offsets are acknowledged
    here before the consumer hears of them, so this view is never more than the consumer's).
    """

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.lock = threading.Lock()
        self.delivered: dict[int, list[kaffe.Message]] = {}
        self.acked: dict[int, set[int]] = {}
        self.violations: list[str] = []
        self.consumer: kaffe.Consumer | None = None

    def handle_message(self, consumer: kaffe.Consumer, message: kaffe.Message) -> None:
        with self.lock:
            got = self.delivered.setdefault(message.partition, [])
            got.append(message)
            acked = self.acked.setdefault(message.partition, set())
            open_offsets = [m.offset for m in got if m.offset not in acked]
            window = [m for m in got if m.offset >= min(open_offsets)] if open_offsets else []
            if len(window) > self.bound:
                self.violations.append(
                    f"partition {message.partition}: {len(window)} outstanding at offset "
                    f"{message.offset} (bound {self.bound})"
                )

    def offsets(self, partition: int) -> list[int]:
        with self.lock:
            return [m.offset for m in self.delivered.get(partition, [])]

    def ack(self, partition: int, offsets: list[int]) -> None:
        assert self.consumer is not None
        with self.lock:
            by_offset = {m.offset: m for m in self.delivered.get(partition, [])}
            self.acked.setdefault(partition, set()).update(offsets)
        for off in offsets:
            self.consumer.ack(by_offset[off])


def _consumer(bootstrap: str, topic: str, group_id: str, handler: AckLater, **extra: Any) -> Any:
    consumer = kaffe.Consumer(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=group_id,
        message_handler=handler,
        async_message_ack=True,
        **{**FAST, **extra},
    )
    handler.consumer = consumer
    return consumer


def test_delivery_stops_at_prefetch_count_and_resumes_on_ack(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    total = 30
    produce(bootstrap, topic, [(None, str(i)) for i in range(total)])
    bound = 5
    h = AckLater(bound)
    g = group()
    consumer = _consumer(bootstrap, topic, g, h, prefetch_count=bound)
    assert consumer.delivery_limit == bound
    tp = (topic, 0)
    members.append(consumer.start())

    def blocked_at(n: int) -> bool:
        return len(h.offsets(0)) >= n and consumer.delivery_blocked() == [tp]

    # Nothing acknowledged: exactly `bound` messages, then delivery waits.
    wait_until(lambda: blocked_at(bound), 60, "delivery to block at the bound")
    assert h.offsets(0) == list(range(bound))
    assert consumer.unacked() == {tp: bound}

    # Later messages acknowledged first free nothing: offset 0 is still open.
    h.ack(0, [1, 2])
    assert consumer.unacked() == {tp: bound}
    assert consumer.delivery_blocked() == [tp]
    consumer.commit()
    assert committed(bootstrap, g, topic).get(0, 0) == 0

    # Acknowledging 0 closes the gap up to 3: three more are delivered (5, 6, 7), then it
    # blocks again with 3..7 outstanding.
    h.ack(0, [0])
    wait_until(lambda: blocked_at(bound + 3), 60, "delivery to resume and block again")
    assert h.offsets(0) == list(range(bound + 3))
    assert consumer.unacked() == {tp: bound}
    wait_until(lambda: committed(bootstrap, g, topic).get(0) == 3, 30, "commit of offset 3")

    # Acks after the first open offset (3) never move the commit past it.
    h.ack(0, [5, 6, 7])
    assert consumer.commit() == {}
    assert committed(bootstrap, g, topic)[0] == 3
    assert consumer.unacked() == {tp: bound}
    assert consumer.delivery_blocked() == [tp]

    # Acknowledge everything as it arrives: all messages, each exactly once, in order.
    h.ack(0, [3, 4])
    while len(h.offsets(0)) < total:
        wait_until(
            lambda: len(h.offsets(0)) == total or consumer.delivery_blocked() == [tp],
            60,
            "the next window",
        )
        with h.lock:
            open_now = [m.offset for m in h.delivered[0] if m.offset not in h.acked[0]]
        h.ack(0, open_now)
    with h.lock:
        open_now = [m.offset for m in h.delivered[0] if m.offset not in h.acked[0]]
    h.ack(0, open_now)
    assert h.offsets(0) == list(range(total))
    wait_until(lambda: committed(bootstrap, g, topic).get(0) == total, 30, f"commit of {total}")
    assert consumer.unacked() == {tp: 0}
    assert h.violations == []


def test_partitions_are_bounded_independently_and_prefetch_zero_means_one(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(2)
    for p in (0, 1):
        produce(bootstrap, topic, [(None, f"{p}-{i}") for i in range(8)], partition=p)
    h = AckLater(1)
    g = group()
    consumer = _consumer(bootstrap, topic, g, h, prefetch_count=0)
    assert consumer.delivery_limit == 1
    members.append(consumer.start())
    both = [(topic, 0), (topic, 1)]
    wait_until(lambda: consumer.delivery_blocked() == both, 60, "both partitions to block")
    assert h.offsets(0) == [0]
    assert h.offsets(1) == [0]

    # Acknowledging partition 0 moves partition 0 only; partition 1 stays at one message.
    for n in range(1, 6):
        h.ack(0, [n - 1])
        wait_until(
            lambda n=n: len(h.offsets(0)) > n and (topic, 0) in consumer.delivery_blocked(),
            60,
            f"partition 0 to deliver offset {n} and block",
        )
        assert h.offsets(0) == list(range(n + 1))
    assert h.offsets(1) == [0]
    assert consumer.unacked() == {(topic, 0): 1, (topic, 1): 1}
    assert consumer.delivery_blocked() == both
    h.ack(1, [0])
    wait_until(lambda: h.offsets(1) == [0, 1], 60, "partition 1 to go on")
    assert h.offsets(0) == list(range(6))
    assert h.violations == []


def test_stop_with_unacked_messages_commits_up_to_the_first_and_restart_redelivers(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    produce(bootstrap, topic, [(None, str(i)) for i in range(12)])
    bound = 4
    h = AckLater(bound)
    g = group()
    consumer = _consumer(bootstrap, topic, g, h, prefetch_count=bound)
    members.append(consumer.start())
    wait_until(lambda: consumer.delivery_blocked() == [(topic, 0)], 60, "delivery to block")
    assert h.offsets(0) == [0, 1, 2, 3]
    h.ack(0, [0, 1, 3])  # 2 stays open
    consumer.stop()  # the blocked delivery gives up; the final commit stops at 2
    assert committed(bootstrap, g, topic)[0] == 2
    assert h.violations == []

    h2 = AckLater(bound)
    again = _consumer(bootstrap, topic, g, h2, prefetch_count=bound)
    members.append(again.start())
    wait_until(lambda: again.delivery_blocked() == [(topic, 0)], 60, "redelivery to block")
    assert h2.offsets(0) == [2, 3, 4, 5]
    assert h2.violations == []


def test_aio_consumer_is_bounded_too(bootstrap: str, topic_factory: Any) -> None:
    # kaffe.aio.Consumer shares the engine's delivery gate and has the same introspection.
    from tests.integration.test_consumer_aio import committed as aio_committed
    from tests.integration.test_consumer_aio import until

    topic = topic_factory(1)
    produce(bootstrap, topic, [(None, str(i)) for i in range(10)])
    bound = 3
    tp = (topic, 0)
    got: list[kaffe.Message] = []

    class Handler:
        async def handle_message(self, consumer: Any, message: kaffe.Message) -> None:
            got.append(message)

    async def main() -> None:
        g = group()
        consumer = kaffe.aio.Consumer(
            endpoints=bootstrap,
            topics=[topic],
            consumer_group=g,
            message_handler=Handler(),
            async_message_ack=True,
            prefetch_count=bound,
            **FAST,
        )
        assert consumer.delivery_limit == bound
        assert consumer.unacked() == {}
        assert consumer.delivery_blocked() == []
        async with consumer:

            def blocked_at(n: int) -> bool:
                return len(got) >= n and consumer.delivery_blocked() == [tp]

            await until(lambda: blocked_at(bound), 60, "delivery to block at the bound")
            assert [m.offset for m in got] == [0, 1, 2]
            assert consumer.unacked() == {tp: bound}
            consumer.ack(got[1])
            consumer.ack(got[2])
            assert consumer.unacked() == {tp: bound}  # offset 0 is still open
            assert consumer.delivery_blocked() == [tp]
            consumer.ack(got[0])
            await until(lambda: blocked_at(2 * bound), 60, "the next window")
            assert [m.offset for m in got] == list(range(2 * bound))
            assert consumer.unacked() == {tp: bound}
            await consumer.commit()
            assert (await aio_committed(bootstrap, g, topic))[0] == bound
            for m in got[bound:]:
                consumer.ack(m)
            await until(
                lambda: len(got) == 9 and consumer.delivery_blocked() == [tp], 60, "block at 9"
            )
            assert [m.offset for m in got] == list(range(9))
            for m in got[2 * bound :]:
                consumer.ack(m)
            await until(lambda: len(got) == 10, 60, "the last message")
            assert consumer.unacked() == {tp: 1}
            consumer.ack(got[9])
            assert consumer.unacked() == {tp: 0}
            assert consumer.delivery_blocked() == []
        assert consumer.unacked() == {}

    asyncio.run(main())
