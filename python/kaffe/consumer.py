"""``kaffe.Consumer``: one message at a time (Kaffe's ``Kaffe.Consumer``).

``handle_message(message)`` is called for every message, in order per partition; the message
counts as processed when it returns. With ``async_message_ack=True`` the handler is
``handle_message(consumer, message)`` and the application acknowledges later with
``consumer.ack(message)`` (or ``kaffe.Consumer.ack(consumer, message)``), from any thread; offsets
are committed only up to the first message not yet acknowledged.

Flow control (``async_message_ack=True``), as brod's ``prefetch_count``: per partition, at most
``max(1, prefetch_count)`` messages are outstanding, counted from the first message not yet
acknowledged to the last one delivered (messages acknowledged out of order still count while an
earlier one is open, since the commit cannot pass it). At the bound, delivery for that partition
waits until an acknowledgement makes room; other partitions go on. (brod counts the messages it
handed over and that are not acknowledged yet, but only stops fetching, once both
``prefetch_count`` and ``prefetch_bytes`` are exceeded, and still hands over everything it already
fetched; kaffe's bound on delivered messages is exact.) Fetching ahead stays bounded by
``prefetch_count`` / ``prefetch_bytes`` as for every consumer.
:meth:`Consumer.unacked` and :meth:`Consumer.delivery_blocked` show the state.

An exception from the handler commits nothing for that message: it and the ones after it are
delivered again after ``subscriber_retry_delay_ms``.
"""

from __future__ import annotations

from kaffe._group.delivery import MessageHandler
from kaffe.aio import consumer as _aio
from kaffe.group_member import _GroupClient, _on_loop
from kaffe.message import Message

__all__ = ["Consumer"]


class _ThreadedConsumer(_aio.Consumer):
    """The asyncio single-message consumer with handlers in worker threads (behind the
    facade); acknowledgements may come from any thread."""

    _KIND = "Consumer"
    _ASYNC_HANDLERS = False
    _MESSAGE_HANDLER = MessageHandler


class Consumer(_GroupClient):
    """Single-message group consumer; same keys and lifecycle as
    :class:`kaffe.GroupMemberSupervisor` (see the module docs for the handler contract). With
    ``async_message_ack=True`` at most :attr:`delivery_limit` (``max(1, prefetch_count)``)
    messages per partition are outstanding (delivered, from the first unacknowledged one on)."""

    _AIO = _ThreadedConsumer
    _aio: _ThreadedConsumer

    def ack(self, message: Message) -> None:
        """Acknowledge ``message`` (``async_message_ack=True``): it is processed. Offsets are
        committed up to the first delivered message not yet acknowledged. Acknowledging a
        message of a partition this member no longer owns does nothing. Any thread may call
        it; it does not wait."""
        self._aio.ack(message)

    def unacked(self) -> dict[tuple[str, int], int]:
        """Per assigned partition (``async_message_ack=True``): the outstanding messages, from
        the first one not yet acknowledged to the last one delivered. Never more than
        :attr:`delivery_limit`."""
        if not self._running_loop():
            return {}
        out: dict[tuple[str, int], int] = self._call(_on_loop(self._aio.unacked), 10.0)
        return out

    def delivery_blocked(self) -> list[tuple[str, int]]:
        """The assigned partitions whose delivery waits for acknowledgements right now (they
        have :attr:`delivery_limit` outstanding messages)."""
        if not self._running_loop():
            return []
        out: list[tuple[str, int]] = self._call(_on_loop(self._aio.delivery_blocked), 10.0)
        return out
