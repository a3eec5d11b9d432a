"""Commit tracking: which offset each partition may commit.

* :class:`CommitTracker` holds, per assigned partition, the offset to commit next and the offset
  Kafka last accepted. Batch results move it (see :meth:`CommitTracker.batch_done`).
* :class:`AckTracker` serves the single-message consumer with asynchronous acks: messages may
  be acknowledged in any order, and the commit point is the first offset not yet acknowledged.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass

from kaffe.message import NO_COMMIT, OK, CommitOffset

__all__ = ["AckTracker", "CommitTracker", "PartitionOffsets"]

log = logging.getLogger("kaffe.group")

TopicPartition = tuple[str, int]


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
    """Delivered and acknowledged offsets of one partition (thread-safe).

    :meth:`commit_point` is the first delivered offset not yet acknowledged, or the offset after
    the last delivered one when everything is acknowledged (``None`` before any delivery).
    """

    def __init__(self) -> None:
        """Nothing delivered yet."""
        self._lock = threading.Lock()
        self._outstanding: deque[int] = deque()
        self._out_set: set[int] = set()
        self._acked: set[int] = set()
        self._next: int | None = None

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
            return True

    def commit_point(self) -> int | None:
        """The offset that may be committed now."""
        with self._lock:
            if self._outstanding:
                return self._outstanding[0]
            return self._next

    @property
    def outstanding(self) -> int:
        """How many delivered offsets wait for an ack."""
        with self._lock:
            return len(self._outstanding)
