"""``kaffe.GroupMemberSupervisor``: Kaffe's batch consumer, on kaffe's consumer-group engine.

The group engine (:mod:`kaffe._group.engine`) runs on a private event-loop thread; handlers run
in worker threads. Every Kaffe consumer key is accepted with Kaffe's default, plus brod's group
options; see :data:`CONSUMER_KEYS`.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, ClassVar, cast

from kaffe._fetch.fetcher import FetchSettings
from kaffe._group.assignors import ASSIGNORS
from kaffe._group.engine import GroupEngine, GroupSettings, TopicPartition
from kaffe._group.offsets import AckTracker
from kaffe._loop import LoopThread
from kaffe.config import (
    CLIENT_KEYS,
    ClientConfig,
    ConfigKey,
    KeyTable,
    bad,
    boolean,
    number,
    one_of,
    text,
)
from kaffe.errors import ConfigError, KafkaError
from kaffe.message import Message

__all__ = ["CONSUMER_KEYS", "GroupMemberSupervisor"]

log = logging.getLogger("kaffe.group")

_REQUIRED: Any = object()


def _topics(key: str, value: Any) -> tuple[str, ...]:
    allowed = "a non-empty list of topic names (str)"
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise bad(key, value, allowed)
    for t in value:
        if not isinstance(t, str) or not t:
            raise bad(key, value, allowed, why=f"{t!r} is not a topic name")
    return tuple(dict.fromkeys(value))


def _anything(key: str, value: Any) -> Any:
    return value


def _callable_or_none(key: str, value: Any) -> Any:
    if value is not None and not callable(value):
        raise bad(key, value, "a callable taking a list of (topic, partition) pairs, or None")
    return value


def _assignors(key: str, value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    allowed = f"one of {sorted(ASSIGNORS)} (or 'roundrobin_v2', brod's name), or a list of them"
    if not isinstance(names, list | tuple) or not names:
        raise bad(key, value, allowed)
    out: list[str] = []
    for n in names:
        n = "roundrobin" if n == "roundrobin_v2" else n
        if n not in ASSIGNORS:
            raise bad(key, value, allowed, why=f"{n!r} is not an assignor kaffe has")
        out.append(n)
    return tuple(dict.fromkeys(out))


def _optional_text(key: str, value: Any) -> str | None:
    if value is None:
        return None
    parsed: str = text()(key, value)
    return parsed


def _int(minimum: int, unit: str = "") -> Callable[[str, Any], Any]:
    return number(minimum, integer=True, unit=unit)


CONSUMER_KEYS: KeyTable = CLIENT_KEYS.extend(
    ConfigKey("consumer_group", _REQUIRED, text(), "a non-empty string"),
    ConfigKey("topics", _REQUIRED, _topics, "a non-empty list of topic names"),
    ConfigKey("message_handler", _REQUIRED, _anything, "an object with the handler method"),
    ConfigKey("subscriber_name", None, _optional_text, "a non-empty string"),
    ConfigKey("async_message_ack", False, boolean, "True or False"),
    ConfigKey("start_with_earliest_message", False, boolean, "True or False"),
    ConfigKey(
        "offset_commit_interval_seconds", 5, number(0, inclusive=False, unit="seconds"), "> 0"
    ),
    ConfigKey("rebalance_delay_ms", 0, _int(0, "milliseconds"), "ms >= 0"),
    ConfigKey("max_bytes", 1_000_000, _int(1, "bytes"), "bytes >= 1"),
    ConfigKey("min_bytes", 1, _int(0, "bytes"), "bytes >= 0"),
    ConfigKey("max_wait_time", 10_000, _int(0, "milliseconds"), "ms >= 0"),
    ConfigKey("sleep_timeout", 1_000, _int(0, "milliseconds"), "ms >= 0"),
    ConfigKey("prefetch_count", 10, _int(0), "an int >= 0"),
    ConfigKey("prefetch_bytes", 102_400, _int(0, "bytes"), "bytes >= 0"),
    ConfigKey("subscriber_retries", 5, _int(0), "an int >= 0"),
    ConfigKey("subscriber_retry_delay_ms", 5_000, _int(0, "milliseconds"), "ms >= 0"),
    ConfigKey("client_down_retry_expire", 30_000, _int(0, "milliseconds"), "ms >= 0"),
    ConfigKey(
        "offset_reset_policy",
        "reset_by_subscriber",
        one_of("reset_by_subscriber", "reset_to_earliest", "reset_to_latest"),
        "'reset_by_subscriber' | 'reset_to_earliest' | 'reset_to_latest'",
    ),
    ConfigKey(
        "worker_allocation_strategy",
        "worker_per_partition",
        one_of("worker_per_partition", "worker_per_topic_partition"),
        "'worker_per_partition' | 'worker_per_topic_partition'",
    ),
    ConfigKey(
        "isolation_level",
        "read_committed",
        one_of("read_committed", "read_uncommitted"),
        "'read_committed' | 'read_uncommitted'",
    ),
    ConfigKey("session_timeout_seconds", 30, number(0, inclusive=False, unit="seconds"), "> 0"),
    ConfigKey("rebalance_timeout_seconds", 30, number(0, inclusive=False, unit="seconds"), "> 0"),
    ConfigKey("heartbeat_rate_seconds", 0.5, number(0, inclusive=False, unit="seconds"), "> 0"),
    ConfigKey("max_rejoin_attempts", 5, _int(0), "an int >= 0"),
    ConfigKey("rejoin_delay_seconds", 1, number(0, unit="seconds"), ">= 0"),
    ConfigKey("offset_retention_seconds", -1, _int(-1, "seconds"), "-1 or seconds >= 0"),
    ConfigKey("group_instance_id", None, _optional_text, "a non-empty string or None"),
    ConfigKey("partition_assignment_strategy", ("roundrobin",), _assignors, "assignor names"),
    ConfigKey("on_assigned", None, _callable_or_none, "a callable or None"),
    ConfigKey("on_revoked", None, _callable_or_none, "a callable or None"),
    ConfigKey("auto_start_producers", False, boolean, "True or False"),
)
"""Every key a group consumer accepts: the client keys, Kaffe's consumer keys and brod's group
options, with their defaults except where a live service is better served: ``min_bytes`` 1
(Kaffe: 0; fetches long-poll instead of sleeping ``sleep_timeout`` after every empty answer),
``rebalance_delay_ms`` 0 (Kaffe: 10,000) and ``heartbeat_rate_seconds`` 0.5 (brod: 5; members
learn of a rebalance within half a second). ``docs/coming-from-kaffe.md`` lists each with the
setting that restores Kaffe's value."""


class _GroupConfig:
    """Configuration and engine wiring shared by the group consumers (sync and asyncio)."""

    _KIND: ClassVar[str] = "group consumer"
    _HANDLER_METHOD: ClassVar[str] = "handle_messages"

    def __init__(self, **config: Any) -> None:
        """Take the keys of :data:`CONSUMER_KEYS` as keyword arguments."""
        self._setup(config)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Any:
        """Build from a mapping of the same keys as the keyword arguments."""
        self = cls.__new__(cls)
        self._setup(dict(config))
        return self

    def _setup(self, config: Mapping[str, Any]) -> None:
        values = CONSUMER_KEYS.parse(config, component=self._KIND)
        for name in ("consumer_group", "topics", "message_handler"):
            if values[name] is None:
                raise ConfigError(
                    f"missing config key {name!r} for {self._KIND}; allowed: "
                    f"{CONSUMER_KEYS[name].allowed}"
                )
        if values["heartbeat_rate_seconds"] >= values["session_timeout_seconds"]:
            raise bad(
                "heartbeat_rate_seconds",
                values["heartbeat_rate_seconds"],
                "less than session_timeout_seconds",
                why=f"session_timeout_seconds is {values['session_timeout_seconds']}",
            )
        self.values = values
        self.client = ClientConfig.from_parsed(values)
        prefix = self.client.apply_prefix
        group = prefix(values["consumer_group"])
        topics = tuple(prefix(t) for t in values["topics"])
        self.name = values["subscriber_name"] or values["consumer_group"]
        self.handler = self._resolve_handler(values["message_handler"])
        self.settings = GroupSettings(
            group_id=group,
            topics=topics,
            session_timeout=float(values["session_timeout_seconds"]),
            rebalance_timeout=float(values["rebalance_timeout_seconds"]),
            heartbeat_interval=float(values["heartbeat_rate_seconds"]),
            max_rejoin_attempts=int(values["max_rejoin_attempts"]),
            rejoin_delay=float(values["rejoin_delay_seconds"]),
            group_instance_id=values["group_instance_id"],
            assignors=tuple(values["partition_assignment_strategy"]),
            offset_commit_interval=float(values["offset_commit_interval_seconds"]),
            rebalance_delay=values["rebalance_delay_ms"] / 1000.0,
            subscriber_retries=int(values["subscriber_retries"]),
            subscriber_retry_delay=values["subscriber_retry_delay_ms"] / 1000.0,
            client_down_retry_expire=values["client_down_retry_expire"] / 1000.0,
            worker_strategy=values["worker_allocation_strategy"],
            name=self.name,
        )
        self.fetch_settings = FetchSettings(
            max_bytes=int(values["max_bytes"]),
            min_bytes=int(values["min_bytes"]),
            max_wait_time=values["max_wait_time"] / 1000.0,
            sleep_timeout=values["sleep_timeout"] / 1000.0,
            prefetch_count=int(values["prefetch_count"]),
            prefetch_bytes=int(values["prefetch_bytes"]),
            read_committed=values["isolation_level"] == "read_committed",
            offset_reset_policy=values["offset_reset_policy"],
            begin="earliest" if values["start_with_earliest_message"] else "latest",
        )
        self._loop: LoopThread | None = None
        self._engine: GroupEngine | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._check_mode()

    def _check_mode(self) -> None:
        if self.values["async_message_ack"]:
            raise bad(
                "async_message_ack",
                True,
                "False for GroupMemberSupervisor (async acks are kaffe.Consumer's)",
            )

    def _resolve_handler(self, handler: Any) -> Callable[..., Any]:
        method = getattr(handler, self._HANDLER_METHOD, None)
        if callable(method):
            return cast("Callable[..., Any]", method)
        if callable(handler):
            return cast("Callable[..., Any]", handler)
        raise bad(
            "message_handler",
            handler,
            f"an object or module with a {self._HANDLER_METHOD}() method, or a callable",
        )

    def __repr__(self) -> str:
        """Name, group and topics."""
        return (
            f"<kaffe.{type(self).__name__} {self.name!r} group={self.settings.group_id!r} "
            f"topics={list(self.settings.topics)}>"
        )

    # ------------------------------------------------------------------ engine wiring

    def _engine_kwargs(self) -> dict[str, Any]:
        handler = self.handler
        values = self.values

        def job(messages: list[Message]) -> Any:
            return handler(messages)

        def on_result(tp: TopicPartition, messages: list[Message], result: Any) -> None:
            engine = self._engine
            assert engine is not None
            engine.tracker.batch_done(tp, messages[0].offset, messages[-1].offset, result)

        user_assigned = values["on_assigned"] or _method(values["message_handler"], "on_assigned")
        user_revoked = values["on_revoked"] or _method(values["message_handler"], "on_revoked")
        return {
            "job": job,
            "on_result": on_result,
            "on_assigned": user_assigned,
            "on_revoked": user_revoked,
            "delivery_gate": self._delivery_gate,
        }

    @property
    def delivery_limit(self) -> int | None:
        """With ``async_message_ack=True``: the most messages per partition that are delivered
        and outstanding at once, ``max(1, prefetch_count)``, counted from the first message not
        yet acknowledged to the last one delivered; ``None`` otherwise (no limit)."""
        if not self.values["async_message_ack"]:
            return None
        return max(1, int(self.values["prefetch_count"]))

    def _delivery_gate(self, tp: TopicPartition) -> AckTracker | None:
        """The engine asks for ``tp``'s gate when the partition starts: the async-ack
        consumer's tracker of that partition, limited to :attr:`delivery_limit`."""
        limit = self.delivery_limit
        acks: dict[TopicPartition, AckTracker] | None = getattr(self, "_acks", None)
        if limit is None or acks is None:
            return None
        tracker = acks.get(tp)
        if tracker is not None:
            tracker.set_limit(limit)
        return tracker

    def list_subscribed_topics(self) -> list[str]:
        """The topics this member consumes."""
        return list(self.settings.topics)

    @property
    def failure(self) -> BaseException | None:
        """The error that stopped the member, if one did."""
        return self._engine.failure if self._engine is not None else None


class _GroupClient(_GroupConfig):
    """Lifecycle shared by :class:`GroupMemberSupervisor` and :class:`kaffe.Consumer`."""

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float | None = None) -> Any:
        """Connect and join the group in the background; returns ``self``.

        Waits until the cluster answered (retrying with exponential backoff for up to
        ``client_down_retry_expire``), then returns; partitions are assigned as the group
        settles. Raises :class:`kaffe.ConnectionError` if the cluster cannot be reached.
        """
        with self._lock:
            if self._loop is not None:
                return self
            loop = LoopThread(name=f"kaffe-{self.name}")
            engine_kwargs = self._engine_kwargs()

            async def make() -> GroupEngine:
                engine = GroupEngine(
                    self.client, self.settings, self.fetch_settings, **engine_kwargs
                )
                self._engine = engine
                await engine.start()
                return engine

            wait = self.settings.client_down_retry_expire + self.client.metadata_timeout + 15.0
            try:
                loop.run(make(), timeout if timeout is not None else wait)
            except BaseException:
                self._engine = None
                loop.stop(5.0)
                raise
            self._loop = loop
            self._stopped.clear()
            log.info("%r started", self)
            return self

    def stop(self, timeout: float | None = None) -> None:
        """Finish the running batches (up to the rebalance timeout), commit, leave the group,
        close the connections and stop the threads. Idempotent."""
        with self._lock:
            loop, engine = self._loop, self._engine
            self._loop = None
            if loop is None or engine is None:
                self._stopped.set()
                return
            limit = timeout if timeout is not None else self.settings.rebalance_timeout + 30.0
            try:
                loop.run(engine.stop(), limit)
            except KafkaError as exc:
                log.warning("%r: stopping: %s", self, exc)
            finally:
                try:
                    loop.run(engine.stop_workers(5.0), 15.0)
                except KafkaError as exc:
                    log.warning("%r: stopping the workers: %s", self, exc)
                loop.stop(5.0)
                self._stopped.set()
            log.info("%r stopped", self)

    close = stop

    def __enter__(self) -> Any:
        """Start and return ``self``."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        self.stop()

    def run(self) -> None:
        """Start and block until :meth:`stop` is called from another thread, SIGINT/SIGTERM
        arrives (when called from the main thread) or the member fails (then its error is
        raised)."""
        self.start()
        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():

            def handle(signum: int, frame: Any) -> None:
                log.info("%r: signal %d, stopping", self, signum)
                threading.Thread(target=self.stop, daemon=True).start()

            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, handle)
        try:
            while not self._stopped.wait(0.2):
                engine = self._engine
                if engine is not None and engine.failure is not None:
                    break
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
            failure = self._engine.failure if self._engine is not None else None
            self.stop()
        if failure is not None:
            raise failure

    # ------------------------------------------------------------------ run-time control

    def _call(self, fn: Callable[[GroupEngine], Any]) -> Any:
        loop, engine = self._loop, self._engine
        if loop is None or engine is None:
            raise KafkaError(f"{self!r} is not running; call start() first")

        async def call() -> Any:
            return fn(engine)

        return loop.run(call(), 10.0)

    def subscribe_to_topics(self, topics: Sequence[str]) -> list[str]:
        """Also consume ``topics`` (the group rebalances); returns the topics that were new."""
        names = _topics("topics", list(topics))
        names = tuple(self.client.apply_prefix(t) for t in names)
        new = [t for t in names if t not in self.settings.topics]
        self.settings = _replace_topics(self.settings, (*self.settings.topics, *new))
        if self._engine is None or self._loop is None:
            return new  # taken at the next start()
        new_topics: list[str] = self._call(lambda e: e.subscribe(names))
        return new_topics

    def assignment(self) -> list[tuple[str, int]]:
        """The ``(topic, partition)`` pairs this member consumes right now."""
        if self._engine is None or self._loop is None:
            return []
        parts: list[tuple[str, int]] = self._call(lambda e: e.assignment())
        return parts

    def lags(self) -> dict[tuple[str, int], int | None]:
        """Per assigned partition: messages between the fetch position and the high watermark
        (``None`` while unknown)."""
        if self._engine is None or self._loop is None:
            return {}
        lags: dict[tuple[str, int], int | None] = self._call(lambda e: e.lags())
        return lags

    def commit(self, timeout: float = 30.0) -> dict[tuple[str, int], int]:
        """Commit now the offsets the handlers' results allow; returns what was committed."""
        loop, engine = self._loop, self._engine
        if loop is None or engine is None:
            return {}
        done: dict[tuple[str, int], int] = loop.run(engine.commit(), timeout)
        return done

    @property
    def running(self) -> bool:
        """Whether the member was started and not stopped."""
        return self._loop is not None and self.failure is None


def _method(obj: Any, name: str) -> Callable[..., Any] | None:
    fn = getattr(obj, name, None)
    return cast("Callable[..., Any]", fn) if callable(fn) else None


def _replace_topics(settings: GroupSettings, topics: tuple[str, ...]) -> GroupSettings:
    return replace(settings, topics=topics)


class GroupMemberSupervisor(_GroupClient):
    """Kaffe's batch consumer: ``message_handler.handle_messages(messages)`` per partition.

    ``messages`` is a list of :class:`kaffe.Message`, all from one partition, in offset order.
    The return value decides the commit: ``None``/:data:`kaffe.OK` commit the offset after the
    last message; :data:`kaffe.NO_COMMIT` commits nothing; :func:`kaffe.commit_offset` ``(n)``
    commits ``n``. In all three the worker goes on with the next messages. An exception commits
    nothing and the batch is delivered again after ``subscriber_retry_delay_ms``; it is never
    skipped.

    ``message_handler`` may also define ``on_assigned(partitions)`` and
    ``on_revoked(partitions)`` (lists of ``(topic, partition)``); the ``on_assigned`` /
    ``on_revoked`` keys take plain callables. They run in a worker thread, never on the event
    loop; ``on_revoked`` runs after the partitions' last batches finished and their offsets
    were committed.

    Keys: see :data:`kaffe.group_member.CONSUMER_KEYS` (Kaffe's names and defaults, brod's group
    options). ``start()``/``stop()``, ``with``, or ``run()`` (blocks; SIGINT/SIGTERM stop it).
    """

    _KIND = "GroupMemberSupervisor"
    _HANDLER_METHOD = "handle_messages"
