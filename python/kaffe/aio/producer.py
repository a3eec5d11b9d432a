"""kaffe's asyncio producer: Kaffe's ``produce_sync`` forms and ``produce`` as coroutines.

::

    async with kaffe.aio.Producer(endpoints=[("127.0.0.1", 9092)], topics=["orders"]) as p:
        await p.produce_sync("orders", [("k1", "v1"), (b"k2", b"v2")])   # topic, message list
        await p.produce_sync("orders", 2, [("k", "v")])                   # topic, partition, list
        await p.produce_sync("k", "v")                                    # key, value -> topics[0]
        await p.produce_sync("orders", "k", "v")                          # topic, key, value
        await p.produce_sync("orders", 2, "k", "v")                       # topic, partition, k, v
        await p.produce("orders", [("k", "v")], partition_strategy="random")
        fut = await p.produce_async("orders", [("k", "v")], callback=print)
        results = await fut                                  # [(partition, base_offset), ...]

Messages, partition strategies and configuration keys are described in :mod:`kaffe.producer`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from kaffe._cluster.client import Cluster
from kaffe._producer.futures import DeliveryFuture
from kaffe._producer.handoff import LIST, SINGLE, Call, Handoff, ProduceResult, Sink, SinkLike
from kaffe._producer.messages import normalize, now_ms, payload
from kaffe._producer.sender import Engine
from kaffe._producer.settings import PartitionStrategy, ProducerSettings, parse_strategy
from kaffe._producer.transactions import TransactionManager
from kaffe._util import WAIT_TIMEOUTS
from kaffe.errors import KafkaError, KafkaTimeoutError

__all__ = [
    "SLICE",
    "DeliveryCallback",
    "ProduceResult",
    "Producer",
    "call_items",
    "fast_item",
    "list_items",
    "resolve_form",
    "single_item",
]

log = logging.getLogger("kaffe.producer")

DeliveryCallback = Callable[[int, int], Any]
"""brod's ``produce_cb`` shape: ``callback(partition, base_offset)``, called once per entry of
the :data:`ProduceResult` when it is acknowledged."""

SLICE = 16384
"""Messages normalised and queued at a time by one produce call."""

_START_TIMEOUT_S = 30.0
_MARGIN_S = 5.0
_NO_HEADERS: tuple[()] = ()


def resolve_form(
    args: Sequence[Any], topics: Sequence[str]
) -> tuple[str, int | None, list[Any] | None, Any]:
    """Kaffe's five ``produce_sync`` forms to ``(topic, partition, messages, single)``: either
    ``messages`` (a list) or ``single`` (one ``(key, value)`` message) is set.

    ``(topic, [msgs])``, ``(topic, partition, [msgs])``, ``(key, value)`` (to the first
    configured topic), ``(topic, key, value)`` and ``(topic, partition, key, value)``.
    """
    n = len(args)
    if n == 2 and isinstance(args[1], list | tuple) and isinstance(args[0], str):
        return checked_topic(args[0]), None, list(args[1]), None
    if n == 2:
        if not topics:
            raise TypeError(
                "produce_sync(key, value) sends to the first configured topic, but the producer "
                "has no 'topics'"
            )
        return topics[0], None, None, (args[0], args[1])
    if n == 3 and _is_partition(args[1]) and isinstance(args[2], list | tuple):
        return checked_topic(args[0]), args[1], list(args[2]), None
    if n == 3:
        return checked_topic(args[0]), None, None, (args[1], args[2])
    if n == 4:
        if not _is_partition(args[1]):
            raise TypeError(
                f"produce_sync(topic, partition, key, value): bad partition {args[1]!r}"
            )
        return checked_topic(args[0]), args[1], None, (args[2], args[3])
    raise TypeError(
        "produce_sync takes (topic, messages), (topic, partition, messages), (key, value), "
        f"(topic, key, value) or (topic, partition, key, value); got {n} argument(s)"
    )


def checked_topic(value: Any) -> str:
    """``value`` if it is a non-empty ``str``; else ``TypeError``."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"topic must be a non-empty str, not {value!r}")
    return value


def _is_partition(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    if value < 0:
        raise ValueError(f"partition must be >= 0, not {value}")
    return True


_PAYLOAD_TYPES = (bytes, str, type(None))


def _bytes(value: bytes | str | None) -> bytes | None:
    if type(value) is str:
        return value.encode()
    return value  # type: ignore[return-value]


def fast_item(
    args: tuple[Any, ...], prefix: str | None, sink: SinkLike | None
) -> tuple[Any, ...] | None:
    """The hand-off item of the per-message hot path, ``(topic, key, value)`` with ``bytes``,
    ``str`` or ``None`` payloads, with no form resolution (``None``: another form; take the
    general path). ``prefix``: Heroku's ``KAFKA_PREFIX``, if any."""
    if (
        len(args) != 3
        or type(args[1]) not in _PAYLOAD_TYPES
        or type(args[2]) not in _PAYLOAD_TYPES
        or type(args[0]) is not str
        or not args[0]
    ):
        return None
    topic: str = args[0]
    if prefix and not topic.startswith(prefix):
        topic = prefix + topic
    return (SINGLE, topic, None, (_bytes(args[1]), _bytes(args[2]), (), now_ms()), sink)


def single_item(
    topic: str, partition: int | None, key: Any, value: Any, sink: SinkLike | None
) -> tuple[Any, ...]:
    """The hand-off item of one ``(key, value)`` message (converted here, in the caller).

    Raises:
        TypeError: a key or value that is not ``bytes``, ``str`` or ``None``.
    """
    if type(key) is not bytes and key is not None:
        key = payload("message 0: key", key)
    if type(value) is not bytes and value is not None:
        value = payload("message 0: value", value)
    return (SINGLE, topic, partition, (key, value, _NO_HEADERS, now_ms()), sink)


def call_items(
    topic: str,
    partition: int | None,
    messages: Sequence[Any] | None,
    single: Any,
    strategy: PartitionStrategy | None,
    future: Any,
    callback: DeliveryCallback | None,
    raises: bool,
) -> Iterator[tuple[Any, ...]]:
    """The hand-off items of one produce call: ``single`` (a ``(key, value)`` pair) when
    ``messages`` is ``None``, else the list's slices; ``future`` (either kind, or ``None``)
    and ``callback`` get the outcome."""
    sink: SinkLike | None
    if callback is None and not raises and type(future) is DeliveryFuture:
        sink = future  # its own sink: one object per call
    elif future is not None or callback is not None:
        sink = Sink(future, callback, raises)
    else:
        sink = None
    if messages is None:
        yield single_item(topic, partition, single[0], single[1], sink)
        return
    yield from list_items(
        topic, partition, messages, strategy, Call(sink if sink is not None else Sink(None))
    )


def list_items(
    topic: str,
    partition: int | None,
    messages: Sequence[Any],
    strategy: PartitionStrategy | None,
    call: Call,
) -> Iterator[tuple[Any, ...]]:
    """The hand-off items of a message list: one per :data:`SLICE` messages, converted here
    (in the caller) one slice at a time, so the first slices are queued (and sent) while later
    ones are still being converted. Raises :class:`TypeError` naming a malformed message."""
    ts = now_ms()
    total = len(messages)
    if total == 0:
        yield (LIST, topic, partition, [], [], strategy, call, True)
        return
    for start in range(0, total, SLICE):
        records, sizes = normalize(messages[start : start + SLICE], ts, start)
        yield (LIST, topic, partition, records, sizes, strategy, call, start + SLICE >= total)


class Producer:
    """The asyncio producer (see the module docs and :class:`kaffe.Producer`)."""

    def __init__(self, **config: Any) -> None:
        """Take Kaffe's producer keys as keyword arguments; raises :class:`kaffe.ConfigError`."""
        self._setup(ProducerSettings.from_mapping(config))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Producer:
        """Build from a mapping of the same keys as the keyword arguments."""
        self = cls.__new__(cls)
        self._setup(ProducerSettings.from_mapping(config))
        return self

    @classmethod
    def _from_settings(cls, settings: ProducerSettings) -> Producer:
        self = cls.__new__(cls)
        self._setup(settings)
        return self

    def _setup(self, settings: ProducerSettings) -> None:
        self.settings = settings
        self.config = settings.client
        self._cluster: Cluster | None = None
        self._engine: Engine | None = None
        self._txn: TransactionManager | None = None
        self._handoff: Handoff | None = None
        self._started = False
        self._closed = False
        self._start_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        """Endpoints and topics only (never credentials)."""
        eps = ",".join(f"{h}:{p}" for h, p in self.config.endpoints)
        return f"<kaffe.aio.Producer endpoints={eps} topics={list(self.settings.topics)}>"

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, timeout: float | None = None) -> Producer:
        """Connect, fetch metadata and (with idempotence) a producer id. Idempotent.

        Raises:
            kaffe.ConnectionError: no broker reachable.
            kaffe.KafkaTimeoutError: not done within ``timeout`` (default 30 s).
        """
        if self._closed:
            raise KafkaError("the producer is closed", retriable=False)
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started:
                return self
            cluster = Cluster(self.config)
            engine = Engine(self.settings, cluster)
            try:
                await engine.start(_START_TIMEOUT_S if timeout is None else timeout)
            except BaseException:
                await engine.close(0.0)
                await cluster.close()
                raise
            self._cluster, self._engine = cluster, engine
            self._handoff = Handoff(
                asyncio.get_running_loop(),
                engine,
                cluster,
                self.settings.partition_strategy,
                self.settings.partition_buffer_limit,
            )
            if self.settings.transactional_id is not None:
                self._txn = TransactionManager(engine, cluster, self.settings.transactional_id)
            self._started = True
        return self

    async def close(self, timeout: float | None = None) -> None:
        """Deliver pending messages (within ``timeout``, default their delivery deadline),
        fail whatever is left with :class:`kaffe.KafkaTimeoutError`, close connections.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        engine, cluster, handoff = self._engine, self._cluster, self._handoff
        wait = self.settings.delivery_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        if handoff is not None:
            # Everything handed over before close() goes to the engine first (then it is
            # delivered or failed by engine.close); nothing is accepted after this point.
            try:
                await handoff.barrier(max(0.0, until - loop.time()))
            except WAIT_TIMEOUTS:
                log.error("producer closed with produce calls still waiting for room")
            handoff.closed = True
            handoff.abandon(
                KafkaTimeoutError("the producer was closed before these messages were queued")
            )
        if engine is not None:
            await engine.close(max(0.0, until - loop.time()))
        if cluster is not None:
            await cluster.close()

    async def stop(self, timeout: float | None = None) -> None:
        """The same as :meth:`close` (Kaffe's name)."""
        await self.close(timeout)

    async def __aenter__(self) -> Producer:
        """Start and return the producer."""
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the producer."""
        await self.close()

    def _require(self) -> Engine:
        if self._closed:
            raise KafkaError("the producer is closed", retriable=False)
        if self._engine is None:
            raise KafkaError("the producer is not started: call start() first", retriable=False)
        return self._engine

    # ------------------------------------------------------------------ producing

    async def produce_sync(self, *args: Any) -> None:
        """Produce and wait until every message is acknowledged as ``required_acks`` asks.

        Forms: ``(topic, messages)``, ``(topic, partition, messages)``, ``(key, value)`` (to
        the first configured topic), ``(topic, key, value)``, ``(topic, partition, key,
        value)``. Returns ``None``.

        Raises:
            kaffe.KafkaError: a subclass naming what failed (an error code's class,
                :class:`kaffe.KafkaTimeoutError` at the delivery deadline, ...).
            TypeError: a message of the wrong shape or type.
        """
        topic, partition, messages, single = resolve_form(args, self.settings.topics)
        fut = await self._queue(topic, partition, messages, single, None, None, raises=True)
        assert fut is not None
        await self._wait(fut)

    async def produce(
        self,
        topic: str,
        messages: Sequence[Any],
        *,
        partition_strategy: PartitionStrategy | None = None,
    ) -> None:
        """Kaffe's ``produce(topic, messages, partition_strategy: ...)``: like
        ``produce_sync(topic, messages)`` with another partition strategy for this call."""
        strategy = checked_strategy(partition_strategy)
        fut = await self._queue(
            checked_topic(topic),
            None,
            checked_messages(messages),
            None,
            strategy,
            None,
            raises=True,
        )
        assert fut is not None
        await self._wait(fut)

    async def produce_async(
        self, *args: Any, callback: DeliveryCallback | None = None, future: bool = True
    ) -> asyncio.Future[ProduceResult] | None:
        """Queue messages (any ``produce_sync`` form) and return a future of the
        ``[(partition, base_offset), ...]`` results, or of the error.

        ``callback(partition, base_offset)`` (brod's ``produce_cb``) is called on the event
        loop for every acknowledged part. The coroutine returns as soon as the messages are
        handed over; it waits only while ``partition_buffer_limit`` calls are already waiting
        to be queued (back-pressure). With ``future=False`` no future is made and ``None`` is
        returned (the cheapest call): a failure is then raised by the next :meth:`flush`.
        """
        handoff = self._handoff
        if (
            handoff is not None
            and callback is None
            and self._txn is None
            and not self._closed
            and len(args) == 3
        ):
            fut: asyncio.Future[ProduceResult] | None = (
                handoff.loop.create_future() if future else None
            )
            item = fast_item(args, self.config.topic_prefix, None if fut is None else Sink(fut))
            if item is not None:
                await handoff.put_async(item)
                return fut
        topic, partition, messages, single = resolve_form(args, self.settings.topics)
        return await self._queue(
            topic, partition, messages, single, None, callback, want_future=future
        )

    async def _queue(
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
    ) -> asyncio.Future[ProduceResult] | None:
        """Hand ``messages`` (or the ``single`` message) over to the loop's drain."""
        handoff = self._require_handoff()
        topic = self.config.apply_prefix(topic)
        fut: asyncio.Future[ProduceResult] | None = (
            handoff.loop.create_future() if want_future or raises else None
        )
        for item in call_items(topic, partition, messages, single, strategy, fut, callback, raises):
            await handoff.put_async(item)
        return fut

    async def _wait(self, fut: asyncio.Future[ProduceResult]) -> None:
        timeout = self.settings.delivery_timeout + _MARGIN_S
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except WAIT_TIMEOUTS:
            if fut.done():  # the call failed with a timeout error of its own: keep it
                raise
            raise KafkaTimeoutError(
                f"produce not acknowledged within {timeout:.1f} s (the delivery deadline)"
            ) from None

    def _require_handoff(self) -> Handoff:
        self._require()
        if self._txn is not None and not self._txn.in_transaction:
            raise KafkaError(
                "a transactional producer produces only inside a transaction: call "
                "begin_transaction() first",
                retriable=False,
            )
        assert self._handoff is not None
        return self._handoff

    async def _barrier(self, timeout: float | None = None) -> None:
        """Wait until every call handed over so far is in the engine's queues."""
        if self._handoff is not None:
            await self._handoff.barrier(timeout)

    async def flush(self, timeout: float | None = None) -> None:
        """Send everything queued now and wait until every produce call made so far completed.

        Raises:
            kaffe.KafkaError: the first error of any produce call that failed since the last
                ``flush`` (with how many failed); nothing failed means nothing is raised.
            kaffe.KafkaTimeoutError: not done within ``timeout`` (default: the delivery
                deadline).
        """
        engine = self._require()
        wait = self.settings.delivery_timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        try:
            await self._barrier(wait)
        except WAIT_TIMEOUTS:
            raise KafkaTimeoutError(
                f"flush: produce calls still waiting to be queued after {wait:.1f} s"
            ) from None
        await engine.wait_all(max(0.0, until - loop.time()))
        failures = engine.take_failures()
        if failures:
            first = failures[0]
            if isinstance(first, KafkaError) and len(failures) == 1:
                raise first
            raise KafkaError(
                f"{len(failures)} produce call part(s) failed; first: {first}",
                retriable=False,
            ) from first

    # ------------------------------------------------------------------ transactions

    def _transactions(self) -> TransactionManager:
        self._require()
        if self._txn is None:
            raise KafkaError("transactions need the 'transactional_id' config key", retriable=False)
        return self._txn

    async def begin_transaction(self) -> None:
        """Start a transaction (needs ``transactional_id``)."""
        self._transactions().begin()

    async def send_offsets_to_transaction(
        self,
        offsets: Mapping[tuple[str, int], int] | Iterable[tuple[str, int, int]],
        group_id: str,
        *,
        timeout: float | None = None,
    ) -> None:
        """Commit ``offsets`` (``{(topic, partition): next_offset}``) for consumer group
        ``group_id`` as part of the transaction."""
        self._transactions()
        await self._barrier()
        await self._transactions().send_offsets(
            offsets,
            self.config.apply_prefix(group_id),
            self.settings.delivery_timeout if timeout is None else timeout,
        )

    async def commit_transaction(self, *, timeout: float | None = None) -> None:
        """Deliver everything produced in the transaction, then commit it.

        Raises :class:`kaffe.KafkaError` (and commits nothing) if any of its messages failed;
        then call :meth:`abort_transaction`.
        """
        self._transactions()
        await self._barrier()
        await self._transactions().end(
            True, self.settings.delivery_timeout if timeout is None else timeout
        )

    async def abort_transaction(self, *, timeout: float | None = None) -> None:
        """Abort the transaction: its messages stay invisible to ``read_committed`` readers."""
        self._transactions()
        await self._barrier()
        await self._transactions().end(
            False, self.settings.delivery_timeout if timeout is None else timeout
        )


def checked_strategy(value: Any) -> PartitionStrategy | None:
    """A per-call ``partition_strategy`` parsed (``None``: the producer's own)."""
    return None if value is None else parse_strategy("partition_strategy", value)


def checked_messages(messages: Any) -> Sequence[Any]:
    """``messages`` if it is a list or tuple; else ``TypeError``."""
    if not isinstance(messages, list | tuple):
        raise TypeError(f"messages must be a list of messages, not {type(messages).__name__}")
    return messages
