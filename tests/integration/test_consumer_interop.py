"""Messages written by other clients are consumed intact; aborted transactions are skipped.

confluent-kafka (librdkafka) and kafka-python write with every codec (headers, keys, null values
included); kaffe's group consumer must deliver exactly what they wrote. A transaction aborted by
confluent-kafka's transactional producer is not delivered under ``read_committed`` (the default)
and is delivered under ``read_uncommitted``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.integration.group_support import (
    bootstrap_fixture,  # noqa: F401  (the bootstrap fixture)
    wait_until,
)

import kaffe

pytestmark = pytest.mark.broker

FAST: dict[str, Any] = {
    "rebalance_delay_ms": 0,
    "session_timeout_seconds": 6,
    "heartbeat_rate_seconds": 1,
    "min_bytes": 1,
    "max_wait_time": 300,
    "offset_commit_interval_seconds": 1,
    "start_with_earliest_message": True,
}
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


class Collect:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[kaffe.Message] = []

    def handle_messages(self, messages: list[kaffe.Message]) -> None:
        with self.lock:
            self.messages.extend(messages)

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


@pytest.fixture
def consume(bootstrap: str) -> Iterator[Callable[..., Collect]]:
    started: list[Any] = []

    def start(topic: str, **kw: Any) -> Collect:
        col = Collect()
        sup = kaffe.GroupMemberSupervisor(
            endpoints=bootstrap,
            topics=[topic],
            consumer_group=f"kaffe-it-{uuid.uuid4().hex[:10]}",
            message_handler=col,
            **{**FAST, **kw},
        )
        started.append(sup.start())
        return col

    yield start
    for sup in started:
        sup.stop()


def _expected(n: int) -> list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]:
    out: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
    for i in range(n):
        key = None if i % 7 == 0 else f"key-{i}".encode()
        value = None if i % 11 == 5 and key is not None else (f"value-{i}-" * (i % 13 + 1)).encode()
        headers = [("h", str(i).encode()), ("n", b"")] if i % 3 == 0 else []
        out.append((key, value, headers))
    return out


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_kafka_every_codec(
    bootstrap: str, topic_factory: Any, consume: Callable[..., Collect], codec: str
) -> None:
    ck = pytest.importorskip("confluent_kafka")
    topic = topic_factory(1)
    expected = _expected(300)
    producer = ck.Producer(
        {"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 20}
    )
    for key, value, headers in expected:
        producer.produce(topic, value=value, key=key, headers=headers or None, partition=0)
    assert producer.flush(30) == 0
    col = consume(topic)
    wait_until(lambda: col.count() >= len(expected), 30, f"{len(expected)} messages")
    got = [(m.key, m.value, m.headers) for m in col.messages]
    assert got == expected
    assert [m.offset for m in col.messages] == list(range(len(expected)))
    assert all(m.ts > 0 and m.ts_type == "create" for m in col.messages)


@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_every_codec(
    bootstrap: str, topic_factory: Any, consume: Callable[..., Collect], codec: str
) -> None:
    kp = pytest.importorskip("kafka")
    topic = topic_factory(1)
    expected = _expected(200)
    producer = kp.KafkaProducer(
        bootstrap_servers=bootstrap,
        compression_type=None if codec == "none" else codec,
        linger_ms=20,
    )
    try:
        for key, value, headers in expected:
            producer.send(topic, value=value, key=key, headers=headers, partition=0)
        producer.flush(30)
    finally:
        producer.close(10)
    col = consume(topic)
    wait_until(lambda: col.count() >= len(expected), 30, f"{len(expected)} messages")
    assert [(m.key, m.value, m.headers) for m in col.messages] == expected


def _transactional(ck: Any, bootstrap: str) -> Any:
    producer = ck.Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": f"kaffe-it-{uuid.uuid4().hex}"}
    )
    producer.init_transactions(30)
    return producer


def test_read_committed_skips_aborted_transactions(
    bootstrap: str, topic_factory: Any, consume: Callable[..., Collect]
) -> None:
    ck = pytest.importorskip("confluent_kafka")
    topic = topic_factory(1)
    producer = _transactional(ck, bootstrap)
    plain = ck.Producer({"bootstrap.servers": bootstrap})
    # committed txn, aborted txn interleaved with non-transactional writes, committed txn
    producer.begin_transaction()
    for i in range(5):
        producer.produce(topic, value=f"c1-{i}".encode(), partition=0)
    producer.commit_transaction(30)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(topic, value=f"aborted-{i}".encode(), partition=0)
    producer.flush(30)
    plain.produce(topic, value=b"plain", partition=0)
    assert plain.flush(30) == 0
    producer.abort_transaction(30)
    producer.begin_transaction()
    for i in range(5):
        producer.produce(topic, value=f"c2-{i}".encode(), partition=0)
    producer.commit_transaction(30)
    committed_values = (
        [f"c1-{i}".encode() for i in range(5)] + [b"plain"] + [f"c2-{i}".encode() for i in range(5)]
    )
    col = consume(topic)
    wait_until(lambda: col.count() >= len(committed_values), 30, "the committed messages")
    # Let the member fetch past the end once more; nothing aborted may show up.
    plain.produce(topic, value=b"end", partition=0)
    assert plain.flush(30) == 0
    wait_until(lambda: col.count() >= len(committed_values) + 1, 30, "the end marker")
    values = [m.value for m in col.messages]
    assert values == [*committed_values, b"end"]
    offsets = [m.offset for m in col.messages]
    assert offsets == sorted(offsets)  # control records take offsets; none is delivered

    dirty = consume(topic, isolation_level="read_uncommitted")
    wait_until(lambda: dirty.count() >= 17, 30, "all 17 data messages under read_uncommitted")
    assert sorted(m.value or b"" for m in dirty.messages) == sorted(
        [*committed_values, b"end", *(f"aborted-{i}".encode() for i in range(5))]
    )


@pytest.mark.parametrize(
    ("policy", "earliest", "expected"),
    [
        ("reset_to_earliest", False, [6, 7, 8, 9, 10]),
        ("reset_to_latest", True, [10]),
        ("reset_by_subscriber", True, [6, 7, 8, 9, 10]),  # kaffe: like the begin offset
        ("reset_by_subscriber", False, [10]),
    ],
)
def test_offset_out_of_range_resets_per_policy(
    bootstrap: str, topic_factory: Any, policy: str, earliest: bool, expected: list[int]
) -> None:
    topic = topic_factory(1)
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as p:
        p.produce_sync(topic, [(None, str(i)) for i in range(10)])
    group_id = f"kaffe-it-{uuid.uuid4().hex[:10]}"
    with kaffe.AdminClient(endpoints=bootstrap) as admin:
        admin.delete_records(topic, {0: 6})  # log start moves to 6
        admin.alter_group_offsets(group_id, {(topic, 0): 2})  # committed 2 is now out of range
    col = Collect()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=group_id,
        message_handler=col,
        offset_reset_policy=policy,
        **{**FAST, "start_with_earliest_message": earliest},
    )
    with sup:
        engine = sup._engine
        assert engine is not None
        # wait until the reset happened (the position is known and past the deleted range)
        wait_until(
            lambda: (
                (topic, 0) in engine.assigned and (engine.assigned[(topic, 0)].position or 0) >= 6
            ),
            30,
            "the reset",
        )
        with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as p:
            p.produce_sync(topic, [(None, "10")])
        wait_until(lambda: col.count() >= len(expected), 30, f"offsets {expected}")
    assert [m.offset for m in col.messages] == expected
