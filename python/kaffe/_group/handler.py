"""The one interface between the group engine and the consumer it serves: :class:`GroupHandler`.

The engine (:mod:`kaffe._group.engine`) knows nothing of Kaffe's handler contracts (batches or
single messages, return values, asynchronous acks, user callbacks); the public consumers give it
a :class:`GroupHandler` (:mod:`kaffe._group.delivery` has theirs) and the engine calls it, each
method in a stated place:

* in a worker (a thread per worker key; a task in :mod:`kaffe.aio`): :meth:`~GroupHandler.handle`;
* on the event loop, so quickly and without blocking: :meth:`~GroupHandler.on_result`,
  :meth:`~GroupHandler.start_partition`, :meth:`~GroupHandler.before_commit`;
* in the callback worker, each bounded by the rebalance timeout: :meth:`~GroupHandler.on_assigned`,
  :meth:`~GroupHandler.on_revoked`, :meth:`~GroupHandler.on_lost`.
"""

from __future__ import annotations

from typing import Any, Protocol

from kaffe._group.offsets import AckTracker
from kaffe._util import TopicPartition
from kaffe.message import Message

__all__ = ["GroupHandler"]


class GroupHandler(Protocol):
    """What a group member does with its messages and partitions (see the module docs for
    where each method runs)."""

    @property
    def rebalance_callbacks(self) -> bool:
        """Whether :meth:`on_assigned`, :meth:`on_revoked` and :meth:`on_lost` do anything;
        when ``False`` the engine does not call them (and starts no callback worker)."""
        ...

    def handle(self, messages: list[Message]) -> Any:
        """Process one batch (every message of one partition, in offset order). Runs in the
        partition's worker; the value (awaited first in :mod:`kaffe.aio`) goes to
        :meth:`on_result`. An exception means nothing was processed from the first message
        still in ``messages`` on (the handler may drop the processed ones from the list): the
        batch is delivered again after ``subscriber_retry_delay``."""
        ...

    def on_result(self, tp: TopicPartition, messages: list[Message], result: Any) -> None:
        """:meth:`handle` returned ``result`` for ``messages`` of ``tp`` (on the loop). A
        ``TypeError`` rejects the result: the batch is delivered again."""
        ...

    def start_partition(self, tp: TopicPartition) -> AckTracker | None:
        """``tp`` is about to be consumed (on the loop, after its committed offset is known).
        May return the partition's delivery gate: an :class:`AckTracker` with a limit, which
        batches are cut to and delivery waits for; the engine closes it on revocation."""
        ...

    def before_commit(self) -> None:
        """A commit is about to read the commit tracker (on the loop): move commit points."""
        ...

    def on_assigned(self, partitions: list[TopicPartition]) -> Any:
        """``partitions`` are now consumed (callback worker; a coroutine is awaited)."""
        ...

    def on_revoked(self, partitions: list[TopicPartition]) -> Any:
        """``partitions`` were given up: their last batches finished and their offsets were
        committed (callback worker; a coroutine is awaited)."""
        ...

    def on_lost(self, partitions: list[TopicPartition]) -> Any:
        """``partitions`` were taken away: the membership ended without a hand-over (unknown
        member, stale generation, session timeout), so another member may own them already.
        The engine still stopped their batches and tried to commit first (callback worker; a
        coroutine is awaited)."""
        ...
