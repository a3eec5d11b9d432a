"""The synchronous producer: Kaffe's ``Kaffe.Producer`` for Python.

::

    with kaffe.Producer(endpoints=[("127.0.0.1", 9092)], topics=["orders"]) as producer:
        producer.produce_sync("orders", [("k1", "v1"), (b"k2", b"v2")])   # topic, message list
        producer.produce_sync("orders", 2, [("k", "v")])                   # topic, partition, list
        producer.produce_sync("k", "v")                                    # key, value -> topics[0]
        producer.produce_sync("orders", "k", "v")                          # topic, key, value
        producer.produce_sync("orders", 2, "k", "v")                       # topic, partition, k, v
        producer.produce("orders", [("k", "v")], partition_strategy="random")

Messages
    ``(key, value)``, ``(key, value, headers)`` or a mapping with ``key``, ``value`` and optional
    ``headers`` and ``ts`` (ms). Keys and values are ``bytes``, ``str`` (UTF-8) or ``None``;
    headers a list of ``(str, bytes | str)`` pairs or a mapping. Without ``ts`` a message gets
    the current time in milliseconds. A list is grouped by partition, one batch per partition
    (or more when a partition's messages exceed ``max_batch_size``).

Partition strategies (``partition_strategy``)
    ``"md5"`` (default; Kaffe's formula, a ``None`` key hashes as ``b""``), ``"murmur2"`` (the
    Java client's, byte-exact; keyless messages of one call go to one random partition),
    ``"random"``, or a callable ``(topic, partitions_count, key, value) -> int``.

Configuration (Kaffe's keys and defaults; see :mod:`kaffe._producer.settings`)
    ``required_acks`` (-1), ``ack_timeout`` (1000 ms), ``partition_buffer_limit`` (512),
    ``partition_onwire_limit`` (5 with idempotence, else 1; Kaffe's is 1),
    ``max_batch_size`` (1 MiB), ``max_retries`` (``None``: no count, retries until the
    delivery deadline; Kaffe's is 3), ``retry_backoff_ms`` (500), ``retry_backoff_max_ms``
    (1000), ``delivery_timeout_ms`` (120000), ``compression`` (``"none"``, which ``None`` and
    Kaffe's ``"no_compression"`` also mean; ``"gzip"``, ``"snappy"``, ``"lz4"``, ``"zstd"``),
    ``min_compression_batch_size`` (1024), ``max_linger_ms`` (0), ``max_linger_count`` (0),
    ``enable_idempotence`` (automatic), ``transactional_id``, ``transaction_timeout_ms``
    (60000), plus the client keys (``endpoints``, ``ssl``, ``sasl``, ``heroku_kafka_env``,
    ``client_id``, ...).
    ``partition_buffer_limit`` counts produce calls (batch-sized parts of them) queued per
    partition; beyond it a produce call waits for room, at most until its delivery deadline.
    ``partition_onwire_limit`` is the number of batches in flight per partition; with
    idempotence (on by default with ``required_acks=-1``) up to 5 keep their order, without it
    more than 1 may reorder on retry (as in brod).

Idempotence and transactions
    See :mod:`kaffe._producer.idempotence` for how sequence errors are handled. With
    ``transactional_id``: :meth:`Producer.begin_transaction`, produce,
    :meth:`Producer.send_offsets_to_transaction`, :meth:`Producer.commit_transaction` /
    :meth:`Producer.abort_transaction`.

Large lists
    A list is converted and queued 16,384 messages at a time, so sending starts early. A
    malformed message raises :class:`TypeError` naming its index; in a list longer than that,
    earlier slices may already be queued (Kaffe also stops at the first failing partition after
    sending the others).

Too large for the broker
    A batch the broker refuses as ``MESSAGE_TOO_LARGE`` (over the topic's ``max.message.bytes``)
    is cut in two and re-sent, again and again, keeping order (and, with idempotence, sequence
    numbers), as the Java client does; a single message too large fails with
    :class:`kaffe.MessageTooLargeError` naming topic, partition and size, and the messages
    produced after it are still delivered.

Leader elections, and never hanging
    Every produce completes or raises within its delivery deadline (``delivery_timeout_ms``,
    120 s by default, as the Java client's ``delivery.timeout.ms``). Within it, a batch that
    fails retriably (the leader died or moved, ``NOT_LEADER_OR_FOLLOWER``,
    ``NOT_ENOUGH_REPLICAS``, a request timeout, a broker that cannot be reached) is re-sent to
    the new leader once metadata names it, waiting ``retry_backoff_ms`` doubled per retry up to
    ``retry_backoff_max_ms`` (jittered) in between: a leader failover costs the calls in flight
    a few seconds, not an error. ``max_retries`` (a count, Kaffe's 3) also ends the retries
    when set. The calling thread blocks; the producer's own event-loop thread never does.

No waiting for the event loop
    ``produce_async`` (and the other forms) convert the messages in the calling thread, append
    them to a thread-safe hand-off queue and return: a call costs a few microseconds and never
    waits for the producer's event-loop thread, which drains the queue in bulk. The one
    exception is back-pressure: when ``partition_buffer_limit`` produce calls already wait in
    the hand-off queue (the loop stops draining it while a partition's own queue holds
    ``partition_buffer_limit`` calls, for example when its leader is unreachable), the call
    waits for room, at most until its delivery deadline (then :class:`kaffe.KafkaTimeoutError`).
    ``produce_async(..., future=False)`` skips the per-call future (``None`` is returned):
    the cheapest way to send one message per call; failures are then raised by :meth:`flush`
    (or seen by a ``callback``).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from typing import Any

from kaffe._producer.futures import DeliveryFuture
from kaffe._producer.handoff import Handoff
from kaffe._producer.settings import PartitionStrategy, ProducerSettings
from kaffe._sync import MARGIN_S, SyncFacade
from kaffe._util import WAIT_TIMEOUTS
from kaffe.aio import producer as _aio
from kaffe.aio.producer import (
    DeliveryCallback,
    ProduceResult,
    call_items,
    checked_messages,
    checked_strategy,
    checked_topic,
    fast_item,
    resolve_form,
)
from kaffe.errors import KafkaError, KafkaTimeoutError

__all__ = ["DeliveryCallback", "ProduceResult", "Producer"]

log = logging.getLogger("kaffe.producer")


class Producer(SyncFacade):
    """Synchronous producer; the same methods as :class:`kaffe.aio.Producer`, blocking the
    calling thread only (see the module docs for forms, strategies and keys)."""

    _THREAD_NAME = "kaffe-producer"

    def __init__(self, **config: Any) -> None:
        """Take Kaffe's producer keys as keyword arguments; raises :class:`kaffe.ConfigError`.

        Nothing connects until :meth:`start` (or ``with``).
        """
        self._setup(ProducerSettings.from_mapping(config))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Producer:
        """Build from a mapping of the same keys as the keyword arguments."""
        self = cls.__new__(cls)
        self._setup(ProducerSettings.from_mapping(config))
        return self

    def _setup(self, settings: ProducerSettings) -> None:
        self.settings = settings
        self.config = settings.client
        self._aio = _aio.Producer._from_settings(settings)
        self._callbacks: concurrent.futures.ThreadPoolExecutor | None = None
        self._futures = threading.Condition()  # shared by this producer's DeliveryFutures
        self._fast: tuple[Handoff, str | None] | None = None

    def __repr__(self) -> str:
        """Endpoints and topics only (never credentials)."""
        eps = ",".join(f"{h}:{p}" for h, p in self.config.endpoints)
        return f"<kaffe.Producer endpoints={eps} topics={list(self.settings.topics)}>"

    # ------------------------------------------------------------------ lifecycle

    def _start_aio(self, timeout: float) -> Coroutine[Any, Any, Any]:
        return self._aio.start(timeout=timeout)

    def _started(self) -> None:
        # The hot path's shortcut (not for transactional producers: they check the
        # transaction state on every call).
        handoff = self._aio._handoff
        if handoff is not None and self.settings.transactional_id is None:
            self._fast = (handoff, self.config.topic_prefix or None)

    def _close_aio(self, timeout: float) -> Coroutine[Any, Any, Any]:
        return self._aio.close(timeout)

    def _close_timeout(self) -> float:
        return self.settings.delivery_timeout

    def _after_close(self) -> None:
        self._fast = None
        handoff = self._aio._handoff
        if handoff is not None:  # calls that raced with close(): failed, never dropped
            handoff.closed = True
            handoff.abandon(KafkaError("the producer was closed before these were queued"))
        pool, self._callbacks = self._callbacks, None
        if pool is not None:
            pool.shutdown(wait=True)  # callbacks of acknowledged messages still run

    def start(self, *, timeout: float | None = None) -> Producer:
        """Start the event-loop thread, connect, fetch metadata and (with idempotence) a
        producer id. Idempotent.

        Raises:
            kaffe.ConnectionError: no broker reachable.
            kaffe.KafkaTimeoutError: not done within ``timeout`` (default 30 s).
        """
        return super().start(timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        """Deliver pending messages (within ``timeout``, default the delivery deadline), fail
        whatever is left loudly, close connections and stop the thread. Idempotent."""
        super().close(timeout)

    # ------------------------------------------------------------------ producing

    def _handoff(self) -> Handoff:
        if self._loop is None:
            raise KafkaError("the producer is not started: call start() first", retriable=False)
        return self._aio._require_handoff()

    def produce_sync(self, *args: Any) -> None:
        """Produce and block until every message is acknowledged as ``required_acks`` asks.

        Forms: ``(topic, messages)``, ``(topic, partition, messages)``, ``(key, value)`` (to
        the first configured topic), ``(topic, key, value)``, ``(topic, partition, key,
        value)``. Returns ``None``.

        Raises:
            kaffe.KafkaError: a subclass naming what failed (an error code's class,
                :class:`kaffe.KafkaTimeoutError` at the delivery deadline, ...).
            TypeError: a message of the wrong shape or type.
        """
        topic, partition, messages, single = resolve_form(args, self.settings.topics)
        fut = self._hand_over(topic, partition, messages, single, None, None, raises=True)
        self._wait(fut)

    def produce(
        self,
        topic: str,
        messages: Sequence[Any],
        *,
        partition_strategy: PartitionStrategy | None = None,
    ) -> None:
        """Kaffe's ``produce(topic, messages, partition_strategy: ...)``: like
        ``produce_sync(topic, messages)`` with another partition strategy for this call."""
        strategy = checked_strategy(partition_strategy)
        fut = self._hand_over(
            checked_topic(topic),
            None,
            checked_messages(messages),
            None,
            strategy,
            None,
            raises=True,
        )
        self._wait(fut)

    def produce_async(
        self, *args: Any, callback: DeliveryCallback | None = None, future: bool = True
    ) -> concurrent.futures.Future[ProduceResult] | None:
        """Queue messages (any ``produce_sync`` form) and return a
        :class:`concurrent.futures.Future` of ``[(partition, base_offset), ...]`` (or of the
        error; it always completes, by the delivery deadline at the latest).

        Returns at once, without waiting for the producer's event loop (except for
        back-pressure, see the module docs). ``future=False`` makes no future and returns
        ``None``: the cheapest call; a failure is then raised by the next :meth:`flush`.

        ``callback(partition, base_offset)`` (brod's ``produce_cb``) runs on a callback
        thread of the producer, never on its event loop.
        """
        fast = self._fast
        if fast is not None and callback is None:
            # The per-message hot path: (topic, key, value) with bytes/str/None payloads.
            fut = DeliveryFuture(self._futures) if future else None
            item = fast_item(args, fast[1], fut)
            if item is not None:
                fast[0].put(item)
                return fut
        topic, partition, messages, single = resolve_form(args, self.settings.topics)
        return self._hand_over(
            topic, partition, messages, single, None, self._wrap(callback), want_future=future
        )

    def _hand_over(
        self,
        topic: str,
        partition: int | None,
        messages: Sequence[Any] | None,
        single: Any,
        strategy: PartitionStrategy | None,
        callback: DeliveryCallback | None,
        *,
        raises: bool = False,
        want_future: bool = True,
    ) -> concurrent.futures.Future[ProduceResult] | None:
        """Convert the messages here and append them to the hand-off queue (see the module
        docs); the loop is not waited for."""
        handoff = self._handoff()
        topic = self.config.apply_prefix(topic)
        fut = DeliveryFuture(self._futures) if want_future or raises else None
        for item in call_items(topic, partition, messages, single, strategy, fut, callback, raises):
            handoff.put(item)
        return fut

    def _wait(self, fut: concurrent.futures.Future[ProduceResult] | None) -> None:
        assert fut is not None
        timeout = self.settings.delivery_timeout + MARGIN_S
        try:
            fut.result(timeout)
        except WAIT_TIMEOUTS:
            if fut.done():  # the call failed with a timeout error of its own: keep it
                raise
            raise KafkaTimeoutError(
                f"produce not acknowledged within {timeout:.1f} s (the delivery deadline)"
            ) from None
        except concurrent.futures.CancelledError:
            raise KafkaError("the produce call was cancelled: the producer is closing") from None

    def _wrap(self, callback: DeliveryCallback | None) -> DeliveryCallback | None:
        if callback is None:
            return None
        if self._callbacks is None:
            self._callbacks = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="kaffe-producer-cb"
            )
        pool = self._callbacks

        def on_loop(partition: int, offset: int) -> None:
            pool.submit(_call, callback, partition, offset)

        return on_loop

    def flush(self, timeout: float | None = None) -> None:
        """Send everything queued and wait until every produce call made so far completed.

        Raises:
            kaffe.KafkaError: the first error of any produce call that failed since the last
                ``flush``.
            kaffe.KafkaTimeoutError: not done within ``timeout``.
        """
        wait = self.settings.delivery_timeout if timeout is None else timeout
        self._call(self._aio.flush(wait), wait)

    # ------------------------------------------------------------------ transactions

    def _txn_timeout(self, timeout: float | None) -> float:
        return self.settings.delivery_timeout if timeout is None else timeout

    def begin_transaction(self) -> None:
        """Start a transaction (needs ``transactional_id``)."""
        self._call(self._aio.begin_transaction(), self.settings.delivery_timeout)

    def send_offsets_to_transaction(
        self,
        offsets: Mapping[tuple[str, int], int] | Iterable[tuple[str, int, int]],
        group_id: str,
        *,
        timeout: float | None = None,
    ) -> None:
        """Commit ``offsets`` (``{(topic, partition): next_offset}``) for consumer group
        ``group_id`` as part of the transaction."""
        self._call(
            self._aio.send_offsets_to_transaction(offsets, group_id, timeout=timeout),
            2 * self._txn_timeout(timeout),
        )

    def commit_transaction(self, *, timeout: float | None = None) -> None:
        """Deliver everything produced in the transaction, then commit it (raises, committing
        nothing, if any of its messages failed; then call :meth:`abort_transaction`)."""
        self._call(self._aio.commit_transaction(timeout=timeout), 2 * self._txn_timeout(timeout))

    def abort_transaction(self, *, timeout: float | None = None) -> None:
        """Abort the transaction: its messages stay invisible to ``read_committed`` readers."""
        self._call(self._aio.abort_transaction(timeout=timeout), 2 * self._txn_timeout(timeout))


def _call(callback: DeliveryCallback, partition: int, offset: int) -> None:
    try:
        callback(partition, offset)
    except Exception:
        log.exception("produce callback %r raised", callback)
