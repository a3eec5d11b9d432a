"""Readers the producer tests check kaffe's writes with (this module holds helpers, no tests).

* :func:`read_confluent`: confluent-kafka (librdkafka) consumer, any isolation level;
* :func:`read_kafka_python`: kafka-python consumer;
* :func:`raw_batches`: a raw Fetch v12 through kaffe's connection layer, decoded by
  ``kaffe._core.decode_record_batches``, to see batch boundaries, producer ids and sequences.

Each reads one partition from its start up to the high watermark, with a deadline.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

import confluent_kafka
import kafka

from kaffe import _core
from kaffe._net.connection import BrokerConnection
from kaffe._protocol import ApiKey
from kaffe.config import ConnectionOptions

DEADLINE_S = 30.0


@dataclass(frozen=True)
class Read:
    """One record as a reader saw it."""

    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp: int


def md5_partition(key: bytes, count: int) -> int:
    """Kaffe's formula, computed here with hashlib (an oracle independent of kaffe's Rust)."""
    return sum(hashlib.md5(key).digest()) % count


def read_confluent(
    bootstrap: str,
    topic: str,
    partition: int,
    *,
    isolation: str = "read_uncommitted",
    timeout: float = DEADLINE_S,
    extra: dict[str, Any] | None = None,
) -> list[Read]:
    """Every record of ``topic``/``partition`` (up to the high watermark) via confluent-kafka."""
    conf: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": f"kaffe-oracle-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": isolation,
        **(extra or {}),
    }
    consumer = confluent_kafka.Consumer(conf)
    try:
        tp = confluent_kafka.TopicPartition(topic, partition)
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
        consumer.assign([confluent_kafka.TopicPartition(topic, partition, low)])
        out: list[Read] = []
        deadline = time.monotonic() + timeout
        while True:
            position = consumer.position([tp])[0].offset
            if position >= high:
                return out
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"confluent-kafka read {topic}/{partition}: at {position}/{high}"
                )
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"confluent-kafka: {msg.error()}")
            out.append(
                Read(
                    msg.offset(),
                    msg.key(),
                    msg.value(),
                    tuple(msg.headers() or ()),
                    msg.timestamp()[1],
                )
            )
    finally:
        consumer.close()


def read_kafka_python(
    bootstrap: str, topic: str, partition: int, *, timeout: float = DEADLINE_S
) -> list[Read]:
    """Every record of ``topic``/``partition`` via kafka-python."""
    consumer = kafka.KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1000
    )
    try:
        tp = kafka.TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        high = consumer.end_offsets([tp])[tp]
        out: list[Read] = []
        deadline = time.monotonic() + timeout
        while consumer.position(tp) < high:
            if time.monotonic() > deadline:
                raise AssertionError(f"kafka-python read {topic}/{partition}: timed out")
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    out.append(Read(r.offset, r.key, r.value, tuple(r.headers or ()), r.timestamp))
        return out
    finally:
        consumer.close()


def raw_batches(
    address: tuple[str, int], topic: str, partition: int, *, isolation: int = 0
) -> list[Any]:
    """Every record batch of ``topic``/``partition`` (raw Fetch v12, decoded by kaffe._core)."""

    async def main() -> list[Any]:
        conn = BrokerConnection(address[0], address[1], ConnectionOptions())
        await conn.connect()
        try:
            batches: list[Any] = []
            offset = 0
            deadline = time.monotonic() + DEADLINE_S
            while time.monotonic() < deadline:
                body = {
                    "replica_id": -1,
                    "max_wait_ms": 100,
                    "min_bytes": 1,
                    "max_bytes": 64 * 1024 * 1024,
                    "isolation_level": isolation,
                    "session_id": 0,
                    "session_epoch": -1,
                    "topics": [
                        {
                            "topic": topic,
                            "partitions": [
                                {
                                    "partition": partition,
                                    "fetch_offset": offset,
                                    "partition_max_bytes": 32 * 1024 * 1024,
                                }
                            ],
                        }
                    ],
                    "forgotten_topics_data": [],
                    "rack_id": "",
                }
                resp = await conn.request(ApiKey.FETCH, body, version=12, timeout=DEADLINE_S)
                part = resp["responses"][0]["partitions"][0]
                assert part["error_code"] == 0, part
                high = int(part["high_watermark"])
                if offset >= high:
                    return batches
                data = part["records"] or b""
                decoded, _ = _core.decode_record_batches(bytes(data))
                for b in decoded:
                    if b.last_offset >= offset:
                        batches.append(b)
                        offset = b.last_offset + 1
            raise AssertionError(f"raw fetch of {topic}/{partition} timed out")
        finally:
            await conn.close()

    return asyncio.run(main())
