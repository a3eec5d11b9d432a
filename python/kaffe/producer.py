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
    ``partition_onwire_limit`` (1), ``max_batch_size`` (1 MiB), ``max_retries`` (3),
    ``retry_backoff_ms`` (500), ``compression`` (``"none"``; gzip, snappy, lz4, zstd),
    ``min_compression_batch_size`` (1024), ``max_linger_ms`` (0), ``max_linger_count`` (0),
    ``enable_idempotence`` (automatic), ``transactional_id``, ``delivery_timeout_ms``, plus the
    client keys (``endpoints``, ``ssl``, ``sasl``, ``heroku_kafka_env``, ``client_id``, ...).
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

Never hangs
    Every produce completes or raises within its delivery deadline (``delivery_timeout_ms``, by
    default derived from ``ack_timeout``, ``max_retries`` and ``retry_backoff_ms``). The calling
    thread blocks; the producer's own event-loop thread never does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import time
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from kaffe._loop import LoopThread
from kaffe._producer.messages import normalize, now_ms
from kaffe._producer.settings import PartitionStrategy, ProducerSettings
from kaffe.aio import producer as _aio
from kaffe.aio.producer import (
    SLICE,
    DeliveryCallback,
    ProduceResult,
    checked_messages,
    checked_strategy,
    checked_topic,
    combine,
    resolve_form,
)
from kaffe.errors import KafkaError

__all__ = ["DeliveryCallback", "ProduceResult", "Producer"]

log = logging.getLogger("kaffe.producer")

T = TypeVar("T")
_MARGIN_S = 10.0
_START_TIMEOUT_S = 30.0


class Producer:
    """Synchronous producer; the same methods as :class:`kaffe.aio.Producer`, blocking the
    calling thread only (see the module docs for forms, strategies and keys)."""

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
        self._loop: LoopThread | None = None
        self._callbacks: concurrent.futures.ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        """Endpoints and topics only (never credentials)."""
        eps = ",".join(f"{h}:{p}" for h, p in self.config.endpoints)
        return f"<kaffe.Producer endpoints={eps} topics={list(self.settings.topics)}>"

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        loop = self._loop
        if loop is None:
            coro.close()
            raise KafkaError("the producer is not started: call start() first", retriable=False)
        limit = self.settings.delivery_timeout + _MARGIN_S if timeout is None else timeout
        return loop.run(coro, limit)

    # ------------------------------------------------------------------ lifecycle

    def start(self, *, timeout: float | None = None) -> Producer:
        """Start the event-loop thread, connect, fetch metadata and (with idempotence) a
        producer id. Idempotent.

        Raises:
            kaffe.ConnectionError: no broker reachable.
            kaffe.KafkaTimeoutError: not done within ``timeout`` (default 30 s).
        """
        if self._loop is None:
            self._loop = LoopThread(name="kaffe-producer")
        wait = _START_TIMEOUT_S if timeout is None else timeout
        try:
            self._run(self._aio.start(timeout=wait), wait + _MARGIN_S)
        except BaseException:
            self._stop_loop()
            raise
        return self

    def close(self, timeout: float | None = None) -> None:
        """Deliver pending messages (within ``timeout``, default the delivery deadline), fail
        whatever is left loudly, close connections and stop the thread. Idempotent."""
        loop = self._loop
        if loop is not None and loop.running:
            wait = self.settings.delivery_timeout if timeout is None else timeout
            try:
                loop.run(self._aio.close(wait), wait + _MARGIN_S)
            finally:
                self._stop_loop()

    def _stop_loop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.stop()
        pool, self._callbacks = self._callbacks, None
        if pool is not None:
            pool.shutdown(wait=True)  # callbacks of acknowledged messages still run

    def stop(self, timeout: float | None = None) -> None:
        """The same as :meth:`close` (Kaffe's name)."""
        self.close(timeout)

    def __enter__(self) -> Producer:
        """Start and return the producer."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the producer."""
        self.close()

    # ------------------------------------------------------------------ producing

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
        fut = self._queue(topic, partition, messages if messages is not None else [single], None)
        self._run(self._aio._wait(fut))

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
        fut = self._queue(checked_topic(topic), None, checked_messages(messages), strategy)
        self._run(self._aio._wait(fut))

    def _queue(
        self,
        topic: str,
        partition: int | None,
        messages: Sequence[Any],
        strategy: PartitionStrategy | None,
        callback: DeliveryCallback | None = None,
    ) -> asyncio.Future[ProduceResult]:
        """Normalise ``messages`` here (in the caller's thread), slice by slice, and queue each
        slice on the loop as soon as it is ready; the future of all their results."""
        ts = now_ms()
        futures: list[asyncio.Future[ProduceResult]] = []
        for start in range(0, max(len(messages), 1), SLICE):
            records, sizes = normalize(messages[start : start + SLICE], ts, start)
            futures.append(
                self._run(self._aio._submit(topic, partition, records, sizes, strategy, callback))
            )
        if len(futures) == 1:
            return futures[0]

        async def combined() -> asyncio.Future[ProduceResult]:
            return combine(futures)

        return self._run(combined())

    def produce_async(
        self, *args: Any, callback: DeliveryCallback | None = None
    ) -> concurrent.futures.Future[ProduceResult]:
        """Queue messages (any ``produce_sync`` form) and return a
        :class:`concurrent.futures.Future` of ``[(partition, base_offset), ...]`` (or of the
        error; it always completes, by the delivery deadline at the latest).

        ``callback(partition, base_offset)`` (brod's ``produce_cb``) runs on a callback
        thread of the producer, never on its event loop.
        """
        topic, partition, messages, single = resolve_form(args, self.settings.topics)
        cb = self._wrap(callback)
        out: concurrent.futures.Future[ProduceResult] = concurrent.futures.Future()
        # Queued on the loop before returning (this is where partition_buffer_limit pushes
        # back), so flush() and close() see the messages.
        fut = self._queue(
            topic, partition, messages if messages is not None else [single], None, cb
        )

        async def link() -> None:
            fut.add_done_callback(functools.partial(_settle, out))

        self._run(link())
        return out

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
        deadline = time.monotonic() + wait
        self._run(self._aio.flush(max(0.0, deadline - time.monotonic())), wait + _MARGIN_S)

    # ------------------------------------------------------------------ transactions

    def begin_transaction(self) -> None:
        """Start a transaction (needs ``transactional_id``)."""
        self._run(self._aio.begin_transaction())

    def send_offsets_to_transaction(
        self,
        offsets: Mapping[tuple[str, int], int] | Iterable[tuple[str, int, int]],
        group_id: str,
        *,
        timeout: float | None = None,
    ) -> None:
        """Commit ``offsets`` (``{(topic, partition): next_offset}``) for consumer group
        ``group_id`` as part of the transaction."""
        self._run(self._aio.send_offsets_to_transaction(offsets, group_id, timeout=timeout))

    def commit_transaction(self, *, timeout: float | None = None) -> None:
        """Deliver everything produced in the transaction, then commit it (raises, committing
        nothing, if any of its messages failed; then call :meth:`abort_transaction`)."""
        self._run(self._aio.commit_transaction(timeout=timeout))

    def abort_transaction(self, *, timeout: float | None = None) -> None:
        """Abort the transaction: its messages stay invisible to ``read_committed`` readers."""
        self._run(self._aio.abort_transaction(timeout=timeout))


def _call(callback: DeliveryCallback, partition: int, offset: int) -> None:
    try:
        callback(partition, offset)
    except Exception:
        log.exception("produce callback %r raised", callback)


def _noop() -> None:
    return None


def _settle(
    out: concurrent.futures.Future[ProduceResult], fut: asyncio.Future[ProduceResult]
) -> None:
    """Copy an asyncio future's outcome into a concurrent one (runs on the loop)."""
    if fut.cancelled():
        out.set_exception(KafkaError("the produce call was cancelled: the producer is closing"))
    elif fut.exception() is not None:
        out.set_exception(fut.exception())
    else:
        out.set_result(fut.result())
