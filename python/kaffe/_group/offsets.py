"""Commit tracking: which offset each partition may commit.

* :class:`CommitTracker` holds, per assigned partition, the offset to commit next and the offset
  Kafka last accepted. Batch results move it (see :meth:`CommitTracker.batch_done`).
* :class:`AckTracker` serves the single-message consumer with asynchronous acks: messages may
  be acknowledged in any order, and the commit point is the first offset not yet acknowledged.
  It is also that consumer's delivery gate (flow control): with a ``limit``, at most ``limit``
  messages are outstanding, counted from the first one not yet acknowledged to the last one
  delivered; the engine waits (:meth:`AckTracker.wait_for_room`) before delivering more.
* :class:`AckBook` holds that consumer's :class:`AckTracker` per partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass

from kaffe._util import TopicPartition
from kaffe.message import NO_COMMIT, OK, CommitOffset

__all__ = ["AckBook", "AckTracker", "CommitTracker", "PartitionOffsets"]

log = logging.getLogger("kaffe.group")


@dataclass
class PartitionOffsets:
    """Offsets of one partition: ``pending`` (to commit next; ``None``: nothing new) and
    ``committed`` (accepted by Kafka, or what OffsetFetch found)."""

    committed: int | None = None
    pending: int | None = None

    @property
    def dirty(self) -> bool:
        """Whether there is an offset Kafka has not accepted yet."""
        return self.pending is not None and self.pending != self.committed


class CommitTracker:
    """Offsets to commit, per partition; thread-safe."""

    def __init__(self) -> None:
        """Empty: no partition assigned."""
        self._lock = threading.Lock()
        self._parts: dict[TopicPartition, PartitionOffsets] = {}

    def assign(self, tp: TopicPartition, committed: int | None) -> None:
        """Track ``tp``, whose committed offset is ``committed`` (``None``: none)."""
        with self._lock:
            self._parts[tp] = PartitionOffsets(committed=committed)

    def unassign(self, tp: TopicPartition) -> None:
        """Stop tracking ``tp``."""
        with self._lock:
            self._parts.pop(tp, None)

    def clear(self) -> None:
        """Stop tracking every partition."""
        with self._lock:
            self._parts.clear()

    def set_pending(self, tp: TopicPartition, offset: int) -> None:
        """Commit ``offset`` for ``tp`` at the next commit."""
        with self._lock:
            st = self._parts.get(tp)
            if st is not None:
                st.pending = offset

    def batch_done(self, tp: TopicPartition, first: int, last: int, result: object) -> int | None:
        """Apply a batch handler's return value for a batch of offsets ``first..last``.

        ``None``/``OK`` commit ``last + 1``; ``NO_COMMIT`` nothing; ``commit_offset(n)`` commits
        ``n``, lowered to ``last + 1`` if it is beyond (it would skip unprocessed messages).
        Returns the offset that will be committed, or ``None``. Any other value is a
        ``TypeError``.
        """
        if result is None or result is OK:
            offset = last + 1
        elif result is NO_COMMIT:
            return None
        elif isinstance(result, CommitOffset):
            offset = result.offset
            if offset > last + 1:
                log.warning(
                    "%s/%d: handler returned commit_offset(%d) for a batch ending at offset %d; "
                    "committing %d instead (offsets beyond it were not processed)",
                    tp[0],
                    tp[1],
                    offset,
                    last,
                    last + 1,
                )
                offset = last + 1
        else:
            raise TypeError(
                f"handle_messages returned {result!r}; allowed: None, kaffe.OK, "
                "kaffe.NO_COMMIT or kaffe.commit_offset(n)"
            )
        self.set_pending(tp, offset)
        return offset

    def to_commit(self) -> dict[TopicPartition, int]:
        """Every partition with an offset Kafka has not accepted yet."""
        with self._lock:
            return {
                tp: st.pending
                for tp, st in self._parts.items()
                if st.pending is not None and st.dirty
            }

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        """Kafka accepted ``offsets``."""
        with self._lock:
            for tp, off in offsets.items():
                st = self._parts.get(tp)
                if st is not None:
                    st.committed = off

    def committed_offset(self, tp: TopicPartition) -> int | None:
        """The offset Kafka holds for ``tp`` as far as this member knows."""
        with self._lock:
            st = self._parts.get(tp)
            return st.committed if st is not None else None


class AckTracker:
    """Delivered and acknowledged offsets of one partition (thread-safe), and the delivery gate
    of the asynchronous-ack consumer.

    :meth:`commit_point` is the first delivered offset not yet acknowledged, or the offset after
    the last delivered one when everything is acknowledged (``None`` before any delivery).

    Outstanding messages are the delivered ones from the first unacknowledged offset on (later
    messages acknowledged early still count: the commit cannot pass the first unacknowledged
    offset, so they would be delivered again after a restart). With a ``limit`` (``None``: no
    limit), :meth:`room` says how many more may be delivered, and :meth:`wait_for_room` waits,
    on an event loop, until an acknowledgement (from any thread) makes room or the partition is
    closed (:meth:`close`).
    """

    def __init__(self, limit: int | None = None) -> None:
        """Nothing delivered yet; at most ``limit`` (>= 1) outstanding messages, if given."""
        self._lock = threading.Lock()
        self._outstanding: deque[int] = deque()
        self._out_set: set[int] = set()
        self._acked: set[int] = set()
        self._next: int | None = None
        self._limit: int | None = None
        self._closed = False
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self._stalls = 0
        self.set_limit(limit)

    def set_limit(self, limit: int | None) -> None:
        """Allow at most ``limit`` outstanding messages (``None``: any number); wakes a waiting
        delivery if that makes room."""
        if limit is not None and limit < 1:
            raise ValueError(f"the delivery limit must be >= 1, not {limit}")
        with self._lock:
            self._limit = limit
            self._wake_locked()

    @property
    def limit(self) -> int | None:
        """The most outstanding messages allowed (``None``: no limit)."""
        return self._limit

    def delivered(self, offset: int) -> None:
        """``offset`` was handed to the application (offsets arrive in increasing order)."""
        with self._lock:
            if offset in self._out_set or (self._next is not None and offset < self._next):
                return  # delivered again after a handler failure
            self._outstanding.append(offset)
            self._out_set.add(offset)
            self._next = offset + 1

    def ack(self, offset: int) -> bool:
        """The application acknowledged ``offset``; ``False`` if it was not outstanding."""
        with self._lock:
            if offset in self._acked or offset not in self._out_set:
                return False
            self._acked.add(offset)
            while self._outstanding and self._outstanding[0] in self._acked:
                done = self._outstanding.popleft()
                self._acked.discard(done)
                self._out_set.discard(done)
            self._wake_locked()
            return True

    def commit_point(self) -> int | None:
        """The offset that may be committed now."""
        with self._lock:
            if self._outstanding:
                return self._outstanding[0]
            return self._next

    @property
    def outstanding(self) -> int:
        """How many delivered messages count against the limit: from the first unacknowledged
        one to the last delivered one."""
        with self._lock:
            return len(self._outstanding)

    # ------------------------------------------------------------------ the delivery gate

    def room(self) -> int | None:
        """How many more messages may be delivered now (``None``: no limit; ``0``: wait)."""
        with self._lock:
            return self._room_locked()

    def _room_locked(self) -> int | None:
        if self._limit is None:
            return None
        return max(0, self._limit - len(self._outstanding))

    async def wait_for_room(self) -> int:
        """Wait until a message may be delivered; returns how many may (a large number without
        a limit), or ``0`` once :meth:`close` was called. Call it on an event loop; one delivery
        waits at a time (the partition's subscriber)."""
        loop = asyncio.get_running_loop()
        while True:
            with self._lock:
                if self._closed:
                    return 0
                room = self._room_locked()
                if room is None:
                    return 2**31 - 1
                if room > 0:
                    return room
                fut: asyncio.Future[None] = loop.create_future()
                self._waiter = (loop, fut)
                self._stalls += 1
            try:
                await fut
            finally:
                with self._lock:
                    if self._waiter is not None and self._waiter[1] is fut:
                        self._waiter = None

    def close(self) -> None:
        """The partition is revoked or the consumer stops: a waiting delivery gives up (acks and
        the commit point keep working)."""
        with self._lock:
            self._closed = True
            self._wake_locked(force=True)

    @property
    def blocked(self) -> bool:
        """Whether a delivery is waiting for acknowledgements right now."""
        with self._lock:
            return self._waiter is not None and not self._waiter[1].done()

    @property
    def stalls(self) -> int:
        """How many times delivery had to wait for acknowledgements."""
        with self._lock:
            return self._stalls

    def _wake_locked(self, force: bool = False) -> None:
        waiter = self._waiter
        if waiter is None:
            return
        room = self._room_locked()
        if not force and room is not None and room <= 0:
            return
        self._waiter = None
        loop, fut = waiter
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_resolve, fut)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class AckBook:
    """The :class:`AckTracker` of each partition of an asynchronous-ack consumer; thread-safe
    (acknowledgements come from any thread)."""

    def __init__(self) -> None:
        """No partition yet."""
        self._lock = threading.Lock()
        self._trackers: dict[TopicPartition, AckTracker] = {}

    def start(self, tp: TopicPartition, limit: int | None) -> AckTracker:
        """A fresh tracker for ``tp`` (replacing an old one), at most ``limit`` outstanding."""
        tracker = AckTracker(limit)
        with self._lock:
            self._trackers[tp] = tracker
        return tracker

    def get(self, tp: TopicPartition) -> AckTracker | None:
        """The tracker of ``tp``, if it has one."""
        with self._lock:
            return self._trackers.get(tp)

    def items(self) -> list[tuple[TopicPartition, AckTracker]]:
        """Every partition's tracker."""
        with self._lock:
            return list(self._trackers.items())

    def ack(self, tp: TopicPartition, offset: int) -> None:
        """Acknowledge ``offset`` of ``tp`` (nothing happens for a partition without tracker)."""
        tracker = self.get(tp)
        if tracker is not None:
            tracker.ack(offset)
