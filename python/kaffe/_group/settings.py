"""The group consumers' configuration keys (Kaffe's names and defaults, brod's group options).

:data:`CONSUMER_KEYS` lists them; :meth:`ConsumerSettings.from_mapping` parses and validates
them, in one place, into the engine's :class:`GroupSettings` and the fetcher's
:class:`~kaffe._fetch.fetcher.FetchSettings`. :class:`GroupConfig` adds the handler wiring every
consumer shares (it gives the engine a :class:`~kaffe._group.handler.GroupHandler` from
:mod:`kaffe._group.delivery`); the public consumers (:mod:`kaffe.group_member`,
:mod:`kaffe.consumer`, :mod:`kaffe.aio.consumer`) are built on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

from kaffe._fetch.fetcher import FetchSettings
from kaffe._group.assignors import ASSIGNORS, Assignor, RoundRobinAssignor
from kaffe._group.delivery import BatchHandler, PartitionCallback
from kaffe._group.handler import GroupHandler
from kaffe._group.offsets import CommitTracker
from kaffe.config import (
    CLIENT_KEYS,
    REQUIRED,
    ClientConfig,
    ConfigKey,
    KeyTable,
    bad,
    boolean,
    number,
    one_of,
    text,
)
from kaffe.errors import ConfigError

__all__ = [
    "CONSUMER_KEYS",
    "ConsumerSettings",
    "GroupConfig",
    "GroupSettings",
    "WorkerStrategy",
    "parse_topics",
]

log = logging.getLogger("kaffe.group")

WorkerStrategy = Literal["worker_per_partition", "worker_per_topic_partition"]


@dataclass(frozen=True)
class GroupSettings:
    """Group options (times in seconds). ``assignors``: the assignors offered when joining, in
    order of preference (:class:`~kaffe._group.assignors.Assignor` objects)."""

    group_id: str
    topics: tuple[str, ...]
    session_timeout: float = 30.0
    rebalance_timeout: float = 30.0
    heartbeat_interval: float = 0.5
    max_rejoin_attempts: int = 5
    rejoin_delay: float = 1.0
    group_instance_id: str | None = None
    assignors: tuple[Assignor, ...] = (RoundRobinAssignor(),)
    offset_commit_interval: float = 5.0
    rebalance_delay: float = 0.0
    subscriber_retries: int = 5
    subscriber_retry_delay: float = 5.0
    client_down_retry_expire: float = 30.0
    worker_strategy: WorkerStrategy = "worker_per_partition"
    name: str = "kaffe"


def parse_topics(key: str, value: Any) -> tuple[str, ...]:
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


_ASSIGNOR_MEMBERS = ("name", "rebalance", "assign", "user_data")
_ASSIGNORS_ALLOWED = (
    f"an assignor name ({', '.join(repr(n) for n in ASSIGNORS)}; 'roundrobin_v2' is brod's "
    "name for 'roundrobin'), an object implementing kaffe.Assignor (name, rebalance, assign, "
    "user_data), or a non-empty list of them"
)


def _assignor(key: str, value: Any, item: Any) -> Assignor:
    """One entry of ``partition_assignment_strategy``: a built-in name or an assignor object."""
    if isinstance(item, str):
        factory = ASSIGNORS.get("roundrobin" if item == "roundrobin_v2" else item)
        if factory is None:
            raise bad(key, value, _ASSIGNORS_ALLOWED, why=f"{item!r} is not an assignor kaffe has")
        return factory()
    if isinstance(item, type):
        why = f"{item.__qualname__} is a class; pass an instance: {item.__qualname__}()"
        raise bad(key, value, _ASSIGNORS_ALLOWED, why=why)
    missing = [m for m in _ASSIGNOR_MEMBERS if not hasattr(item, m)]
    if missing:
        why = f"{item!r} has no {', '.join(missing)}"
        raise bad(key, value, _ASSIGNORS_ALLOWED, why=why)
    assignor = cast("Assignor", item)
    if not isinstance(assignor.name, str) or not assignor.name:
        why = f"the name of {item!r} is {assignor.name!r}, not a non-empty string"
        raise bad(key, value, _ASSIGNORS_ALLOWED, why=why)
    if assignor.rebalance not in ("eager", "cooperative"):
        why = f"the rebalance of {item!r} is {assignor.rebalance!r}, not 'eager' or 'cooperative'"
        raise bad(key, value, _ASSIGNORS_ALLOWED, why=why)
    for method in ("assign", "user_data"):
        if not callable(getattr(assignor, method)):
            raise bad(key, value, _ASSIGNORS_ALLOWED, why=f"{method} of {item!r} is not callable")
    return assignor


def parse_assignors(key: str, value: Any) -> tuple[Assignor, ...]:
    """``partition_assignment_strategy``: a name or an :class:`~kaffe._group.assignors.Assignor`,
    or a non-empty list of them, in order of preference; the assignors, one per name (a name
    given twice counts once; two different assignors may not share one)."""
    items = list(value) if isinstance(value, list | tuple) else [value]
    if not items:
        raise bad(key, value, _ASSIGNORS_ALLOWED)
    out: dict[str, Assignor] = {}
    for item in items:
        assignor = _assignor(key, value, item)
        other = out.get(assignor.name)
        if other is None:
            out[assignor.name] = assignor
        elif not isinstance(item, str) and other is not assignor:
            why = f"two assignors are named {assignor.name!r}"
            raise bad(key, value, _ASSIGNORS_ALLOWED, why=why)
    return tuple(out.values())


def _optional_text(key: str, value: Any) -> str | None:
    if value is None:
        return None
    parsed: str = text()(key, value)
    return parsed


def _int(minimum: int, unit: str = "") -> Callable[[str, Any], Any]:
    return number(minimum, integer=True, unit=unit)


CONSUMER_KEYS: KeyTable = CLIENT_KEYS.extend(
    ConfigKey("consumer_group", REQUIRED, text(), "a non-empty string"),
    ConfigKey("topics", REQUIRED, parse_topics, "a non-empty list of topic names"),
    ConfigKey("message_handler", REQUIRED, _anything, "an object with the handler method"),
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
    ConfigKey(
        "partition_assignment_strategy",
        ("roundrobin",),
        parse_assignors,
        "assignor names or kaffe.Assignor objects",
    ),
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


@dataclass(frozen=True)
class ConsumerSettings:
    """The validated configuration of a group consumer.

    Attributes:
        values: every key of :data:`CONSUMER_KEYS`, parsed, defaults filled in.
        client: the client keys (connections, security, metadata).
        group: what the group engine runs with (group id and topics with Heroku's prefix).
        fetch: what the fetcher runs with.
    """

    values: dict[str, Any]
    client: ClientConfig
    group: GroupSettings
    fetch: FetchSettings

    @classmethod
    def from_mapping(
        cls, config: Mapping[str, Any], *, component: str = "group consumer"
    ) -> ConsumerSettings:
        """Validate ``config`` (keyword arguments or a mapping) with :data:`CONSUMER_KEYS`.

        Raises:
            kaffe.ConfigError: an unknown key, a bad value, a missing required key, or a
                heartbeat rate not below the session timeout.
        """
        values = CONSUMER_KEYS.parse(config, component=component)
        for name in ("consumer_group", "topics", "message_handler"):
            if values[name] is None:
                raise ConfigError(
                    f"missing config key {name!r} for {component}; allowed: "
                    f"{CONSUMER_KEYS[name].allowed}"
                )
        if values["heartbeat_rate_seconds"] >= values["session_timeout_seconds"]:
            raise bad(
                "heartbeat_rate_seconds",
                values["heartbeat_rate_seconds"],
                "less than session_timeout_seconds",
                why=f"session_timeout_seconds is {values['session_timeout_seconds']}",
            )
        client = ClientConfig.from_parsed(values)
        prefix = client.apply_prefix
        group = GroupSettings(
            group_id=prefix(values["consumer_group"]),
            topics=tuple(prefix(t) for t in values["topics"]),
            session_timeout=float(values["session_timeout_seconds"]),
            rebalance_timeout=float(values["rebalance_timeout_seconds"]),
            heartbeat_interval=float(values["heartbeat_rate_seconds"]),
            max_rejoin_attempts=int(values["max_rejoin_attempts"]),
            rejoin_delay=float(values["rejoin_delay_seconds"]),
            group_instance_id=values["group_instance_id"],
            assignors=parse_assignors(
                "partition_assignment_strategy", values["partition_assignment_strategy"]
            ),
            offset_commit_interval=float(values["offset_commit_interval_seconds"]),
            rebalance_delay=values["rebalance_delay_ms"] / 1000.0,
            subscriber_retries=int(values["subscriber_retries"]),
            subscriber_retry_delay=values["subscriber_retry_delay_ms"] / 1000.0,
            client_down_retry_expire=values["client_down_retry_expire"] / 1000.0,
            worker_strategy=values["worker_allocation_strategy"],
            name=values["subscriber_name"] or values["consumer_group"],
        )
        fetch = FetchSettings(
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
        return cls(values=values, client=client, group=group, fetch=fetch)


class GroupConfig:
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
        settings = ConsumerSettings.from_mapping(config, component=self._KIND)
        self.values = settings.values
        self.client = settings.client
        self.name = settings.group.name
        self.handler = self._resolve_handler(settings.values["message_handler"])
        self.settings = settings.group
        self.fetch_settings = settings.fetch
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

    def _rebalance_callbacks(self) -> tuple[PartitionCallback | None, PartitionCallback | None]:
        """The user's ``(on_assigned, on_revoked)``: the keys, else the handler's methods."""
        values = self.values
        return (
            values["on_assigned"] or _method(values["message_handler"], "on_assigned"),
            values["on_revoked"] or _method(values["message_handler"], "on_revoked"),
        )

    def _group_handler(self, tracker: CommitTracker) -> GroupHandler:
        """What the engine calls (its results move ``tracker``): the batch handler."""
        on_assigned, on_revoked = self._rebalance_callbacks()
        return BatchHandler(self.handler, tracker, on_assigned, on_revoked)

    @property
    def delivery_limit(self) -> int | None:
        """With ``async_message_ack=True``: the most messages per partition that are delivered
        and outstanding at once, ``max(1, prefetch_count)``, counted from the first message not
        yet acknowledged to the last one delivered; ``None`` otherwise (no limit)."""
        if not self.values["async_message_ack"]:
            return None
        return max(1, int(self.values["prefetch_count"]))

    def list_subscribed_topics(self) -> list[str]:
        """The topics this member consumes."""
        return list(self.settings.topics)


def _method(obj: Any, name: str) -> Callable[..., Any] | None:
    fn = getattr(obj, name, None)
    return cast("Callable[..., Any]", fn) if callable(fn) else None
