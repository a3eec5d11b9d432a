"""kaffe.aio.GroupMemberSupervisor and kaffe.aio.Consumer: coroutine handlers on the caller's
loop, against the real broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from tests.integration import group_support
from tests.integration.group_support import (
    bootstrap_fixture,  # noqa: F401  (the bootstrap fixture)
    group,
)

import kaffe

pytestmark = pytest.mark.broker

FAST: dict[str, Any] = {**group_support.FAST, "subscriber_retry_delay_ms": 100}


async def until(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``cond`` on the loop until truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


async def committed(bootstrap: str, group_id: str, topic: str) -> dict[int, int]:
    async with kaffe.aio.AdminClient(endpoints=bootstrap) as admin:
        offsets = await admin.list_group_offsets(group_id, [topic])
    return {tp[1]: c.offset for tp, c in offsets.items()}


async def produce(bootstrap: str, topic: str, values: list[str]) -> None:
    async with kaffe.aio.Producer(endpoints=bootstrap, topics=[topic]) as p:
        await p.produce_sync(topic, [(v, v) for v in values])


def test_aio_batch_handler_return_values_and_redelivery(bootstrap: str, topic_factory: Any) -> None:
    topic = topic_factory(1)

    async def main() -> None:
        await produce(bootstrap, topic, [str(i) for i in range(10)])
        seen: list[list[int]] = []
        state = {"fail": True}

        async def handle(messages: list[kaffe.Message]) -> Any:
            await asyncio.sleep(0)  # a real coroutine
            seen.append([m.offset for m in messages])
            if state["fail"]:
                state["fail"] = False
                raise RuntimeError("first delivery fails")
            return kaffe.commit_offset(messages[-1].offset)  # leave the last one uncommitted

        g = group()
        async with kaffe.aio.GroupMemberSupervisor(
            endpoints=bootstrap, topics=[topic], consumer_group=g, message_handler=handle, **FAST
        ):
            await until(lambda: sum(len(b) for b in seen) >= 20, 30, "delivery and redelivery")
            assert seen[0] == seen[1]  # redelivered unchanged
        final = await committed(bootstrap, g, topic)
        assert final[0] == seen[-1][-1]

    asyncio.run(main())


def test_aio_two_members_on_one_loop_share_partitions(bootstrap: str, topic_factory: Any) -> None:
    topic = topic_factory(4)

    async def main() -> None:
        got: dict[str, list[bytes]] = {"a": [], "b": []}

        def handler(name: str) -> Any:
            async def handle(messages: list[kaffe.Message]) -> None:
                got[name].extend(m.value or b"" for m in messages)

            return handle

        g = group()
        sups = [
            kaffe.aio.GroupMemberSupervisor(
                endpoints=bootstrap,
                topics=[topic],
                consumer_group=g,
                message_handler=handler(n),
                subscriber_name=n,
                **FAST,
            )
            for n in ("a", "b")
        ]
        for s in sups:
            await s.start()
        try:
            await until(
                lambda: [len(s.assignment()) for s in sups] == [2, 2], 40, "2 partitions each"
            )
            await produce(bootstrap, topic, [str(i) for i in range(200)])
            await until(lambda: len(got["a"]) + len(got["b"]) >= 200, 30, "200 messages")
            assert got["a"]
            assert got["b"]
            assert sorted(got["a"] + got["b"]) == sorted(str(i).encode() for i in range(200))
        finally:
            for s in sups:
                await s.stop()

    asyncio.run(main())


def test_aio_consumer_async_ack(bootstrap: str, topic_factory: Any) -> None:
    topic = topic_factory(1)

    async def main() -> None:
        await produce(bootstrap, topic, [str(i) for i in range(4)])
        got: list[kaffe.Message] = []

        class Processor:
            async def handle_message(
                self, consumer: kaffe.aio.Consumer, message: kaffe.Message
            ) -> None:
                got.append(message)

        g = group()
        consumer = kaffe.aio.Consumer(
            endpoints=bootstrap,
            topics=[topic],
            consumer_group=g,
            message_handler=Processor(),
            async_message_ack=True,
            **FAST,
        )
        async with consumer:
            await until(lambda: len(got) >= 4, 30, "4 messages")
            consumer.ack(got[1])
            consumer.ack(got[0])
            consumer.ack(got[3])
            await consumer.commit()
            assert (await committed(bootstrap, g, topic))[0] == 2
            consumer.ack(got[2])
            await consumer.commit()
            assert (await committed(bootstrap, g, topic))[0] == 4

    asyncio.run(main())
