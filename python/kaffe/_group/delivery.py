"""Kaffe's handler contracts as :class:`~kaffe._group.handler.GroupHandler` objects: what the
public consumers hand to the group engine.

* :class:`BatchHandler` (``GroupMemberSupervisor``, sync and asyncio): ``handle_messages(batch)``;
  its return value decides the commit (:meth:`CommitTracker.batch_done
  <kaffe._group.offsets.CommitTracker.batch_done>`).
* :class:`MessageHandler` (``kaffe.Consumer``, handlers in worker threads) and
  :class:`AsyncMessageHandler` (``kaffe.aio.Consumer``, coroutine handlers):
  ``handle_message(message)``, each message committed once it returns; with asynchronous acks,
  ``handle_message(consumer, message)``, committed up to the first message not acknowledged
  (:class:`~kaffe._group.offsets.AckBook`), which is also each partition's delivery gate.

The user's ``on_assigned`` / ``on_revoked`` callbacks run for the handler's ``on_assigned`` /
``on_revoked``; partitions lost without a hand-over are reported to ``on_revoked`` as well.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from kaffe._group.offsets import AckBook, AckTracker, CommitTracker
from kaffe._util import TopicPartition
from kaffe.message import Message

__all__ = ["AsyncMessageHandler", "BatchHandler", "MessageHandler", "PartitionCallback"]

PartitionCallback = Callable[[list[TopicPartition]], Any]
"""A user's ``on_assigned`` / ``on_revoked``."""


class _Callbacks:
    """The user's rebalance callbacks (either may be ``None``)."""

    def __init__(
        self, on_assigned: PartitionCallback | None, on_revoked: PartitionCallback | None
    ) -> None:
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked

    @property
    def rebalance_callbacks(self) -> bool:
        """Whether the user gave a callback."""
        return self._on_assigned is not None or self._on_revoked is not None

    def on_assigned(self, partitions: list[TopicPartition]) -> Any:
        """The user's ``on_assigned``, if any."""
        return self._on_assigned(partitions) if self._on_assigned is not None else None

    def on_revoked(self, partitions: list[TopicPartition]) -> Any:
        """The user's ``on_revoked``, if any."""
        return self._on_revoked(partitions) if self._on_revoked is not None else None

    def on_lost(self, partitions: list[TopicPartition]) -> Any:
        """The user's ``on_revoked``, if any (Kaffe has no separate callback for lost ones)."""
        return self.on_revoked(partitions)


class BatchHandler(_Callbacks):
    """``handle_messages(batch)``: the batch consumer's :class:`GroupHandler`."""

    def __init__(
        self,
        handle: Callable[[list[Message]], Any],
        tracker: CommitTracker,
        on_assigned: PartitionCallback | None = None,
        on_revoked: PartitionCallback | None = None,
    ) -> None:
        """``handle(batch)`` is the user's handler; its results move ``tracker``."""
        super().__init__(on_assigned, on_revoked)
        self._handle = handle
        self._tracker = tracker

    def handle(self, messages: list[Message]) -> Any:
        """Call the user's handler (a coroutine is awaited by the asyncio worker)."""
        return self._handle(messages)

    def on_result(self, tp: TopicPartition, messages: list[Message], result: Any) -> None:
        """Commit what the handler's return value allows (``TypeError`` for a bad one)."""
        self._tracker.batch_done(tp, messages[0].offset, messages[-1].offset, result)

    def start_partition(self, tp: TopicPartition) -> AckTracker | None:
        """No delivery gate."""
        return None

    def before_commit(self) -> None:
        """Nothing to move: results moved the tracker already."""


class _MessageHandlerBase(_Callbacks):
    """What the single-message handlers share (everything but calling the handler)."""

    def __init__(
        self,
        consumer: object,
        handle: Callable[..., Any],
        tracker: CommitTracker,
        acks: AckBook | None,
        limit: int | None,
        on_assigned: PartitionCallback | None = None,
        on_revoked: PartitionCallback | None = None,
    ) -> None:
        """``handle`` is the user's handler; ``acks`` (asynchronous acks only) gets a tracker
        per started partition with at most ``limit`` outstanding messages, and ``consumer`` is
        passed to the handler for acknowledging."""
        super().__init__(on_assigned, on_revoked)
        self._consumer = consumer
        self._handle = handle
        self._tracker = tracker
        self._acks = acks
        self._limit = limit

    def _call(self, acks: AckTracker | None, message: Message) -> Any:
        if acks is not None:
            acks.delivered(message.offset)
            return self._handle(self._consumer, message)
        return self._handle(message)

    def _batch_acks(self, messages: list[Message]) -> tuple[TopicPartition, AckTracker | None]:
        tp = (messages[0].topic, messages[0].partition)
        return tp, self._acks.get(tp) if self._acks is not None else None

    def on_result(self, tp: TopicPartition, messages: list[Message], result: Any) -> None:
        """Nothing: each message moved the tracker as it was handled."""

    def start_partition(self, tp: TopicPartition) -> AckTracker | None:
        """With asynchronous acks: the partition's new ack tracker, its delivery gate."""
        return self._acks.start(tp, self._limit) if self._acks is not None else None

    def before_commit(self) -> None:
        """With asynchronous acks: commit up to each partition's first unacknowledged
        message."""
        if self._acks is None:
            return
        for tp, acks in self._acks.items():
            point = acks.commit_point()
            if point is not None:
                self._tracker.set_pending(tp, point)


class MessageHandler(_MessageHandlerBase):
    """``handle_message(message)`` or, with acks, ``handle_message(consumer, message)``: the
    single-message consumer's :class:`GroupHandler` (handlers in worker threads)."""

    def handle(self, messages: list[Message]) -> None:
        """Call the handler per message; the processed ones leave ``messages`` if one fails."""
        tp, acks = self._batch_acks(messages)
        for i, m in enumerate(messages):
            try:
                self._call(acks, m)
            except BaseException:
                del messages[:i]  # the retry starts at the failed message
                raise
            if acks is None:
                self._tracker.set_pending(tp, m.offset + 1)


class AsyncMessageHandler(_MessageHandlerBase):
    """:class:`MessageHandler` for coroutine handlers (``kaffe.aio.Consumer``)."""

    async def handle(self, messages: list[Message]) -> None:
        """Await the handler per message; the processed ones leave ``messages`` if one
        fails."""
        tp, acks = self._batch_acks(messages)
        for i, m in enumerate(messages):
            try:
                result = self._call(acks, m)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except BaseException:
                del messages[:i]  # the retry starts at the failed message
                raise
            if acks is None:
                self._tracker.set_pending(tp, m.offset + 1)
