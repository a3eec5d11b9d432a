"""Per-partition queues of records waiting to be sent, and the batches cut from them.

A produce call's records for one partition form a :class:`Chunk` (split so that no chunk is
larger than a batch may be) with one future resolving to the offset of its first record. A
:class:`Batch` is one or more whole chunks from the head of a partition's queue, encoded once (in
Rust, one call per batch) and re-sent as is on retry, so its sequence numbers never change.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections import deque
from collections.abc import Sequence

from kaffe._producer.messages import Record

__all__ = ["BATCH_OVERHEAD", "Batch", "Chunk", "PartitionState", "split"]

BATCH_OVERHEAD = 61
"""Bytes of a v2 record batch header."""


class Chunk:
    """The records of one produce call for one partition, completed together."""

    __slots__ = ("deadline", "future", "records", "size")

    def __init__(
        self, records: list[Record], size: int, future: asyncio.Future[int], deadline: float
    ) -> None:
        """``future`` resolves to the offset of the first record; ``deadline`` is loop time."""
        self.records = records
        self.size = size
        self.future = future
        self.deadline = deadline


def split(
    records: list[Record], sizes: Sequence[int], limit: int
) -> list[tuple[list[Record], int]]:
    """``records`` cut into consecutive runs whose estimated sizes sum to at most ``limit``
    (a single larger record forms a run of its own); returns ``(records, size)`` pairs."""
    sums = list(itertools.accumulate(sizes))
    total = sums[-1] if sums else 0
    if total <= limit:
        return [(records, total)]
    out: list[tuple[list[Record], int]] = []
    start = 0
    before = 0  # sum of the sizes of records[:start]
    n = len(sums)
    while start < n:
        end = bisect.bisect_right(sums, before + limit, start)
        end = max(end, start + 1)
        out.append((records[start:end], sums[end - 1] - before))
        before = sums[end - 1]
        start = end
    return out


class Batch:
    """One encoded record batch for one partition, with the chunks it completes."""

    __slots__ = (
        "attempts",
        "base_sequence",
        "chunks",
        "count",
        "data",
        "epoch",
        "last_error",
        "producer_id",
        "retry_at",
        "state",
    )

    def __init__(
        self,
        state: PartitionState,
        chunks: list[Chunk],
        count: int,
        data: bytes,
        producer_id: int,
        epoch: int,
        base_sequence: int,
    ) -> None:
        """A batch of ``count`` records encoded as ``data``."""
        self.state = state
        self.chunks = chunks
        self.count = count
        self.data = data
        self.producer_id = producer_id
        self.epoch = epoch
        self.base_sequence = base_sequence
        self.attempts = 0
        self.retry_at = 0.0
        self.last_error: BaseException | None = None

    @property
    def deadline(self) -> float:
        """The earliest delivery deadline of its chunks (loop time)."""
        return min(c.deadline for c in self.chunks)

    def describe(self) -> str:
        """``topic/partition`` and record count, for errors and logs."""
        return f"{self.state.topic}/{self.state.partition} ({self.count} records)"


class PartitionState:
    """The queue, retries and sequence state of one partition."""

    __slots__ = (
        "added_to_txn",
        "first_queued_at",
        "in_flight",
        "next_sequence",
        "outstanding",
        "partition",
        "queue",
        "queued_bytes",
        "queued_count",
        "retries",
        "space",
        "topic",
    )

    def __init__(self, topic: str, partition: int) -> None:
        """An empty partition state."""
        self.topic = topic
        self.partition = partition
        self.queue: deque[Chunk] = deque()
        self.queued_bytes = 0
        self.queued_count = 0
        self.first_queued_at = 0.0
        self.retries: list[Batch] = []
        self.outstanding: list[Batch] = []  # sent or waiting to be re-sent, not yet done
        self.in_flight = 0
        self.next_sequence = 0
        self.added_to_txn = False
        self.space = asyncio.Event()
        self.space.set()

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing to retry, nothing in flight."""
        return not self.queue and not self.retries and self.in_flight == 0

    def push(self, chunk: Chunk, now: float, limit: int) -> None:
        """Append ``chunk`` to the queue."""
        if not self.queue:
            self.first_queued_at = now
        self.queue.append(chunk)
        self.queued_bytes += chunk.size
        self.queued_count += len(chunk.records)
        if len(self.queue) >= limit:
            self.space.clear()

    def take(self, limit_bytes: int, buffer_limit: int) -> tuple[list[Chunk], list[Record]]:
        """Whole chunks from the head of the queue, at most ``limit_bytes`` (at least one)."""
        chunks: list[Chunk] = []
        records: list[Record] = []
        size = 0
        queue = self.queue
        while queue:
            chunk = queue[0]
            if chunks and size + chunk.size > limit_bytes:
                break
            queue.popleft()
            chunks.append(chunk)
            if records:
                records.extend(chunk.records)
            else:
                records = list(chunk.records) if len(queue) else chunk.records
            size += chunk.size
            self.queued_bytes -= chunk.size
            self.queued_count -= len(chunk.records)
        if len(queue) < buffer_limit:
            self.space.set()
        return chunks, records
