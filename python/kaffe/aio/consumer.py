"""The asyncio group consumers: :class:`GroupMemberSupervisor` and :class:`Consumer`.

Same keys, handler contract and behaviour as :class:`kaffe.GroupMemberSupervisor` and
:class:`kaffe.Consumer`, but the engine runs on the caller's event loop and handlers are
coroutines (``async def handle_messages(messages)``, ``async def handle_message(message)``),
run as tasks: one task per worker, so a worker still processes its batches in order and workers
run concurrently. A handler must not block the loop (heartbeats share it); plain functions are
accepted too and are called on the loop.

::

    async with kaffe.aio.GroupMemberSupervisor(endpoints=..., topics=["orders"],
                                               consumer_group="billing",
                                               message_handler=Processor()) as sup:
        await asyncio.sleep(60)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, ClassVar

from kaffe._group.delivery import AsyncMessageHandler, MessageHandler
from kaffe._group.engine import GroupEngine
from kaffe._group.handler import GroupHandler
from kaffe._group.offsets import AckBook, AckTracker, CommitTracker
from kaffe._group.settings import GroupConfig, parse_topics
from kaffe._util import TopicPartition
from kaffe.message import Message

__all__ = ["Consumer", "GroupMemberSupervisor"]

log = logging.getLogger("kaffe.group")


class _AioGroupClient(GroupConfig):
    """The asyncio lifecycle shared by both consumers (and by the synchronous ones, which are
    facades over a twin with ``_ASYNC_HANDLERS = False``: handlers run in worker threads)."""

    _active = False
    _ASYNC_HANDLERS: ClassVar[bool] = True
    _engine: GroupEngine | None = None

    @property
    def failure(self) -> BaseException | None:
        """The error that stopped the member, if one did."""
        return self._engine.failure if self._engine is not None else None

    async def start(self) -> Any:
        """Connect (retrying up to ``client_down_retry_expire``) and join the group in the
        background, on the running loop; returns ``self``."""
        if self._active:
            return self
        tracker = CommitTracker()
        engine = GroupEngine(
            self.client,
            self.settings,
            self.fetch_settings,
            self._group_handler(tracker),
            tracker=tracker,
            asynchronous=self._ASYNC_HANDLERS,
        )
        self._engine = engine
        await engine.start()
        self._active = True
        log.info("%r started", self)
        return self

    async def stop(self) -> None:
        """Finish running batches, commit, leave the group and close. Idempotent."""
        engine = self._engine
        if engine is None or not self._active:
            return
        self._active = False
        try:
            await engine.stop()
        finally:
            await engine.stop_workers(5.0)
        log.info("%r stopped", self)

    close = stop

    async def __aenter__(self) -> Any:
        """Start and return ``self``."""
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    async def run(self) -> None:
        """Start and wait until the member stops or fails (its error is then raised); cancelling
        the task stops the member."""
        await self.start()
        engine = self._engine
        assert engine is not None
        try:
            await engine.done.wait()
        finally:
            failure = engine.failure
            await self.stop()
        if failure is not None:
            raise failure

    async def subscribe_to_topics(self, topics: Sequence[str]) -> list[str]:
        """Also consume ``topics`` (the group rebalances); returns the topics that were new."""
        return self._subscribe(topics)

    def _subscribe(self, topics: Sequence[str]) -> list[str]:
        names = tuple(self.client.apply_prefix(t) for t in parse_topics("topics", list(topics)))
        new = [t for t in names if t not in self.settings.topics]
        self.settings = replace(self.settings, topics=(*self.settings.topics, *new))
        if self._engine is None or not self._active:
            return new  # taken at the next start()
        return self._engine.subscribe(names)

    def assignment(self) -> list[tuple[str, int]]:
        """The ``(topic, partition)`` pairs this member consumes right now."""
        return self._engine.assignment() if self._engine is not None else []

    def lags(self) -> dict[tuple[str, int], int | None]:
        """Per assigned partition: high watermark minus fetch position (``None`` if unknown)."""
        return self._engine.lags() if self._engine is not None else {}

    async def commit(self) -> dict[tuple[str, int], int]:
        """Commit now what the handlers' results allow; returns what was committed."""
        return await self._engine.commit() if self._engine is not None else {}


class GroupMemberSupervisor(_AioGroupClient):
    """Batch consumer with coroutine handlers: ``await handle_messages(messages)``; see
    :class:`kaffe.GroupMemberSupervisor` for the keys and the return-value contract."""

    _KIND = "aio.GroupMemberSupervisor"
    _HANDLER_METHOD = "handle_messages"


class Consumer(_AioGroupClient):
    """Single-message consumer with coroutine handlers: ``await handle_message(message)``, or
    with ``async_message_ack=True`` ``await handle_message(consumer, message)`` and a later
    ``consumer.ack(message)``; see :class:`kaffe.Consumer`. With ``async_message_ack=True`` at
    most :attr:`delivery_limit` (``max(1, prefetch_count)``) messages per partition are
    outstanding; :meth:`unacked` and :meth:`delivery_blocked` show the state."""

    _KIND = "aio.Consumer"
    _HANDLER_METHOD = "handle_message"

    _MESSAGE_HANDLER: ClassVar[type[MessageHandler | AsyncMessageHandler]] = AsyncMessageHandler

    def _check_mode(self) -> None:
        self._acks = AckBook()

    def _group_handler(self, tracker: CommitTracker) -> GroupHandler:
        """What the engine calls: the single-message handler (with the ack trackers when
        ``async_message_ack=True``)."""
        async_ack = bool(self.values["async_message_ack"])
        on_assigned, on_revoked = self._rebalance_callbacks()
        return self._MESSAGE_HANDLER(
            self,
            self.handler,
            tracker,
            self._acks if async_ack else None,
            self.delivery_limit,
            on_assigned,
            on_revoked,
        )

    def ack(self, message: Message) -> None:
        """Acknowledge ``message`` (``async_message_ack=True``); see :meth:`kaffe.Consumer.ack`."""
        self._acks.ack((message.topic, message.partition), message.offset)

    def _trackers(self) -> list[tuple[TopicPartition, AckTracker]]:
        owned = set(self.assignment())
        return sorted((tp, a) for tp, a in self._acks.items() if tp in owned)

    def unacked(self) -> dict[tuple[str, int], int]:
        """Per assigned partition (``async_message_ack=True``): the outstanding messages, from
        the first one not yet acknowledged to the last one delivered. Never more than
        :attr:`delivery_limit`. A snapshot that does not wait (a plain method, as
        :meth:`kaffe.Consumer.unacked`)."""
        return {tp: a.outstanding for tp, a in self._trackers()}

    def delivery_blocked(self) -> list[tuple[str, int]]:
        """The assigned partitions whose delivery waits for acknowledgements right now (they
        have :attr:`delivery_limit` outstanding messages). A snapshot that does not wait (a
        plain method, as :meth:`kaffe.Consumer.delivery_blocked`)."""
        return [tp for tp, a in self._trackers() if a.blocked]
