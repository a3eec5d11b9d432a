"""kaffe.Producer and kaffe.aio.Producer against the real single-node broker over PLAINTEXT.

What kaffe wrote is read back by other clients (confluent-kafka, kafka-python) or by a raw
Fetch (batch boundaries, producer ids, sequences); placements are checked against formulas
computed here with hashlib or against the Java-compatible partitioners of other clients.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from typing import Any

import confluent_kafka
import pytest
from tests.integration.test_producer_oracles import (
    md5_partition,
    raw_batches,
    read_confluent,
    read_kafka_python,
)

import kaffe
import kaffe.aio
from kafka_harness.broker import BrokerHandle
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.broker


def producer(broker: BrokerHandle, **kw: Any) -> kaffe.Producer:
    return kaffe.Producer(endpoints=broker.bootstrap, **kw)


def test_five_produce_sync_forms_and_produce(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(4)
    before = int(time.time() * 1000)
    with producer(kafka_broker, topics=[topic]) as p:
        assert p.produce_sync(topic, [("k1", "v1"), (b"k2", b"v2")]) is None
        p.produce_sync(topic, 2, [("pk", "pv")])
        p.produce_sync("kv-key", "kv-value")
        p.produce_sync(topic, "tkv-key", "tkv-value")
        p.produce_sync(topic, 3, "tpkv-key", "tpkv-value")
        p.produce(topic, [("cb-key", "cb-value")], partition_strategy=lambda t, n, k, v: 1)
    after = int(time.time() * 1000)
    seen: dict[bytes | None, tuple[int, bytes | None, int]] = {}
    for partition in range(4):
        for r in read_confluent(kafka_broker.bootstrap, topic, partition):
            seen[r.key] = (partition, r.value, r.timestamp)
    expected = {
        b"k1": (md5_partition(b"k1", 4), b"v1"),
        b"k2": (md5_partition(b"k2", 4), b"v2"),
        b"pk": (2, b"pv"),
        b"kv-key": (md5_partition(b"kv-key", 4), b"kv-value"),
        b"tkv-key": (md5_partition(b"tkv-key", 4), b"tkv-value"),
        b"tpkv-key": (3, b"tpkv-value"),
        b"cb-key": (1, b"cb-value"),
    }
    assert {k: v[:2] for k, v in seen.items()} == expected
    assert all(before <= ts <= after for _, _, ts in seen.values())


def test_message_forms_headers_timestamps_and_none(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    messages: list[Any] = [
        (None, None),
        ("str-key", "välue"),
        (b"b", b"\x00\xff", [("h1", b"x"), ("h2", "y")]),
        {"key": "m", "value": b"mv", "headers": {"a": "1", "b": b"2"}, "ts": 1_600_000_000_123},
        {"value": "only-value"},
        (b"k", None, []),
    ]
    before = int(time.time() * 1000)
    with producer(kafka_broker) as p:
        p.produce_sync(topic, 0, messages)
    after = int(time.time() * 1000)
    got = read_confluent(kafka_broker.bootstrap, topic, 0)
    assert [(r.key, r.value, r.headers) for r in got] == [
        (None, None, ()),
        (b"str-key", "välue".encode(), ()),
        (b"b", b"\x00\xff", (("h1", b"x"), ("h2", b"y"))),
        (b"m", b"mv", (("a", b"1"), ("b", b"2"))),
        (None, b"only-value", ()),
        (b"k", None, ()),
    ]
    assert got[3].timestamp == 1_600_000_000_123
    assert all(before <= r.timestamp <= after for i, r in enumerate(got) if i != 3)


def test_md5_places_key8_and_key12_in_partition_17_of_32(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(32)
    with producer(kafka_broker, partition_strategy="md5") as p:
        p.produce_sync(topic, [("key8", "a"), ("key12", "b")])
    keys = {r.key for r in read_confluent(kafka_broker.bootstrap, topic, 17)}
    assert keys == {b"key8", b"key12"}


def test_md5_none_key_hashes_as_empty_bytes(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(8)
    with producer(kafka_broker) as p:
        p.produce_sync(topic, [(None, f"v{i}") for i in range(5)])
    got = read_confluent(kafka_broker.bootstrap, topic, md5_partition(b"", 8))
    assert [r.value for r in got] == [f"v{i}".encode() for i in range(5)]


def test_murmur2_places_keys_like_the_java_partitioner(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    n = 7
    ours, theirs = topic_factory(n), topic_factory(n)
    keys = [f"user-{i}".encode() for i in range(60)] + [b"", "ü".encode()]
    with producer(kafka_broker, partition_strategy="murmur2") as p:
        p.produce_sync(ours, [(k, b"x") for k in keys])
    rd = confluent_kafka.Producer(
        {"bootstrap.servers": kafka_broker.bootstrap, "partitioner": "murmur2_random"}
    )
    for k in keys:
        rd.produce(theirs, value=b"x", key=k)
    assert rd.flush(30) == 0

    def placement(topic: str) -> dict[bytes | None, int]:
        return {
            r.key: partition
            for partition in range(n)
            for r in read_confluent(kafka_broker.bootstrap, topic, partition)
        }

    assert placement(ours) == placement(theirs)
    assert len(set(placement(ours).values())) > 1


def test_random_strategy_spreads(kafka_broker: BrokerHandle, topic_factory: TopicFactory) -> None:
    topic = topic_factory(4)
    with producer(kafka_broker) as p:
        p.produce(topic, [(b"same", str(i)) for i in range(200)], partition_strategy="random")
    counts = [len(read_confluent(kafka_broker.bootstrap, topic, i)) for i in range(4)]
    assert sum(counts) == 200
    assert all(c > 0 for c in counts)


def test_callable_strategy_bad_result_is_a_clear_error(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(3)
    with producer(kafka_broker, partition_strategy=lambda t, n, k, v: n) as p:
        with pytest.raises(ValueError, match=r"returned 3 .* 0\.\.2"):
            p.produce_sync(topic, [("k", "v")])
        with pytest.raises(ValueError, match="returned 'x'"):
            p.produce(topic, [("k", "v")], partition_strategy=lambda t, n, k, v: "x")
        seen: list[tuple[str, int, bytes | None, bytes | None]] = []

        def spy(t: str, n: int, k: bytes | None, v: bytes | None) -> int:
            seen.append((t, n, k, v))
            return 2

        p.produce(topic, [("k", "v")], partition_strategy=spy)
    assert seen == [(topic, 3, b"k", b"v")]
    assert [r.key for r in read_confluent(kafka_broker.bootstrap, topic, 2)] == [b"k"]


def test_unknown_topic_and_partition_fail_fast(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(2)
    with producer(kafka_broker) as p:
        with pytest.raises(kaffe.UnknownTopicOrPartitionError):
            p.produce_sync(f"kaffe-missing-{uuid.uuid4().hex[:8]}", "k", "v")
        with pytest.raises(kaffe.UnknownTopicOrPartitionError, match="2 partitions"):
            p.produce_sync(topic, 5, "k", "v")
        with pytest.raises(TypeError, match="message 1"):
            p.produce_sync(topic, [("k", "v"), ("k", 5)])
        with pytest.raises(TypeError, match="no 'topics'"):
            p.produce_sync("k", "v")


def test_auto_creation_when_asked(kafka_broker: BrokerHandle) -> None:
    topic = f"kaffe-it-auto-{uuid.uuid4().hex[:8]}"
    with producer(kafka_broker, allow_topic_auto_creation=True) as p:
        p.produce_sync(topic, "k", "v")
    try:
        assert [r.value for r in read_confluent(kafka_broker.bootstrap, topic, 0)] == [b"v"]
    finally:
        kafka_broker.admin.delete_topic(topic)


def test_broker_unreachable_at_start_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = kaffe.Producer(endpoints=[("127.0.0.1", port)], connect_timeout=1000)
    with pytest.raises((kaffe.ConnectionError, kaffe.KafkaTimeoutError)):
        p.start(timeout=5)
    p.close()
    with pytest.raises(kaffe.KafkaError, match="not started"):
        p.produce_sync("t", "k", "v")


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_codecs_read_back_by_confluent_and_kafka_python(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory, codec: str
) -> None:
    topic = topic_factory(1)
    messages = [
        {
            "key": f"k{i}",
            "value": f"value-{i}-" + "x" * 50,
            "headers": [("n", str(i))],
            "ts": 1_700_000_000_000 + i,
        }
        for i in range(100)
    ]
    with producer(kafka_broker, compression=codec) as p:
        p.produce_sync(topic, 0, messages)
    batches = raw_batches(kafka_broker.listener("PLAINTEXT"), topic, 0)
    assert {b.compression for b in batches} == {codec}
    expected = [
        (
            f"k{i}".encode(),
            f"value-{i}-".encode() + b"x" * 50,
            (("n", str(i).encode()),),
            1_700_000_000_000 + i,
        )
        for i in range(100)
    ]
    for reader in (read_confluent, read_kafka_python):
        got = reader(kafka_broker.bootstrap, topic, 0)
        assert [(r.key, r.value, tuple(r.headers), r.timestamp) for r in got] == expected


def test_small_batches_are_not_compressed(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    with producer(kafka_broker, compression="gzip", min_compression_batch_size=10_000) as p:
        p.produce_sync(topic, 0, [("k", "v")])
        p.produce_sync(topic, 0, [("k", "v" * 200)] * 100)
    assert [b.compression for b in raw_batches(kafka_broker.listener("PLAINTEXT"), topic, 0)] == [
        "none",
        "gzip",
    ]


def test_compression_none_writes_uncompressed_batches(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    values = [b"compressible " * 40 + str(i).encode() for i in range(50)]
    # min_compression_batch_size=0: any codec would compress this batch; None must not.
    with producer(kafka_broker, compression=None, min_compression_batch_size=0) as p:
        p.produce_sync(topic, 0, [(f"k{i}", v) for i, v in enumerate(values)])
    batches = raw_batches(kafka_broker.listener("PLAINTEXT"), topic, 0)
    assert [b.compression for b in batches] == ["none"]
    got = read_confluent(kafka_broker.bootstrap, topic, 0)
    assert [(r.key, r.value) for r in got] == [(f"k{i}".encode(), v) for i, v in enumerate(values)]


def test_list_is_one_batch_per_partition_and_big_lists_split(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(2)
    addr = kafka_broker.listener("PLAINTEXT")
    with producer(kafka_broker, max_batch_size=64 * 1024) as p:
        p.produce_sync(topic, [(f"k{i}", "v") for i in range(50)])
        assert [len(raw_batches(addr, topic, i)) for i in range(2)] == [1, 1]
        big = [(None, b"y" * 1000) for _ in range(300)]  # ~300 KB > 64 KB
        p.produce_sync(topic, 1, big)
    batches = raw_batches(addr, topic, 1)
    assert len(batches) >= 5
    assert all(b.size_in_bytes <= 64 * 1024 for b in batches)
    values = [r[3] for b in batches[1:] for r in b.records]
    assert values == [b"y" * 1000] * 300


def test_idempotent_by_default_with_sequences(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    with producer(kafka_broker) as p:
        for i in range(3):
            p.produce_sync(topic, 0, [(None, f"{i}-{j}") for j in range(4)])
    batches = raw_batches(kafka_broker.listener("PLAINTEXT"), topic, 0)
    assert len({b.producer_id for b in batches}) == 1
    assert batches[0].producer_id >= 0
    assert [b.base_sequence for b in batches] == [0, 4, 8]


def test_idempotence_off_and_acks_0_and_1(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    with producer(kafka_broker, enable_idempotence=False) as p:
        p.produce_sync(topic, 0, "a", "1")
    with producer(kafka_broker, required_acks=1) as p:
        fut = p.produce_async(topic, 0, "b", "2")
        assert fut.result(30) == [(0, 1)]
    with producer(kafka_broker, required_acks=0) as p:
        assert p.produce_async(topic, 0, "c", "3").result(30) == [(0, -1)]
        p.flush()
    batches = raw_batches(kafka_broker.listener("PLAINTEXT"), topic, 0)
    assert [b.producer_id for b in batches] == [-1, -1, -1]

    def values() -> list[bytes | None]:
        return [r.value for r in read_confluent(kafka_broker.bootstrap, topic, 0)]

    assert values() == [b"1", b"2", b"3"]


def test_produce_async_callbacks_and_flush(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(3)
    acked: list[tuple[int, int, str]] = []
    lock = threading.Lock()

    def cb(partition: int, offset: int) -> None:
        with lock:
            acked.append((partition, offset, threading.current_thread().name))

    with producer(kafka_broker, max_linger_ms=50) as p:
        futures = [
            p.produce_async(topic, [(f"k{i}", f"v{i}") for i in range(j, j + 5)], callback=cb)
            for j in range(0, 50, 5)
        ]
        p.flush()
        results = [f.result(0) for f in futures]
    assert all(f.done() for f in futures)
    with lock:
        assert sorted((p, o) for p, o, _ in acked) == sorted(x for r in results for x in r)
        assert all(name.startswith("kaffe-producer-cb") for _, _, name in acked)
    total = sum(len(read_confluent(kafka_broker.bootstrap, topic, i)) for i in range(3))
    assert total == 50


def test_linger_combines_calls_into_one_batch(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    with producer(kafka_broker, max_linger_ms=60_000, max_linger_count=20) as p:
        futures = [p.produce_async(topic, 0, f"k{i}", f"v{i}") for i in range(20)]
        offsets = [f.result(30)[0][1] for f in futures]
    assert offsets == list(range(20))
    assert len(raw_batches(kafka_broker.listener("PLAINTEXT"), topic, 0)) == 1


def test_flush_raises_after_a_failed_message(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    small = topic_factory(1, configs={"max.message.bytes": "2000"})
    with producer(kafka_broker) as p:
        fut = p.produce_async(small, 0, "k", b"z" * 10_000)
        with pytest.raises(kaffe.KafkaError) as info:
            p.flush()
        assert isinstance(info.value, kaffe.MessageTooLargeError | kaffe.RecordListTooLargeError)
        with pytest.raises(kaffe.KafkaError):
            fut.result(0)
        p.flush()  # the failure was reported once
        with pytest.raises((kaffe.MessageTooLargeError, kaffe.RecordListTooLargeError)):
            p.produce_sync(small, 0, "k", b"z" * 10_000)
        p.produce_sync(small, 0, "k", b"ok")
        p.flush()  # produce_sync raised its error itself: flush does not repeat it


def test_close_delivers_pending_messages(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(2)
    p = producer(kafka_broker, max_linger_ms=60_000).start()
    futures = [p.produce_async(topic, [(f"k{i}", "v")]) for i in range(30)]
    p.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert sum(len(read_confluent(kafka_broker.bootstrap, topic, i)) for i in range(2)) == 30


def test_sync_calls_from_many_threads(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(2)
    errors: list[BaseException] = []
    with producer(kafka_broker, partition_onwire_limit=5) as p:

        def work(n: int) -> None:
            try:
                for i in range(20):
                    p.produce_sync(topic, f"t{n}-{i}", "v")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert errors == []
    keys = {r.key for i in range(2) for r in read_confluent(kafka_broker.bootstrap, topic, i)}
    assert len(keys) == 120


def test_order_kept_per_partition_with_five_in_flight(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    with producer(kafka_broker, partition_onwire_limit=5, max_batch_size=4096) as p:
        futures = [p.produce_async(topic, 0, [(None, f"{i}".encode() * 100)]) for i in range(200)]
        p.flush()
        assert [f.result(0)[0][1] for f in futures] == list(range(200))
    values = [r.value for r in read_confluent(kafka_broker.bootstrap, topic, 0)]
    assert values == [f"{i}".encode() * 100 for i in range(200)]


def test_aio_producer_forms_and_async(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(2)

    async def main() -> list[tuple[int, int]]:
        acked: list[tuple[int, int]] = []
        async with kaffe.aio.Producer(endpoints=kafka_broker.bootstrap, topics=[topic]) as p:
            await p.produce_sync(topic, [("a", "1"), ("b", "2")])
            await p.produce_sync(topic, 1, [("c", "3")])
            await p.produce_sync("d", "4")
            await p.produce_sync(topic, "e", "5")
            await p.produce_sync(topic, 0, "f", "6")
            await p.produce(topic, [("g", "7")], partition_strategy="murmur2")
            fut = await p.produce_async(
                topic, 1, "h", "8", callback=lambda a, b: acked.append((a, b))
            )
            result = await fut
            await p.flush()
        assert acked == result
        return result

    result = asyncio.run(main())
    assert result[0][0] == 1
    got = {
        r.key: r.value for i in range(2) for r in read_confluent(kafka_broker.bootstrap, topic, i)
    }
    assert got == {k.encode(): str(i + 1).encode() for i, k in enumerate("abcdefgh")}


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_peer_written_messages_read_back_by_kaffe_decoding(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory, codec: str
) -> None:
    """The other direction: confluent-kafka and kafka-python write, kaffe's fetch decoding
    (raw Fetch + kaffe._core.decode_record_batches) reads key, value, headers and timestamp."""
    import kafka

    topic = topic_factory(2)
    expected = [
        (f"k{i}".encode(), f"v{i}".encode() * 20, (("h", str(i).encode()),), 1_700_000_000_000 + i)
        for i in range(50)
    ]
    rd = confluent_kafka.Producer(
        {"bootstrap.servers": kafka_broker.bootstrap, "compression.type": codec}
    )
    for k, v, h, ts in expected:
        rd.produce(topic, value=v, key=k, headers=list(h), timestamp=ts, partition=0)
    assert rd.flush(30) == 0
    kp = kafka.KafkaProducer(
        bootstrap_servers=kafka_broker.bootstrap,
        compression_type=None if codec == "none" else codec,
    )
    try:
        for k, v, h, ts in expected:
            kp.send(topic, value=v, key=k, headers=list(h), timestamp_ms=ts, partition=1)
        kp.flush(30)
    finally:
        kp.close(10)
    for partition in range(2):
        batches = raw_batches(kafka_broker.listener("PLAINTEXT"), topic, partition)
        assert {b.compression for b in batches} == {codec}
        got = [(r[2], r[3], r[4], r[1]) for b in batches for r in b.records]
        assert got == expected
