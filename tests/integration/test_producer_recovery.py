"""The producer's recovery paths, forced against real brokers.

* ``MESSAGE_TOO_LARGE``: a topic with a small ``max.message.bytes``. A batch of many records over
  the limit is cut and re-sent until every part fits (order, offsets and, with idempotence,
  contiguous sequence numbers kept); a single record over the limit fails with
  :class:`kaffe.MessageTooLargeError`, and the messages produced after it (even those already in
  flight behind it) are still delivered, renumbered into the gap it left.
* Producer id expiry: a broker of our own with a short ``producer.id.expiration.ms`` forgets
  kaffe's producer id between two produces (polled with DescribeProducers until it is gone). The
  next produce is delivered exactly once: the Kafka broker (since KIP-360) accepts any sequence
  from a producer id it has no state for, so kaffe's next sequence is written as is and no
  ``UNKNOWN_PRODUCER_ID`` comes back.
* Duplicates: a TCP proxy cuts the connection after the broker wrote the first of several
  pipelined batches; kaffe re-sends all of them and the broker's deduplication leaves exactly one
  copy of each.
* ``OUT_OF_ORDER_SEQUENCE_NUMBER``: a proxy swaps two pipelined Produce requests, so the broker
  refuses the second batch (it arrives first) and writes the first; kaffe re-sends the refused
  one. A proxy that drops a Produce request (the broker never sees it) while kaffe has no
  retries left: the batch fails, and the next one goes under a new producer id instead of
  leaving a sequence gap the broker would refuse.

Every test reads the partition back and counts records exactly.
"""

from __future__ import annotations

import asyncio
import os
import struct
import time
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from tests.integration.kafka_proxy import KafkaProxy
from tests.integration.test_producer_idempotence import CuttingProxy
from tests.integration.test_producer_oracles import raw_batches, read_confluent

import kaffe
import kaffe.aio
from kaffe._net.connection import BrokerConnection
from kaffe._protocol import ApiKey
from kaffe.config import ConnectionOptions
from kafka_harness.broker import BrokerHandle, LocalBroker
from kafka_harness.jars import KafkaJars
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.broker

MAX_MESSAGE_BYTES = 4096
EXPIRATION_MS = 2000
WAIT_S = 120.0


def _pad(text: str, size: int = 700) -> bytes:
    return text.encode().ljust(size, b".")


def _check_sequences(address: tuple[str, int], topic: str) -> list[Any]:
    """The partition's batches; each one fits the topic limit and, per producer id, sequences
    run on without a gap or overlap."""
    batches = raw_batches(address, topic, 0)
    expected: dict[int, int] = {}
    for b in batches:
        assert b.size_in_bytes <= MAX_MESSAGE_BYTES
        if b.producer_id >= 0:
            count = b.last_offset - b.base_offset + 1
            assert b.base_sequence == expected.get(b.producer_id, 0)
            expected[b.producer_id] = b.base_sequence + count
    return batches


# ------------------------------------------------------------------ MESSAGE_TOO_LARGE


@pytest.mark.parametrize(
    ("idempotence", "compression"), [(True, "none"), (False, "none"), (True, "lz4")]
)
def test_batch_over_max_message_bytes_is_split_and_delivered_in_order(
    kafka_broker: BrokerHandle,
    topic_factory: TopicFactory,
    idempotence: bool,
    compression: str,
) -> None:
    topic = topic_factory(1, configs={"max.message.bytes": str(MAX_MESSAGE_BYTES)})
    # Incompressible values, so lz4 does not bring the batch under the limit by itself.
    first = [(f"k{i}", os.urandom(40).hex()) for i in range(300)]
    second = [(f"k{i}", os.urandom(40).hex()) for i in range(300, 600)]

    async def main() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        async with kaffe.aio.Producer(
            endpoints=[kafka_broker.listener("PLAINTEXT")],
            enable_idempotence=idempotence,
            compression=compression,
            max_linger_ms=200,
            retry_backoff_ms=100,
        ) as p:
            # Both calls linger into one batch of ~60 KB, far over 4 KB: it is cut several
            # times, and the calls' own record lists are cut too.
            fa = await p.produce_async(topic, 0, first)
            fb = await p.produce_async(topic, 0, second)
            a = await asyncio.wait_for(fa, WAIT_S)
            b = await asyncio.wait_for(fb, WAIT_S)
            await p.produce_sync(topic, 0, "after", "split")
            return a, b

    a, b = asyncio.run(main())
    reads = read_confluent(kafka_broker.bootstrap, topic, 0)
    sent = [(k.encode(), v.encode()) for k, v in first + second] + [(b"after", b"split")]
    assert [(r.key, r.value) for r in reads] == sent
    assert a == [(0, reads[0].offset)]
    assert b == [(0, reads[300].offset)]
    batches = _check_sequences(kafka_broker.listener("PLAINTEXT"), topic)
    assert len(batches) > 2  # really cut
    assert all((bt.producer_id >= 0) == idempotence for bt in batches)


def test_single_record_over_max_message_bytes_raises_and_later_messages_deliver(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1, configs={"max.message.bytes": str(MAX_MESSAGE_BYTES)})
    big = b"x" * (2 * MAX_MESSAGE_BYTES)

    async def main() -> tuple[BaseException | None, BaseException | None, list[Any]]:
        async with kaffe.aio.Producer(
            endpoints=[kafka_broker.listener("PLAINTEXT")],
            partition_onwire_limit=5,
            max_batch_size=1024,  # one produce call per batch: several in flight
            retry_backoff_ms=100,
        ) as p:
            await p.produce_sync(topic, 0, "before", "ok")
            sync_error: BaseException | None = None
            try:
                await p.produce_sync(topic, 0, "big", big)
            except kaffe.KafkaError as exc:
                sync_error = exc
            # Now with batches in flight behind the oversize one: they reach the broker
            # after it refused the big record and must still be written, in order.
            big_fut = await p.produce_async(topic, 0, "big", big)
            small = [await p.produce_async(topic, 0, f"k{i}", _pad(f"v{i}")) for i in range(20)]
            async_error: BaseException | None = None
            try:
                await asyncio.wait_for(big_fut, WAIT_S)
            except kaffe.KafkaError as exc:
                async_error = exc
            results = [await asyncio.wait_for(f, WAIT_S) for f in small]
            await p.produce_sync(topic, 0, "last", "ok")
            return sync_error, async_error, results

    sync_error, async_error, results = asyncio.run(main())
    for err in (sync_error, async_error):
        assert isinstance(err, kaffe.MessageTooLargeError)
        assert f"{topic}/0" in str(err)
        assert "bytes" in str(err)
    reads = read_confluent(kafka_broker.bootstrap, topic, 0)
    expected = [(b"before", b"ok")] + [(f"k{i}".encode(), _pad(f"v{i}")) for i in range(20)]
    expected.append((b"last", b"ok"))
    assert [(r.key, r.value) for r in reads] == expected
    assert [r[0][1] for r in results] == [r.offset for r in reads[1:21]]
    _check_sequences(kafka_broker.listener("PLAINTEXT"), topic)


# ------------------------------------------------------------------ producer id expiry


@pytest.fixture(scope="module")
def forgetful_broker(kafka_jars: KafkaJars) -> Iterator[LocalBroker]:
    if os.environ.get("KAFFE_TEST_BOOTSTRAP"):
        pytest.skip(
            "needs a broker of the harness's own with extra properties; "
            "KAFFE_TEST_BOOTSTRAP points at an external one"
        )
    broker = LocalBroker(
        kafka_jars,
        extra_properties={
            "producer.id.expiration.ms": str(EXPIRATION_MS),
            "producer.id.expiration.check.interval.ms": "500",
        },
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        broker.remove_run_dir()


async def _active_producers(address: tuple[str, int], topic: str) -> list[int]:
    """Producer ids the partition leader has state for (DescribeProducers)."""
    conn = BrokerConnection(address[0], address[1], ConnectionOptions())
    await conn.connect()
    try:
        body = {"topics": [{"name": topic, "partition_indexes": [0]}]}
        resp = await conn.request(ApiKey.DESCRIBE_PRODUCERS, body, timeout=30.0)
    finally:
        await conn.close()
    (part,) = resp["topics"][0]["partitions"]
    assert part["error_code"] == 0, part
    return [int(p["producer_id"]) for p in part["active_producers"]]


def test_producer_id_forgotten_by_the_broker_delivers_exactly_once(
    forgetful_broker: LocalBroker,
) -> None:
    broker = forgetful_broker
    topic = TopicFactory(broker.admin)(1)
    address = broker.listener("PLAINTEXT")

    async def main() -> tuple[list[int], list[tuple[int, int]], list[tuple[int, int]]]:
        async with kaffe.aio.Producer(endpoints=[address], retry_backoff_ms=100) as p:
            await p.produce_sync(topic, 0, [(None, f"a{i}") for i in range(10)])
            known = await _active_producers(address, topic)
            deadline = time.monotonic() + WAIT_S
            while await _active_producers(address, topic):
                assert time.monotonic() < deadline, "the broker never expired the producer id"
                await asyncio.sleep(0.2)
            fb = await p.produce_async(topic, 0, [(None, f"b{i}") for i in range(10)])
            b = await asyncio.wait_for(fb, WAIT_S)
            fc = await p.produce_async(topic, 0, [(None, f"c{i}") for i in range(10)])
            c = await asyncio.wait_for(fc, WAIT_S)
            return known, b, c

    known, b, c = asyncio.run(main())
    assert b == [(0, 10)]
    assert c == [(0, 20)]
    reads = read_confluent(broker.bootstrap, topic, 0)
    values = [f"{x}{i}".encode() for x in "abc" for i in range(10)]
    assert [r.value for r in reads] == values
    batches = raw_batches(address, topic, 0)
    assert len(known) == 1
    assert [bt.producer_id for bt in batches] == known * 3
    # Sequences went on from where they were: the broker accepted them as they came.
    assert [bt.base_sequence for bt in batches] == [0, 10, 20]


# ------------------------------------------------------------------ duplicates


def test_pipelined_batches_resent_after_a_cut_are_written_once(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    """Five batches in flight; the first one's response is dropped and the connection cut, so
    kaffe re-sends all five, some of which the broker already wrote."""
    topic = topic_factory(1)

    async def main() -> tuple[CuttingProxy, list[list[tuple[int, int]]]]:
        proxy = await CuttingProxy(kafka_broker.listener("PLAINTEXT")).start()
        try:
            async with kaffe.aio.Producer(
                endpoints=[("127.0.0.1", proxy.port)],
                partition_onwire_limit=5,
                max_batch_size=1024,  # one produce call per batch: several in flight
                retry_backoff_ms=100,
            ) as p:
                await p.produce_sync(topic, 0, [(None, b"warm-up")])
                proxy.drop_produce_responses = 1
                futs = [
                    await p.produce_async(
                        topic, 0, [(None, _pad(f"m{n}.{i}", 150)) for i in range(5)]
                    )
                    for n in range(10)
                ]
                results = [await asyncio.wait_for(f, WAIT_S) for f in futs]
            return proxy, results
        finally:
            await proxy.close()

    proxy, results = asyncio.run(main())
    assert proxy.dropped == 1
    reads = read_confluent(kafka_broker.bootstrap, topic, 0)
    expected = [b"warm-up"] + [_pad(f"m{n}.{i}", 150) for n in range(10) for i in range(5)]
    assert [r.value for r in reads] == expected
    assert [r[0] for r in results] == [(0, 1 + 5 * n) for n in range(10)]
    batches = raw_batches(kafka_broker.listener("PLAINTEXT"), topic, 0)
    counts = [bt.last_offset - bt.base_offset + 1 for bt in batches]
    sequences = [bt.base_sequence for bt in batches]
    assert sequences == [sum(counts[:i]) for i in range(len(counts))]


# ------------------------------------------------------------------ out-of-order arrival


class ReorderingProxy(KafkaProxy):
    """Forwards Kafka connections to ``upstream`` (rewriting Metadata so that kaffe stays on
    it). ``hold_next_produce``: the next Produce request is held back and forwarded right after
    the one that follows it, so the broker sees the two swapped; responses still reach kaffe in
    the order of its requests, as the protocol requires. ``drop_next_produce``: the next
    Produce request is never forwarded and the connection is cut."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__(upstream)
        self.hold_next_produce = False
        self.drop_next_produce = False
        self.swapped = 0
        self.dropped = 0

    def _pumps(
        self,
        cr: asyncio.StreamReader,
        cw: asyncio.StreamWriter,
        ur: asyncio.StreamReader,
        uw: asyncio.StreamWriter,
    ) -> tuple[Coroutine[Any, Any, None], Coroutine[Any, Any, None]]:
        kinds: dict[int, tuple[int, int]] = {}
        order: list[int] = []
        ready: dict[int, bytes] = {}

        async def client_to_broker() -> None:
            held: bytes | None = None
            while True:
                frame = await self._frame(cr)
                api_key, version, cid = struct.unpack(">hhi", frame[:8])
                kinds[cid] = (api_key, version)
                order.append(cid)
                if api_key == ApiKey.PRODUCE and self.drop_next_produce:
                    self.drop_next_produce = False
                    self.dropped += 1
                    return  # the broker never sees it; the connection is cut
                if api_key == ApiKey.PRODUCE and self.hold_next_produce:
                    self.hold_next_produce = False
                    held = frame
                    continue
                self._send(uw, frame)
                if held is not None and api_key == ApiKey.PRODUCE:
                    self._send(uw, held)
                    held = None
                    self.swapped += 1
                await uw.drain()

        async def broker_to_client() -> None:
            while True:
                frame = await self._frame(ur)
                (cid,) = struct.unpack(">i", frame[:4])
                api_key, version = kinds.pop(cid)
                if api_key == ApiKey.METADATA:
                    frame = self.rewrite_metadata(version, cid, frame)
                ready[cid] = frame
                while order and order[0] in ready:
                    self._send(cw, ready.pop(order.pop(0)))
                await cw.drain()

        return client_to_broker(), broker_to_client()


def test_batch_refused_for_arriving_before_the_one_ahead_is_resent(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    """The broker answers OUT_OF_ORDER_SEQUENCE_NUMBER to the second batch (it came first)
    and writes the first; kaffe re-sends the second: each written once, in order."""
    topic = topic_factory(1)

    async def main() -> tuple[ReorderingProxy, list[tuple[int, int]], list[tuple[int, int]]]:
        proxy = await ReorderingProxy(kafka_broker.listener("PLAINTEXT")).start()
        try:
            async with kaffe.aio.Producer(
                endpoints=[("127.0.0.1", proxy.port)],
                partition_onwire_limit=5,
                max_batch_size=1024,  # one produce call per batch, one batch per request
                retry_backoff_ms=100,
            ) as p:
                await p.produce_sync(topic, 0, [(None, b"warm-up")])
                proxy.hold_next_produce = True
                fb = await p.produce_async(topic, 0, [(None, _pad(f"b{i}", 150)) for i in range(5)])
                fc = await p.produce_async(topic, 0, [(None, _pad(f"c{i}", 150)) for i in range(5)])
                b = await asyncio.wait_for(fb, WAIT_S)
                c = await asyncio.wait_for(fc, WAIT_S)
            return proxy, b, c
        finally:
            await proxy.close()

    proxy, b, c = asyncio.run(main())
    assert proxy.swapped == 1
    reads = read_confluent(kafka_broker.bootstrap, topic, 0)
    expected = [b"warm-up"] + [_pad(f"{x}{i}", 150) for x in "bc" for i in range(5)]
    assert [r.value for r in reads] == expected
    assert (b, c) == ([(0, 1)], [(0, 6)])
    batches = raw_batches(kafka_broker.listener("PLAINTEXT"), topic, 0)
    assert [bt.base_sequence for bt in batches] == [0, 1, 6]
    assert len({bt.producer_id for bt in batches}) == 1


def test_batch_never_seen_by_the_broker_fails_and_the_next_gets_a_new_producer_id(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)

    async def main() -> tuple[ReorderingProxy, BaseException | None]:
        proxy = await ReorderingProxy(kafka_broker.listener("PLAINTEXT")).start()
        try:
            async with kaffe.aio.Producer(
                endpoints=[("127.0.0.1", proxy.port)], max_retries=0, retry_backoff_ms=100
            ) as p:
                await p.produce_sync(topic, 0, [(None, f"a{i}") for i in range(3)])
                proxy.drop_next_produce = True
                error: BaseException | None = None
                try:
                    await p.produce_sync(topic, 0, [(None, f"b{i}") for i in range(3)])
                except kaffe.KafkaError as exc:
                    error = exc
                await p.produce_sync(topic, 0, [(None, f"c{i}") for i in range(3)])
            return proxy, error
        finally:
            await proxy.close()

    proxy, error = asyncio.run(main())
    assert proxy.dropped == 1
    assert isinstance(error, kaffe.ConnectionError)
    reads = read_confluent(kafka_broker.bootstrap, topic, 0)
    assert [r.value for r in reads] == [f"{x}{i}".encode() for x in "ac" for i in range(3)]
    batches = raw_batches(kafka_broker.listener("PLAINTEXT"), topic, 0)
    assert [bt.base_sequence for bt in batches] == [0, 0]
    assert batches[0].producer_id != batches[1].producer_id
