"""A tiny typed user of kaffe: ``mypy --strict`` must accept it against the installed wheel."""

from __future__ import annotations

import kaffe
import kaffe.aio
from kaffe import _core


def partition_for(key: bytes, partitions: int) -> int:
    """The Java client's partition for ``key``."""
    return _core.partition_murmur2(key, partitions)


class Printer:
    """A GroupMemberSupervisor handler."""

    def handle_messages(self, messages: list[kaffe.Message]) -> None:
        """Print each message's coordinates."""
        for m in messages:
            print(m.topic, m.partition, m.offset, m.key, m.value)


async def produce(endpoints: str) -> None:
    """Produce one message with the asyncio producer."""
    async with kaffe.aio.Producer(endpoints=endpoints, topics=["t"]) as producer:
        await producer.produce_sync("t", "k", "v")


def on_error(exc: kaffe.KafkaError) -> bool:
    """Kafka error codes carry ``.retriable``."""
    return exc.retriable


VERSION: str = kaffe.__version__
