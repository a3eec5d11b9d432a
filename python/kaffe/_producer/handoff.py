"""The hand-off between the threads that call ``produce*`` and the producer's event loop.

A produce call never waits for the event loop: the caller (any thread, or a coroutine on the
loop) turns its messages into records, appends one item to a thread-safe FIFO (:class:`Handoff`)
and returns. The loop drains the FIFO in bulk: it chooses partitions (one native hashing call
for every single-message call of a topic drained together), merges the single-message calls of
one partition into one chunk of the engine's partition queue, and attaches each call's result
target (a :class:`Sink`) to the chunk's future. Order is kept: items are drained strictly in the
order they were appended, so messages to one partition are queued (and, the engine keeping
order, written) in call order.

Waking the loop costs a system call (``call_soon_threadsafe`` writes to the loop's self-pipe),
so a caller wakes it only when no drain is already scheduled: a burst of calls costs one wake-up.

Back-pressure: the FIFO holds at most ``limit`` items (``partition_buffer_limit`` produce calls).
A synchronous caller that finds it full waits (up to the delivery deadline) until the loop has
drained it; a coroutine awaits the same. The loop stops draining while a partition's queue in
the engine is full (``partition_buffer_limit`` calls), so a slow or unreachable partition pushes
back on callers instead of growing memory without bound. Those are the only waits.

Nothing is dropped: items drained after the producer began closing fail their sinks, and
:meth:`Handoff.abandon` fails whatever is left once the loop has stopped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kaffe._cluster.errors import error_for
from kaffe._core import partitions_md5, partitions_murmur2
from kaffe._producer.futures import DeliveryFuture, resolve_all
from kaffe._producer.messages import RECORD_OVERHEAD, Record
from kaffe._producer.partitioner import assign_partitions
from kaffe._producer.settings import PartitionStrategy
from kaffe._protocol import ErrorCode
from kaffe.errors import KafkaError, KafkaTimeoutError

if TYPE_CHECKING:
    from kaffe._cluster.client import Cluster
    from kaffe._producer.sender import Engine

__all__ = ["BARRIER", "LIST", "SINGLE", "Call", "Handoff", "ProduceResult", "Sink", "SinkLike"]

log = logging.getLogger("kaffe.producer")

ProduceResult = list[tuple[int, int]]
"""``[(partition, base_offset), ...]``: one entry per partition (per batch-sized part) of a
produce call. ``base_offset`` is ``-1`` when ``required_acks=0``."""

SINGLE = 0
"""``(SINGLE, topic, partition | None, record, sink)``: one message."""
LIST = 1
"""``(LIST, topic, partition | None, records, sizes, strategy | None, call, last)``: a slice
of a message list (a call of several slices shares one :class:`Call`; ``last`` marks its last
slice)."""
BARRIER = 2
"""``(BARRIER, future)``: resolved once every earlier item is in the engine's queues."""

_INVALID_STATE = (asyncio.InvalidStateError, concurrent.futures.InvalidStateError)


class Sink:
    """Where a produce call's outcome goes: a future (``concurrent.futures`` for callers in
    other threads, ``asyncio`` for coroutines), a per-part ``callback(partition, offset)``,
    or neither. ``raises``: the caller raises the error itself (``produce_sync``), so it is
    not kept for :meth:`Engine.take_failures` (``flush`` would report it twice)."""

    __slots__ = ("callback", "future", "raises")

    def __init__(
        self,
        future: asyncio.Future[ProduceResult] | concurrent.futures.Future[ProduceResult] | None,
        callback: Callable[[int, int], Any] | None = None,
        raises: bool = False,
    ) -> None:
        """See the class docs."""
        self.future = future
        self.callback = callback
        self.raises = raises

    def part_done(self, partition: int, offset: int) -> None:
        """One part was acknowledged: run the callback (errors are logged, never raised)."""
        cb = self.callback
        if cb is not None:
            try:
                cb(partition, offset)
            except Exception:
                log.exception("produce callback %r raised", cb)

    def succeed(self, result: ProduceResult) -> None:
        """Resolve the future (a future the caller cancelled is left alone)."""
        fut = self.future
        if fut is not None:
            try:  # noqa: SIM105 (hot path: cheaper than contextlib.suppress)
                fut.set_result(result)
            except _INVALID_STATE:
                pass

    def fail(self, exc: BaseException) -> None:
        """Fail the future (a future the caller cancelled is left alone)."""
        fut = self.future
        if fut is not None:
            try:  # noqa: SIM105 (hot path: cheaper than contextlib.suppress)
                fut.set_exception(exc)
            except _INVALID_STATE:
                pass


SinkLike = Sink | DeliveryFuture
"""A call's result target: a :class:`Sink`, or a :class:`DeliveryFuture` (its own sink)."""


class Call:
    """A produce call of a message list: its parts (one per partition and batch-sized piece,
    possibly from several slices of a long list) complete it together, in creation order."""

    __slots__ = ("failed", "handoff", "pending", "results", "sealed", "sink")

    def __init__(self, sink: SinkLike) -> None:
        """An empty call; :meth:`seal` once its last slice has been queued."""
        self.sink = sink
        self.results: list[tuple[int, int] | None] = []
        self.pending = 0
        self.sealed = False
        self.failed = False
        self.handoff: Handoff | None = None

    def add(self, partition: int, fut: asyncio.Future[int]) -> None:
        """A part of the call, completed by ``fut`` (the chunk's first offset)."""
        index = len(self.results)
        self.results.append(None)
        self.pending += 1
        fut.add_done_callback(functools.partial(self._part, index, partition))

    def _part(self, index: int, partition: int, fut: asyncio.Future[int]) -> None:
        exc = _outcome(fut)  # read even when the call already failed: asyncio logs an
        if self.failed:  # exception nobody retrieved ("Future exception was never retrieved")
            return
        if exc is not None:
            self.fail(exc)
            return
        offset = fut.result()
        self.results[index] = (partition, offset)
        self.sink.part_done(partition, offset)
        self.pending -= 1
        self._maybe_done()

    def seal(self) -> None:
        """No more parts will be added."""
        self.sealed = True
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self.sealed and self.pending == 0 and not self.failed:
            self.sink.succeed([r for r in self.results if r is not None])

    def fail(self, exc: BaseException) -> None:
        """Fail the call (once)."""
        if self.failed:
            return
        self.failed = True
        if self.handoff is not None and not self.sink.raises:
            self.handoff.engine.note_failure(exc)
        self.sink.fail(exc)


def _outcome(fut: asyncio.Future[int]) -> BaseException | None:
    if fut.cancelled():
        return KafkaError("the produce call was cancelled: the producer is closing")
    return fut.exception()


class Handoff:
    """The thread-safe FIFO of produce calls and its drain on the loop (see the module docs)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        engine: Engine,
        cluster: Cluster,
        strategy: PartitionStrategy,
        limit: int,
    ) -> None:
        """Items are drained on ``loop`` into ``engine``; ``strategy`` is the producer's
        partition strategy; at most ``limit`` items wait in the FIFO."""
        self.loop = loop
        self.engine = engine
        self.cluster = cluster
        self.strategy = strategy
        self.limit = max(1, limit)
        self._items: deque[tuple[Any, ...]] = deque()
        self._kicked = False
        self._slow: asyncio.Task[None] | None = None
        self._room = threading.Condition(threading.Lock())
        self._room_waiters = 0
        self._room_event: asyncio.Event | None = None
        self._loop_thread = threading.get_ident()  # made on the loop (the producer's start)
        self._counts: dict[str, int] = {}
        self._counts_md: object = None
        self._known: set[str] = set()
        self.closed = False

    # ------------------------------------------------------------------ callers (any thread)

    def put(self, item: tuple[Any, ...]) -> None:
        """Append ``item`` (from any thread but the loop's) and make sure a drain is scheduled;
        waits while the FIFO is full, at most the delivery deadline.

        Raises:
            kaffe.KafkaError: the producer is closed.
            kaffe.KafkaTimeoutError: the FIFO stayed full until the deadline.
        """
        if self.closed:
            raise KafkaError("the producer is closed", retriable=False)
        if len(self._items) >= self.limit:
            if threading.get_ident() == self._loop_thread:
                raise RuntimeError(
                    "a synchronous kaffe produce call on the producer's own event-loop thread "
                    "found the queue full; waiting for room there would wait for itself forever. "
                    "Use kaffe.aio inside asyncio code, or call from another thread"
                )
            self._wait_room(time.monotonic() + self.engine.settings.delivery_timeout)
        self._items.append(item)
        if not self._kicked:
            self._kicked = True
            try:
                self.loop.call_soon_threadsafe(self._kick)
            except RuntimeError:  # the loop was closed under us
                self._kicked = False
                self.abandon(KafkaError("the producer is closed", retriable=False))
                raise KafkaError("the producer is closed", retriable=False) from None

    def _wait_room(self, deadline: float | None) -> None:
        with self._room:
            self._room_waiters += 1
            try:
                while len(self._items) >= self.limit and not self.closed:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise KafkaTimeoutError(
                            f"the producer's queue stayed full ({self.limit} produce calls "
                            "waiting, partition_buffer_limit) until the delivery deadline"
                        )
                    # Short waits: a notify racing with our check costs at most this long.
                    self._room.wait(0.05 if left is None else min(left, 0.05))
            finally:
                self._room_waiters -= 1
        if self.closed:
            raise KafkaError("the producer is closed", retriable=False)

    async def put_async(self, item: tuple[Any, ...]) -> None:
        """Append ``item`` from a coroutine on the loop; awaits room while the FIFO is full."""
        if self.closed:
            raise KafkaError("the producer is closed", retriable=False)
        while len(self._items) >= self.limit:
            if self._room_event is None:
                self._room_event = asyncio.Event()
            self._room_event.clear()
            await self._room_event.wait()
            if self.closed:
                raise KafkaError("the producer is closed", retriable=False)
        self._items.append(item)
        if not self._kicked:
            self._kicked = True
            self.loop.call_soon(self._kick)

    async def barrier(self, timeout: float | None = None) -> None:
        """Wait until every item appended before this call is in the engine's queues."""
        fut: asyncio.Future[ProduceResult] = self.loop.create_future()
        self._items.append((BARRIER, fut))
        if not self._kicked:
            self._kicked = True
            self.loop.call_soon(self._kick)
        if timeout is None:
            await fut
        else:
            await asyncio.wait_for(asyncio.shield(fut), timeout)

    def abandon(self, err: BaseException) -> None:
        """Fail every item still waiting (the loop is gone or the producer closed)."""
        while True:
            try:
                item = self._items.popleft()
            except IndexError:
                break
            self._reject(item, err)
        self._notify_room()

    # ------------------------------------------------------------------ the drain (loop)

    def _kick(self) -> None:
        self._kicked = False
        if self._slow is None:
            self._drain()

    def _notify_room(self) -> None:
        if self._room_waiters:
            with self._room:
                self._room.notify_all()
        if self._room_event is not None:
            self._room_event.set()

    def _drain(self) -> None:
        """Drain what can be drained without waiting; hand over to the slow path when a
        partition's queue is full or a topic's partition count is not known yet."""
        if not self._drain_ready():
            self._slow = self.loop.create_task(self._drain_slowly(), name="kaffe-handoff")

    def _drain_ready(self) -> bool:
        """Process items until none is left (``True``) or one must wait (``False``)."""
        items = self._items
        while items:
            if self.engine.full_partitions():
                return False
            batch = [items.popleft() for _ in range(len(items))]
            self._notify_room()
            rest = self._process(batch)
            if rest:
                items.extendleft(reversed(rest))
                return False
        return True

    async def _drain_slowly(self) -> None:
        try:
            while True:
                await self._wait_for_room()
                if self._items:
                    head = self._items[0]
                    if head[0] != BARRIER and self._count(head[1]) is None:
                        await self._resolve_count(head[1])
                if self._drain_ready():
                    return
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - a bug: fail the items loudly, never hang
            log.exception("the producer's hand-off failed")
            self.abandon(KafkaError("the producer's hand-off failed (see the log)"))
        finally:
            self._slow = None

    async def _wait_for_room(self) -> None:
        while True:
            full = self.engine.full_partitions()
            if not full or self.closed:
                return
            waits = [asyncio.ensure_future(s.space.wait()) for s in full]
            try:
                await asyncio.wait(waits, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    def _count(self, topic: str) -> int | None:
        md = self.cluster.metadata
        if md is not self._counts_md:
            self._counts_md = md
            self._counts.clear()
        count = self._counts.get(topic)
        if count is None and topic in self._known and md is not None:
            info = md.topic(topic)
            if info is not None and info.error_code == 0 and info.partition_count:
                count = self._counts[topic] = info.partition_count
        return count

    async def _resolve_count(self, topic: str) -> None:
        try:
            count = await self.cluster.partition_count(topic)
        except KafkaError as exc:
            self._fail_topic(topic, exc)
            return
        if count < 1:
            self._fail_topic(topic, KafkaError(f"topic {topic!r} has no partitions"))
            return
        self._known.add(topic)
        self._counts[topic] = count

    def _fail_topic(self, topic: str, exc: KafkaError) -> None:
        """Fail the waiting items of ``topic`` up to the first barrier (so later calls look
        the topic up again)."""
        kept: deque[tuple[Any, ...]] = deque()
        barrier_seen = False
        while self._items:
            item = self._items.popleft()
            if item[0] == BARRIER:
                barrier_seen = True
            if not barrier_seen and item[0] != BARRIER and item[1] == topic:
                self._reject(item, exc)
            else:
                kept.append(item)
        self._items.extend(kept)

    def _reject(self, item: tuple[Any, ...], exc: BaseException) -> None:
        kind = item[0]
        if kind == SINGLE:
            sink: SinkLike | None = item[4]
            if sink is None:
                self.engine.note_failure(exc)
            else:
                if not sink.raises:
                    self.engine.note_failure(exc)
                sink.fail(exc)
        elif kind == LIST:
            call: Call = item[6]
            call.handoff = self
            call.fail(exc)
        else:
            fut: asyncio.Future[Any] = item[1]
            if not fut.done():
                fut.set_result(None)

    # ------------------------------------------------------------------ processing

    def _process(self, batch: list[tuple[Any, ...]]) -> list[tuple[Any, ...]] | None:
        """Queue ``batch`` in order; stops at the first item whose topic's partition count is
        unknown and returns it with the items after it (``None``: all done)."""
        singles: dict[str, list[tuple[Any, ...]]] = {}
        known: set[str] = set()
        for index, item in enumerate(batch):
            kind = item[0]
            if self.closed and kind != BARRIER:
                self._reject(item, KafkaError("the producer is closed", retriable=False))
                continue
            if kind != BARRIER and item[1] not in known:
                if self._count(item[1]) is None:
                    if singles:
                        self._queue_singles(singles)
                    self.engine.kick()
                    return batch[index:]
                known.add(item[1])
            if kind == SINGLE:
                group = singles.get(item[1])
                if group is None:
                    singles[item[1]] = [item]
                else:
                    group.append(item)
                continue
            if singles:
                self._queue_singles(singles)
                singles = {}
            if kind == LIST:
                self._queue_list(item)
            else:
                fut = item[1]
                if not fut.done():
                    fut.set_result(None)
        if singles:
            self._queue_singles(singles)
        self.engine.kick()
        return None

    def _queue_singles(self, by_topic: dict[str, list[tuple[Any, ...]]]) -> None:
        engine = self.engine
        for topic, items in by_topic.items():
            count = self._count(topic)
            assert count is not None
            chosen = self._choose(topic, count, items)
            groups: dict[int, tuple[list[Record], list[int], list[SinkLike | None]]] = {}
            for item, partition in zip(items, chosen, strict=True):
                if partition is None:
                    continue  # failed (a bad partition or strategy result): sink told
                record = item[3]
                g = groups.get(partition)
                if g is None:
                    g = groups[partition] = ([], [], [])
                g[0].append(record)
                key, value = record[0], record[1]
                g[1].append(
                    RECORD_OVERHEAD
                    + (len(key) if key is not None else 0)
                    + (len(value) if value is not None else 0)
                )
                g[2].append(item[4])
            for partition, (records, sizes, sinks) in groups.items():
                anyone = any(s is not None for s in sinks)
                for fut, start, end in engine.push(topic, partition, records, sizes, True):
                    if anyone:
                        done = functools.partial(_singles_done, self, partition, sinks[start:end])
                    else:  # future=False calls only: a failure goes to flush()
                        done = functools.partial(_failure_only, self)
                    fut.add_done_callback(done)

    def _choose(self, topic: str, count: int, items: list[tuple[Any, ...]]) -> list[int | None]:
        """The partition of every single-message item (``None``: failed, sink told)."""
        out: list[int | None] = [item[2] for item in items]
        todo = [i for i, p in enumerate(out) if p is None]
        if todo:
            strategy = self.strategy
            if strategy == "md5" and count > 1:
                keys = [items[i][3][0] for i in todo]
                hashed = partitions_md5([k if k is not None else b"" for k in keys], count)
                for i, p in zip(todo, hashed, strict=True):
                    out[i] = p
            elif strategy == "md5":
                for i in todo:
                    out[i] = 0
            elif strategy == "murmur2":
                keyed = [i for i in todo if items[i][3][0] is not None]
                hashed = partitions_murmur2([items[i][3][0] for i in keyed], count)
                for i, p in zip(keyed, hashed, strict=True):
                    out[i] = p
                for i in todo:
                    if out[i] is None:
                        out[i] = random.randrange(count)  # a keyless call: a random partition
            else:
                for i in todo:
                    record = items[i][3]
                    try:
                        out[i] = assign_partitions(strategy, topic, count, [record])[0]
                    except Exception as exc:
                        self._reject(items[i], exc)
                        out[i] = None
                        continue
        for i, chosen in enumerate(out):
            if chosen is not None and chosen >= count:
                self._reject(items[i], _no_partition(topic, chosen, count))
                out[i] = None
        return out

    def _queue_list(self, item: tuple[Any, ...]) -> None:
        _kind, topic, partition, records, sizes, strategy, call, last = item
        call.handoff = self
        count = self._count(topic)
        assert count is not None
        try:
            if partition is not None:
                if partition >= count:
                    raise _no_partition(topic, partition, count)
                groups = {partition: (records, sizes)} if records else {}
            elif records:
                chosen = assign_partitions(
                    self.strategy if strategy is None else strategy, topic, count, records
                )
                groups = _group(records, sizes, chosen)
            else:
                groups = {}
        except Exception as exc:
            call.fail(exc)
            return
        for p, (recs, szs) in groups.items():
            for fut, _start, _end in self.engine.push(topic, p, recs, szs, False):
                call.add(p, fut)
        if last:
            call.seal()


def _no_partition(topic: str, partition: int, count: int) -> KafkaError:
    return error_for(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        f"topic {topic!r} partition {partition}",
        f"the topic has {count} partitions",
    )


def _group(
    records: list[Record], sizes: list[int], chosen: list[int]
) -> dict[int, tuple[list[Record], list[int]]]:
    first = chosen[0]
    if all(c == first for c in chosen):
        return {first: (records, sizes)}
    groups: dict[int, tuple[list[Record], list[int]]] = {}
    for record, size, p in zip(records, sizes, chosen, strict=True):
        g = groups.get(p)
        if g is None:
            g = groups[p] = ([], [])
        g[0].append(record)
        g[1].append(size)
    return groups


def _failure_only(handoff: Handoff, fut: asyncio.Future[int]) -> None:
    """A chunk of calls that want no result completed: keep a failure for ``flush``."""
    exc = _outcome(fut)
    if exc is not None:
        handoff.engine.note_failure(exc)


def _singles_done(
    handoff: Handoff, partition: int, sinks: list[SinkLike | None], fut: asyncio.Future[int]
) -> None:
    """A chunk of single-message calls completed: resolve each call's sink."""
    exc = _outcome(fut)
    if exc is not None:
        if any(s is None or not s.raises for s in sinks):
            handoff.engine.note_failure(exc)
        for s in sinks:
            if s is not None:
                s.fail(exc)
        return
    base = fut.result()
    bulk: list[tuple[DeliveryFuture, Any, None]] = []
    for i, s in enumerate(sinks):
        if s is not None:
            offset = base + i if base >= 0 else -1
            if s.callback is not None:
                s.part_done(partition, offset)
            future = s.future
            if type(future) is DeliveryFuture:
                bulk.append((future, [(partition, offset)], None))
            elif future is not None:
                s.succeed([(partition, offset)])
    if bulk:
        resolve_all(bulk[0][0]._condition, bulk)
