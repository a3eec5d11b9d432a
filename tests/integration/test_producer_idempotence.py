"""Idempotence: a retry after the broker already wrote the batch does not duplicate it.

A small asyncio TCP proxy sits between kaffe and the broker. It rewrites Metadata responses so
that kaffe keeps talking through it, and it can drop the next Produce response and cut the
connection: the broker has written the batch, kaffe never hears so, and re-sends it. With
idempotence the broker recognises the re-sent batch by its producer id and sequence; without
it (the control case) the records are written twice.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Coroutine
from typing import Any

import pytest
from tests.integration.kafka_proxy import KafkaProxy
from tests.integration.test_producer_oracles import raw_batches, read_confluent

import kaffe
import kaffe.aio
from kaffe._protocol import ApiKey
from kafka_harness.broker import BrokerHandle
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.broker


class CuttingProxy(KafkaProxy):
    """Forwards Kafka connections to ``upstream``; see the module docs."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__(upstream)
        self.drop_produce_responses = 0
        self.blackhole = False  # swallow every Produce response, keep the connection open
        self.dropped = 0
        self.produce_requests = 0

    def _pumps(
        self,
        cr: asyncio.StreamReader,
        cw: asyncio.StreamWriter,
        ur: asyncio.StreamReader,
        uw: asyncio.StreamWriter,
    ) -> tuple[Coroutine[Any, Any, None], Coroutine[Any, Any, None]]:
        pending: dict[int, tuple[int, int]] = {}

        async def client_to_broker() -> None:
            while True:
                frame = await self._frame(cr)
                api_key, version, cid = struct.unpack(">hhi", frame[:8])
                pending[cid] = (api_key, version)
                if api_key == ApiKey.PRODUCE:
                    self.produce_requests += 1
                self._send(uw, frame)
                await uw.drain()

        async def broker_to_client() -> None:
            while True:
                frame = await self._frame(ur)
                (cid,) = struct.unpack(">i", frame[:4])
                api_key, version = pending.pop(cid)
                if api_key == ApiKey.METADATA:
                    frame = self.rewrite_metadata(version, cid, frame)
                if api_key == ApiKey.PRODUCE and self.blackhole:
                    self.dropped += 1
                    continue
                if api_key == ApiKey.PRODUCE and self.drop_produce_responses > 0:
                    self.drop_produce_responses -= 1
                    self.dropped += 1
                    return  # the broker wrote the batch; kaffe never hears it
                self._send(cw, frame)
                await cw.drain()

        return client_to_broker(), broker_to_client()


async def _produce_through_cut(
    broker: BrokerHandle, topic: str, **config: Any
) -> tuple[CuttingProxy, list[tuple[int, int]]]:
    proxy = await CuttingProxy(broker.listener("PLAINTEXT")).start()
    try:
        async with kaffe.aio.Producer(
            endpoints=[("127.0.0.1", proxy.port)], retry_backoff_ms=100, **config
        ) as p:
            await p.produce_sync(topic, 0, [(None, b"warm-up")])
            proxy.drop_produce_responses = 1
            fut = await p.produce_async(topic, 0, [(None, f"m{i}".encode()) for i in range(10)])
            result = await asyncio.wait_for(fut, 60)
        return proxy, result
    finally:
        await proxy.close()


def test_retry_after_lost_response_does_not_duplicate(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    proxy, result = asyncio.run(_produce_through_cut(kafka_broker, topic))
    assert proxy.dropped == 1
    assert proxy.produce_requests >= 3  # warm-up, the cut one, the retry
    assert result == [(0, 1)]  # the broker answered the retry with the original offset
    values = [r.value for r in read_confluent(kafka_broker.bootstrap, topic, 0)]
    assert values == [b"warm-up"] + [f"m{i}".encode() for i in range(10)]
    batches = raw_batches(kafka_broker.listener("PLAINTEXT"), topic, 0)
    assert [b.base_sequence for b in batches] == [0, 1]


def test_without_idempotence_the_same_cut_duplicates(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    """The control: proves the cut really happens after the broker wrote the batch."""
    topic = topic_factory(1)
    proxy, _ = asyncio.run(_produce_through_cut(kafka_broker, topic, enable_idempotence=False))
    assert proxy.dropped == 1
    values = [r.value for r in read_confluent(kafka_broker.bootstrap, topic, 0)]
    assert values == [b"warm-up"] + [f"m{i}".encode() for i in range(10)] * 2


def test_unanswered_produce_fails_by_the_delivery_deadline(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    """A broker that never answers: produce_sync raises KafkaTimeoutError, produce_async's
    future completes with it, and close() returns; nothing waits forever."""
    topic = topic_factory(1)

    async def main() -> tuple[BaseException | None, BaseException | None]:
        proxy = await CuttingProxy(kafka_broker.listener("PLAINTEXT")).start()
        try:
            p = kaffe.aio.Producer(
                endpoints=[("127.0.0.1", proxy.port)], delivery_timeout_ms=2000, max_retries=-1
            )
            await p.start()
            proxy.blackhole = True
            fut = await p.produce_async(topic, 0, "k", "async")
            sync_error: BaseException | None = None
            try:
                await p.produce_sync(topic, 0, "k", "sync")
            except kaffe.KafkaError as exc:
                sync_error = exc
            async_error: BaseException | None = None
            try:
                await asyncio.wait_for(fut, 60)
            except kaffe.KafkaError as exc:
                async_error = exc
            await p.close(timeout=5)
            return sync_error, async_error
        finally:
            await proxy.close()

    sync_error, async_error = asyncio.run(main())
    assert isinstance(sync_error, kaffe.KafkaTimeoutError)
    assert isinstance(async_error, kaffe.KafkaTimeoutError)


def test_one_produce_request_carries_every_partition(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    """A list spread over 4 partitions of one broker goes out as a single Produce request."""
    topic = topic_factory(4)

    async def main() -> tuple[int, list[tuple[int, int]]]:
        proxy = await CuttingProxy(kafka_broker.listener("PLAINTEXT")).start()
        try:
            async with kaffe.aio.Producer(endpoints=[("127.0.0.1", proxy.port)]) as p:
                for partition in range(4):  # every partition's leader is ready
                    await p.produce_sync(topic, partition, "warm-up", "")
                before = proxy.produce_requests
                fut = await p.produce_async(topic, [(f"key{i}", "v") for i in range(40)])
                result = await asyncio.wait_for(fut, 60)
                return proxy.produce_requests - before, result
        finally:
            await proxy.close()

    requests, result = asyncio.run(main())
    assert sorted(p for p, _ in result) == [0, 1, 2, 3]
    assert requests == 1


def test_close_fails_undelivered_messages_loudly(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)

    async def main() -> BaseException | None:
        proxy = await CuttingProxy(kafka_broker.listener("PLAINTEXT")).start()
        try:
            p = kaffe.aio.Producer(endpoints=[("127.0.0.1", proxy.port)])
            await p.start()
            proxy.blackhole = True
            fut = await p.produce_async(topic, 0, "k", "never acknowledged")
            await p.close(timeout=0.5)
            try:
                await asyncio.wait_for(fut, 60)
            except kaffe.KafkaError as exc:
                return exc
            return None
        finally:
            await proxy.close()

    error = asyncio.run(main())
    assert isinstance(error, kaffe.KafkaTimeoutError)
    assert "closed before" in str(error)
