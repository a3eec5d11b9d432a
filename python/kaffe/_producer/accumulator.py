"""Per-partition queues of records waiting to be sent, and the batches cut from them.

A produce call's records for one partition form a :class:`Chunk` (split so that no chunk is
larger than a batch may be) with one future resolving to the offset of its first record. A
:class:`Batch` is one or more whole chunks from the head of a partition's queue, encoded once (in
Rust, one call per batch) and re-sent as is on retry, so its sequence numbers never change
(except when the broker rejects a batch as too large, see :func:`halve`, or rejects an earlier
batch outright, see :mod:`kaffe._producer.sender`; then it is re-encoded).
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections import deque
from collections.abc import Sequence

from kaffe._producer.messages import Record, record_size

__all__ = ["BATCH_OVERHEAD", "Batch", "Chunk", "PartitionState", "halve", "split"]

BATCH_OVERHEAD = 61
"""Bytes of a v2 record batch header."""


class Chunk:
    """Records for one partition completed together: the records of one produce call, or of
    several single-message calls handed over together (``calls`` counts them)."""

    __slots__ = ("calls", "deadline", "future", "records", "size")

    def __init__(
        self,
        records: list[Record],
        size: int,
        future: asyncio.Future[int],
        deadline: float,
        calls: int = 1,
    ) -> None:
        """``future`` resolves to the offset of the first record; ``deadline`` is loop time."""
        self.records = records
        self.size = size
        self.future = future
        self.deadline = deadline
        self.calls = calls


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


def halve(chunks: list[Chunk]) -> list[list[Chunk]]:
    """The records of ``chunks`` (at least two records) cut, in order, into two or three runs
    of about half their estimated size each, for re-sending a batch the broker found too large.

    A chunk that falls wholly in one run is kept as is. A chunk cut by a run boundary is
    replaced by parts (one per run it spans), each with a future of its own; the chunk's
    future resolves to its first part's offset once every part succeeded, or fails with the
    first part's error.
    """
    owners: list[int] = []
    records: list[Record] = []
    for index, chunk in enumerate(chunks):
        owners.extend([index] * len(chunk.records))
        records.extend(chunk.records)
    sizes = [record_size(r) for r in records]
    total = sum(sizes)
    runs: list[list[Chunk]] = []
    parts: dict[int, list[Chunk]] = {}
    start = 0
    for run, _size in split(records, sizes, max(1, (total + 1) // 2)):
        end = start + len(run)
        out: list[Chunk] = []
        i = start
        while i < end:
            owner = owners[i]
            j = i
            while j < end and owners[j] == owner:
                j += 1
            chunk = chunks[owner]
            if j - i == len(chunk.records):
                out.append(chunk)
            else:
                loop = chunk.future.get_loop()
                part = Chunk(records[i:j], sum(sizes[i:j]), loop.create_future(), chunk.deadline, 0)
                parts.setdefault(owner, []).append(part)
                out.append(part)
            i = j
        runs.append(out)
        start = end
    for owner, pieces in parts.items():
        _link(chunks[owner], pieces)
    return runs


def _link(whole: Chunk, parts: list[Chunk]) -> None:
    """Resolve ``whole``'s future from its ``parts``' futures (see :func:`halve`)."""

    def settle(_fut: asyncio.Future[int]) -> None:
        if whole.future.done():
            return
        for part in parts:
            fut = part.future
            if not fut.done():
                continue
            if fut.cancelled():
                whole.future.cancel()
                return
            exc = fut.exception()
            if exc is not None:
                whole.future.set_exception(exc)
                return
        if all(p.future.done() for p in parts):
            whole.future.set_result(parts[0].future.result())

    for part in parts:
        part.future.add_done_callback(settle)


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
        "node",
        "producer_id",
        "reencode",
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
        self.node = -1  # the broker it was last sent to
        self.reencode = False  # base_sequence changed since ``data`` was encoded

    @property
    def records(self) -> list[Record]:
        """The records of its chunks, in order."""
        if len(self.chunks) == 1:
            return self.chunks[0].records
        return [r for c in self.chunks for r in c.records]

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
        "acked",
        "added_to_txn",
        "first_queued_at",
        "in_flight",
        "next_sequence",
        "outstanding",
        "partition",
        "queue",
        "queued_bytes",
        "queued_calls",
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
        self.queued_calls = 0
        self.first_queued_at = 0.0
        self.retries: list[Batch] = []
        self.outstanding: list[Batch] = []  # sent or waiting to be re-sent, not yet done
        self.in_flight = 0
        self.next_sequence = 0
        self.acked: tuple[int, int, int] | None = None  # (pid, epoch, sequence after last ack)
        self.added_to_txn = False
        self.space = asyncio.Event()
        self.space.set()

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing to retry, nothing in flight."""
        return not self.queue and not self.retries and self.in_flight == 0

    def push(self, chunk: Chunk, now: float, limit: int) -> None:
        """Append ``chunk`` to the queue; the partition is full once ``limit`` produce calls
        wait in it (``space`` is cleared)."""
        if not self.queue:
            self.first_queued_at = now
        self.queue.append(chunk)
        self.queued_bytes += chunk.size
        self.queued_count += len(chunk.records)
        self.queued_calls += chunk.calls
        if self.queued_calls >= limit:
            self.space.clear()

    def popleft(self, limit: int) -> Chunk:
        """Remove the head chunk (the queue is not empty)."""
        chunk = self.queue.popleft()
        self.queued_bytes -= chunk.size
        self.queued_count -= len(chunk.records)
        self.queued_calls -= chunk.calls
        if self.queued_calls < limit:
            self.space.set()
        return chunk

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
            self.queued_calls -= chunk.calls
        if self.queued_calls < buffer_limit:
            self.space.set()
        return chunks, records
