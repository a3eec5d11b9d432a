"""The asyncio admin client: topics, partitions, offsets, configs and consumer groups.

:class:`AdminClient` takes the client keys of :data:`kaffe.config.CLIENT_KEYS` (``endpoints``,
``ssl``, ``sasl``, ...). Every method has a deadline (``timeout`` seconds, default
:data:`DEFAULT_TIMEOUT`); the synchronous :class:`kaffe.AdminClient` has the same methods.

Kafka errors are raised as the named ``kaffe`` exception for their code (for example
``kaffe.errors.UnknownTopicOrPartitionError``), with a message naming the topic and partition.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, NamedTuple, TypeVar

from kaffe._cluster.client import Cluster, CoordinatorType
from kaffe._cluster.errors import (
    STALE_METADATA_ERRORS,
    error_for,
    is_retriable,
)
from kaffe._cluster.metadata import TopicInfo
from kaffe._core import decode_data
from kaffe._net.pool import ConnectionPool
from kaffe._protocol import ApiKey, ErrorCode
from kaffe._util import Deadline, backoff
from kaffe.config import ClientConfig
from kaffe.errors import (
    AuthenticationError,
    ConfigError,
    ConnectionError,
    KafkaError,
    KafkaTimeoutError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "AdminClient",
    "CommittedOffset",
    "ConfigEntry",
    "GroupDescription",
    "GroupListing",
    "GroupMember",
    "ListedOffset",
    "NewTopic",
    "PartitionDescription",
    "TopicDescription",
    "TopicPartition",
]

log = logging.getLogger("kaffe.admin")

DEFAULT_TIMEOUT = 60.0
"""Seconds an admin call may take unless its ``timeout`` says otherwise."""


EARLIEST = -2
LATEST = -1

OffsetSpec = Literal["earliest", "latest"] | int
"""``"earliest"``, ``"latest"`` or a timestamp in milliseconds."""

T = TypeVar("T")


# ---------------------------------------------------------------------------------- results


class TopicPartition(NamedTuple):
    """A topic and a partition index."""

    topic: str
    partition: int


@dataclass(frozen=True)
class NewTopic:
    """A topic to create.

    ``partitions=-1`` / ``replication_factor=-1`` take the broker's defaults (``num.partitions``,
    ``default.replication.factor``). ``configs`` are topic configs such as
    ``{"cleanup.policy": "compact"}``.
    """

    name: str
    partitions: int = 1
    replication_factor: int = -1
    configs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartitionDescription:
    """One partition of a topic: leader (``-1`` if none), leader epoch, replicas, ISR."""

    partition: int
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    offline_replicas: tuple[int, ...] = ()


@dataclass(frozen=True)
class TopicDescription:
    """A topic: name, id, whether internal, and its partitions in index order."""

    name: str
    topic_id: uuid.UUID | None
    is_internal: bool
    partitions: tuple[PartitionDescription, ...]

    @property
    def partition_count(self) -> int:
        """How many partitions the topic has."""
        return len(self.partitions)


@dataclass(frozen=True)
class ListedOffset:
    """An offset found by :meth:`AdminClient.list_offsets`.

    For a timestamp lookup, ``offset`` is the first offset whose timestamp is at or after the
    given time and ``timestamp`` that record's time; both are ``-1`` when no such record exists.
    """

    topic: str
    partition: int
    offset: int
    timestamp: int = -1
    leader_epoch: int = -1


@dataclass(frozen=True)
class ConfigEntry:
    """One config value of a topic or broker. Sensitive values are ``None`` (the broker never
    returns them)."""

    name: str
    value: str | None
    read_only: bool
    is_default: bool
    is_sensitive: bool
    source: int


@dataclass(frozen=True)
class GroupListing:
    """A group from :meth:`AdminClient.list_groups`."""

    group_id: str
    protocol_type: str
    state: str | None = None
    group_type: str | None = None


@dataclass(frozen=True)
class GroupMember:
    """A member of a group. ``assignment`` is decoded for consumer groups."""

    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    assignment: tuple[TopicPartition, ...] = ()


@dataclass(frozen=True)
class GroupDescription:
    """A group from :meth:`AdminClient.describe_groups`."""

    group_id: str
    state: str
    protocol_type: str
    protocol: str
    members: tuple[GroupMember, ...]


@dataclass(frozen=True)
class CommittedOffset:
    """A group's committed offset for one partition (``offset == -1``: nothing committed)."""

    topic: str
    partition: int
    offset: int
    metadata: str | None = None
    leader_epoch: int = -1


# ---------------------------------------------------------------------------------- helpers


def _offset_spec(spec: OffsetSpec) -> int:
    if spec == "earliest":
        return EARLIEST
    if spec == "latest":
        return LATEST
    if isinstance(spec, int) and not isinstance(spec, bool) and spec >= 0:
        return spec
    raise ConfigError(
        f"invalid offset spec {spec!r}; allowed: 'earliest', 'latest' or a timestamp in ms >= 0"
    )


def _describe(info: TopicInfo) -> TopicDescription:
    return TopicDescription(
        name=info.name,
        topic_id=uuid.UUID(bytes=info.topic_id) if info.topic_id else None,
        is_internal=info.is_internal,
        partitions=tuple(
            PartitionDescription(
                p.partition, p.leader, p.leader_epoch, p.replicas, p.isr, p.offline_replicas
            )
            for p in info.partitions.values()
        ),
    )


def _decode_assignment(protocol_type: str, raw: bytes | None) -> tuple[TopicPartition, ...]:
    if protocol_type != "consumer" or not raw or len(raw) < 2:
        return ()
    version = int.from_bytes(raw[:2], "big", signed=True)
    try:
        body = decode_data("ConsumerProtocolAssignment", min(version, 3), raw[2:])
    except (KafkaError, ValueError) as exc:
        log.debug("undecodable member assignment: %s", exc)
        return ()
    out: list[TopicPartition] = []
    for t in body.get("assigned_partitions") or ():
        out.extend(TopicPartition(str(t["topic"]), int(p)) for p in t.get("partitions") or ())
    return tuple(sorted(out))


def _first_error(errors: list[KafkaError]) -> None:
    if errors:
        raise errors[0]


# ---------------------------------------------------------------------------------- client


class AdminClient:
    """Asyncio admin client (see the module docs).

    Use it as ``async with kaffe.aio.AdminClient(endpoints=...) as admin:`` or call
    :meth:`start` and :meth:`close` yourself.
    """

    def __init__(self, **config: Any) -> None:
        """Take the client keys as keyword arguments (see :data:`kaffe.config.CLIENT_KEYS`)."""
        self._init(ClientConfig.from_mapping(config))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AdminClient:
        """Build from a mapping of the same keys as the keyword arguments."""
        self = cls.__new__(cls)
        self._init(ClientConfig.from_mapping(config))
        return self

    @classmethod
    def from_client_config(
        cls, config: ClientConfig, *, pool: ConnectionPool | None = None
    ) -> AdminClient:
        """Build from an already validated :class:`~kaffe.config.ClientConfig`."""
        self = cls.__new__(cls)
        self._init(config, pool=pool)
        return self

    def _init(self, config: ClientConfig, *, pool: ConnectionPool | None = None) -> None:
        self.config = config
        self._pool = pool
        self._cluster: Cluster | None = None
        self._start_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        """Endpoints only (never credentials)."""
        eps = ",".join(f"{h}:{p}" for h, p in self.config.endpoints)
        return f"<kaffe.aio.AdminClient endpoints={eps}>"

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, timeout: float | None = None) -> AdminClient:
        """Connect (bootstrap metadata). Called automatically by the first operation."""
        await self._ensure(Deadline(timeout or DEFAULT_TIMEOUT))
        return self

    async def _ensure(self, deadline: Deadline) -> Cluster:
        if self._cluster is not None:
            if self._cluster.closed:
                raise ConnectionError("the admin client is closed", retriable=False)
            return self._cluster
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._cluster is None:
                cluster = Cluster(self.config, pool=self._pool)
                try:
                    await cluster.bootstrap(timeout=deadline.remaining())
                except BaseException:
                    await cluster.close()
                    raise
                self._cluster = cluster
            return self._cluster

    async def close(self) -> None:
        """Close every connection. Idempotent."""
        cluster = self._cluster
        if cluster is not None:
            await cluster.close()

    async def stop(self) -> None:
        """The same as :meth:`close` (Kaffe's name)."""
        await self.close()

    async def __aenter__(self) -> AdminClient:
        """Start and return the client."""
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client."""
        await self.close()

    @property
    def cluster(self) -> Cluster:
        """The cluster layer (after :meth:`start`)."""
        if self._cluster is None:
            raise ConnectionError("the admin client is not started")
        return self._cluster

    # ------------------------------------------------------------------ plumbing

    def _deadline(self, timeout: float | None) -> Deadline:
        return Deadline(DEFAULT_TIMEOUT if timeout is None else timeout)

    async def _retry(
        self,
        what: str,
        deadline: Deadline,
        attempt_fn: Callable[[], Awaitable[T | None]],
    ) -> T:
        """Call ``attempt_fn`` until it returns non-``None``; connection failures and retriable
        Kafka errors are retried with backoff until ``deadline``."""
        attempt = 0
        last: BaseException | None = None
        while True:
            try:
                result = await attempt_fn()
                if result is not None:
                    return result
            except KafkaError as exc:
                if not exc.retriable or isinstance(exc, AuthenticationError):
                    raise  # retrying cannot help (closed client, bad credentials, ...)
                last = exc
            if deadline.expired:
                raise deadline.timeout_error(what, last)
            if self._cluster is not None:
                self._cluster.invalidate()
            await asyncio.sleep(backoff(attempt, deadline))
            attempt += 1

    async def _controller_request(
        self, api_key: int, build: Callable[[int], dict[str, Any]], deadline: Deadline, what: str
    ) -> dict[str, Any]:
        """Send to the controller (KRaft: any broker forwards), retrying on connection loss
        and ``NOT_CONTROLLER`` (checked by the caller through top-level codes)."""
        cluster = await self._ensure(deadline)

        async def attempt() -> dict[str, Any] | None:
            conn = await cluster.controller_connection(timeout=deadline.remaining())
            resp: dict[str, Any] = await conn.request(
                api_key, build(conn.api_version(api_key)), timeout=_left(deadline)
            )
            return resp

        return await self._retry(what, deadline, attempt)

    # ------------------------------------------------------------------ topics

    async def create_topics(
        self,
        topics: Iterable[NewTopic | str],
        *,
        timeout: float | None = None,
        validate_only: bool = False,
        wait_for_leaders: bool = True,
    ) -> None:
        """Create topics and (unless ``validate_only``) wait until metadata shows a leader for
        every partition, all within ``timeout`` seconds.

        A plain name creates a topic with 1 partition and the broker's replication factor.
        Raises the kaffe error for the broker's code (``TopicAlreadyExistsError``,
        ``InvalidReplicationFactorError``, ...) naming the topic.
        """
        deadline = self._deadline(timeout)
        new = [NewTopic(t) if isinstance(t, str) else t for t in topics]
        for t in new:
            if not isinstance(t, NewTopic) or not t.name:
                raise ConfigError(f"invalid topic {t!r}; allowed: a NewTopic or a topic name")
        if not new:
            return
        names = [self.config.apply_prefix(t.name) for t in new]

        def build(version: int) -> dict[str, Any]:
            return {
                "topics": [
                    {
                        "name": name,
                        "num_partitions": t.partitions,
                        "replication_factor": t.replication_factor,
                        "assignments": [],
                        "configs": [{"name": k, "value": v} for k, v in t.configs.items()],
                    }
                    for name, t in zip(names, new, strict=True)
                ],
                "timeout_ms": _ms(deadline),
                "validate_only": validate_only,
            }

        resp = await self._controller_request(
            ApiKey.CREATE_TOPICS, build, deadline, f"creating topics {names}"
        )
        errors = [
            error_for(int(r["error_code"]), f"creating topic {r['name']!r}", r.get("error_message"))
            for r in resp.get("topics") or ()
            if int(r["error_code"])
        ]
        _first_error(errors)
        if validate_only or not wait_for_leaders:
            return
        cluster = await self._ensure(deadline)
        cluster.invalidate(names)
        for name, t in zip(names, new, strict=True):
            await self._wait_for_topic(name, t.partitions, deadline)

    async def create_topic(
        self,
        name: str,
        partitions: int = 1,
        replication_factor: int = -1,
        configs: Mapping[str, str] | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        """Create one topic (see :meth:`create_topics`)."""
        await self.create_topics(
            [NewTopic(name, partitions, replication_factor, dict(configs or {}))], timeout=timeout
        )

    async def _wait_for_topic(self, name: str, partitions: int, deadline: Deadline) -> TopicInfo:
        cluster = await self._ensure(deadline)

        async def attempt() -> TopicInfo | None:
            await cluster.refresh_metadata([name], deadline=deadline, force=True)
            md = cluster.metadata
            info = md.topic(name) if md is not None else None
            if info is None or info.error_code:
                return None
            if partitions > 0 and info.partition_count < partitions:
                return None
            if not info.partitions or any(p.leader < 0 for p in info.partitions.values()):
                return None
            return info

        return await self._retry(f"waiting for leaders of topic {name!r}", deadline, attempt)

    async def delete_topics(self, names: Iterable[str], *, timeout: float | None = None) -> None:
        """Delete topics and wait (within ``timeout``) until metadata no longer lists them.

        An unknown topic raises ``UnknownTopicOrPartitionError``.
        """
        deadline = self._deadline(timeout)
        topics = [self.config.apply_prefix(n) for n in names]
        if not topics:
            return

        def build(version: int) -> dict[str, Any]:
            if version >= 6:
                return {
                    "topics": [{"name": n} for n in topics],
                    "timeout_ms": _ms(deadline),
                }
            return {"topic_names": topics, "timeout_ms": _ms(deadline)}

        resp = await self._controller_request(
            ApiKey.DELETE_TOPICS, build, deadline, f"deleting topics {topics}"
        )
        errors = [
            error_for(int(r["error_code"]), f"deleting topic {r['name']!r}", r.get("error_message"))
            for r in resp.get("responses") or ()
            if int(r["error_code"])
        ]
        _first_error(errors)
        cluster = await self._ensure(deadline)

        async def gone() -> bool | None:
            md = await cluster.refresh_metadata(topics, deadline=deadline, force=True)
            still = [n for n in topics if (t := md.topic(n)) is not None and t.error_code == 0]
            return True if not still else None

        await self._retry(f"waiting for topics {topics} to disappear", deadline, gone)
        cluster.forget_topics(topics)

    async def delete_topic(self, name: str, *, timeout: float | None = None) -> None:
        """Delete one topic (see :meth:`delete_topics`)."""
        await self.delete_topics([name], timeout=timeout)

    async def list_topics(
        self, *, include_internal: bool = False, timeout: float | None = None
    ) -> list[str]:
        """Names of the topics in the cluster, sorted."""
        deadline = self._deadline(timeout)
        cluster = await self._ensure(deadline)
        md = await self._retry(
            "listing topics",
            deadline,
            lambda: cluster.refresh_metadata(all_topics=True, deadline=deadline),
        )
        return sorted(
            name
            for name, info in md.topics.items()
            if info.error_code == 0 and (include_internal or not info.is_internal)
        )

    async def describe_topics(
        self, names: Iterable[str], *, timeout: float | None = None
    ) -> dict[str, TopicDescription]:
        """Partitions, leaders, replicas and ISR of topics (fresh metadata).

        An unknown topic raises ``UnknownTopicOrPartitionError`` naming it.
        """
        deadline = self._deadline(timeout)
        cluster = await self._ensure(deadline)
        topics = [self.config.apply_prefix(n) for n in names]
        md = await self._retry(
            "describing topics",
            deadline,
            lambda: cluster.refresh_metadata(topics, deadline=deadline, force=True),
        )
        out: dict[str, TopicDescription] = {}
        for name in topics:
            info = md.topic(name)
            if info is None:
                raise error_for(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic {name!r}")
            if info.error_code:
                raise error_for(info.error_code, f"topic {name!r}")
            out[name] = _describe(info)
        return out

    async def describe_topic(self, name: str, *, timeout: float | None = None) -> TopicDescription:
        """One topic (see :meth:`describe_topics`)."""
        topic = self.config.apply_prefix(name)
        return (await self.describe_topics([topic], timeout=timeout))[topic]

    async def partition_count(self, topic: str, *, timeout: float | None = None) -> int:
        """How many partitions ``topic`` has. Unknown topics raise
        ``UnknownTopicOrPartitionError``."""
        deadline = self._deadline(timeout)
        cluster = await self._ensure(deadline)
        return await cluster.partition_count(
            self.config.apply_prefix(topic), timeout=deadline.remaining()
        )

    async def create_partitions(
        self, topic: str, total_count: int, *, timeout: float | None = None
    ) -> None:
        """Grow ``topic`` to ``total_count`` partitions and wait until metadata shows them with
        leaders. Shrinking is not possible in Kafka (``InvalidPartitionsError``)."""
        deadline = self._deadline(timeout)
        name = self.config.apply_prefix(topic)
        if isinstance(total_count, bool) or not isinstance(total_count, int) or total_count < 1:
            raise ConfigError(f"invalid partition count {total_count!r}; allowed: an int >= 1")

        def build(version: int) -> dict[str, Any]:
            return {
                "topics": [{"name": name, "count": total_count, "assignments": None}],
                "timeout_ms": _ms(deadline),
                "validate_only": False,
            }

        resp = await self._controller_request(
            ApiKey.CREATE_PARTITIONS, build, deadline, f"adding partitions to {name!r}"
        )
        errors = [
            error_for(
                int(r["error_code"]),
                f"growing topic {r['name']!r} to {total_count} partitions",
                r.get("error_message"),
            )
            for r in resp.get("results") or ()
            if int(r["error_code"])
        ]
        _first_error(errors)
        await self._wait_for_topic(name, total_count, deadline)

    # ------------------------------------------------------------------ offsets

    async def list_offsets(
        self,
        topic: str,
        partitions: Iterable[int] | None = None,
        spec: OffsetSpec = "latest",
        *,
        timeout: float | None = None,
    ) -> dict[int, ListedOffset]:
        """Offsets of partitions of ``topic`` (all partitions when ``partitions`` is ``None``):
        ``"earliest"``, ``"latest"`` (the next offset to be written) or the first offset at or
        after a timestamp in ms. Each request goes to the partition's leader; stale leaders are
        refreshed and retried until the deadline."""
        deadline = self._deadline(timeout)
        ts = _offset_spec(spec)
        name = self.config.apply_prefix(topic)
        cluster = await self._ensure(deadline)
        if partitions is None:
            count = await cluster.partition_count(name, timeout=deadline.remaining())
            wanted = list(range(count))
        else:
            wanted = sorted(set(partitions))

        def body(version: int, parts: list[int]) -> dict[str, Any]:
            return {
                "replica_id": -1,
                "isolation_level": 0,
                "topics": [
                    {
                        "name": name,
                        "partitions": [
                            {"partition_index": p, "current_leader_epoch": -1, "timestamp": ts}
                            for p in parts
                        ],
                    }
                ],
                "timeout_ms": _ms(deadline),
            }

        def parse(resp: dict[str, Any]) -> dict[int, tuple[int, Any]]:
            out: dict[int, tuple[int, Any]] = {}
            for t in resp.get("topics") or ():
                for p in t.get("partitions") or ():
                    out[int(p["partition_index"])] = (int(p["error_code"]), p)
            return out

        raw = await self._to_leaders(name, wanted, ApiKey.LIST_OFFSETS, body, parse, deadline)
        return {
            p: ListedOffset(
                topic=name,
                partition=p,
                offset=int(r.get("offset", -1)),
                timestamp=int(r.get("timestamp", -1)),
                leader_epoch=int(r.get("leader_epoch", -1)),
            )
            for p, r in sorted(raw.items())
        }

    async def _to_leaders(
        self,
        topic: str,
        partitions: list[int],
        api_key: int,
        body: Callable[[int, list[int]], dict[str, Any]],
        parse: Callable[[dict[str, Any]], dict[int, tuple[int, Any]]],
        deadline: Deadline,
    ) -> dict[int, Any]:
        """Send per-partition requests grouped by leader; retry partitions whose answer (or
        connection) says the leader moved, with fresh metadata, until the deadline."""
        cluster = await self._ensure(deadline)
        done: dict[int, Any] = {}
        todo = list(partitions)
        attempt = 0
        last: BaseException | None = None
        while todo:
            by_leader: dict[int, list[int]] = {}
            for p in todo:
                broker = await cluster.leader_for(topic, p, timeout=deadline.remaining())
                by_leader.setdefault(broker.node_id, []).append(p)
            retry: list[int] = []

            async def one(node_id: int, parts: list[int]) -> tuple[list[int], BaseException | None]:
                try:
                    conn = await cluster.connection_for_node(node_id, timeout=deadline.remaining())
                    resp = await conn.request(
                        api_key, body(conn.api_version(api_key), parts), timeout=_left(deadline)
                    )
                except (ConnectionError, KafkaTimeoutError) as exc:
                    if isinstance(exc, AuthenticationError) or not exc.retriable:
                        raise
                    return parts, exc
                answers = parse(resp)
                again: list[int] = []
                err: BaseException | None = None
                for p in parts:
                    code, r = answers.get(p, (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None))
                    if code == 0:
                        done[p] = r
                    elif code in STALE_METADATA_ERRORS or is_retriable(code):
                        again.append(p)
                        err = error_for(code, f"topic {topic!r} partition {p}")
                    else:
                        raise error_for(code, f"topic {topic!r} partition {p}")
                return again, err

            results = await asyncio.gather(*(one(n, ps) for n, ps in by_leader.items()))
            for again, err in results:
                retry.extend(again)
                if err is not None:
                    last = err
            todo = retry
            if todo:
                cluster.invalidate([topic])
                if deadline.expired:
                    raise deadline.timeout_error(
                        f"request to the leaders of {topic!r} partitions {todo}", last
                    )
                await asyncio.sleep(backoff(attempt, deadline))
                attempt += 1
        return done

    async def delete_records(
        self, topic: str, offsets: Mapping[int, int], *, timeout: float | None = None
    ) -> dict[int, int]:
        """Delete records before ``offsets[partition]`` (``-1``: up to the high watermark);
        returns each partition's new low watermark."""
        deadline = self._deadline(timeout)
        name = self.config.apply_prefix(topic)

        def body(version: int, parts: list[int]) -> dict[str, Any]:
            return {
                "topics": [
                    {
                        "name": name,
                        "partitions": [
                            {"partition_index": p, "offset": int(offsets[p])} for p in parts
                        ],
                    }
                ],
                "timeout_ms": _ms(deadline),
            }

        def parse(resp: dict[str, Any]) -> dict[int, tuple[int, Any]]:
            return {
                int(p["partition_index"]): (int(p["error_code"]), int(p["low_watermark"]))
                for t in resp.get("topics") or ()
                for p in t.get("partitions") or ()
            }

        raw = await self._to_leaders(
            name, sorted(offsets), ApiKey.DELETE_RECORDS, body, parse, deadline
        )
        return {p: int(v) for p, v in sorted(raw.items())}

    # ------------------------------------------------------------------ configs

    async def describe_configs(
        self,
        resource_type: Literal["topic", "broker"],
        name: str | int,
        keys: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, ConfigEntry]:
        """Config entries of a topic or a broker (by node id); ``keys`` limits the answer."""
        deadline = self._deadline(timeout)
        cluster = await self._ensure(deadline)
        if resource_type == "topic":
            rtype, rname = 2, self.config.apply_prefix(str(name))
        elif resource_type == "broker":
            rtype, rname = 4, str(name)
        else:
            raise ConfigError(
                f"invalid resource type {resource_type!r}; allowed: 'topic' or 'broker'"
            )
        wanted = list(keys) if keys is not None else None

        async def attempt() -> dict[str, Any]:
            if rtype == 4:
                conn = await cluster.connection_for_node(int(rname), timeout=deadline.remaining())
            else:
                conn = await cluster.any_connection(timeout=deadline.remaining())
            resp: dict[str, Any] = await conn.request(
                ApiKey.DESCRIBE_CONFIGS,
                {
                    "resources": [
                        {
                            "resource_type": rtype,
                            "resource_name": rname,
                            "configuration_keys": wanted,
                        }
                    ],
                    "include_synonyms": False,
                    "include_documentation": False,
                },
                timeout=_left(deadline),
            )
            return resp

        resp = await self._retry(
            f"describing configs of {resource_type} {rname}", deadline, attempt
        )
        out: dict[str, ConfigEntry] = {}
        for r in resp.get("results") or ():
            code = int(r["error_code"])
            if code:
                raise error_for(
                    code, f"configs of {resource_type} {rname!r}", r.get("error_message")
                )
            for c in r.get("configs") or ():
                source = int(c.get("config_source", -1))
                out[str(c["name"])] = ConfigEntry(
                    name=str(c["name"]),
                    value=c.get("value"),
                    read_only=bool(c.get("read_only")),
                    is_default=source == 5 or bool(c.get("is_default", False)),
                    is_sensitive=bool(c.get("is_sensitive")),
                    source=source,
                )
        return out

    # ------------------------------------------------------------------ groups

    async def list_groups(self, *, timeout: float | None = None) -> list[GroupListing]:
        """Every group on every broker, sorted by id."""
        deadline = self._deadline(timeout)
        cluster = await self._ensure(deadline)
        md = cluster.metadata or await cluster.refresh_metadata(deadline=deadline)

        async def from_broker(node_id: int) -> list[GroupListing]:
            async def attempt() -> list[GroupListing]:
                conn = await cluster.connection_for_node(node_id, timeout=deadline.remaining())
                resp = await conn.request(ApiKey.LIST_GROUPS, {}, timeout=_left(deadline))
                code = int(resp.get("error_code", 0))
                if code:
                    raise error_for(code, f"listing groups on broker {node_id}")
                return [
                    GroupListing(
                        group_id=str(g["group_id"]),
                        protocol_type=str(g.get("protocol_type", "")),
                        state=g.get("group_state") or None,
                        group_type=g.get("group_type") or None,
                    )
                    for g in resp.get("groups") or ()
                ]

            return await self._retry(f"listing groups on broker {node_id}", deadline, attempt)

        parts = await asyncio.gather(*(from_broker(n) for n in sorted(md.brokers)))
        seen: dict[str, GroupListing] = {}
        for listing in parts:
            for g in listing:
                seen.setdefault(g.group_id, g)
        return [seen[k] for k in sorted(seen)]

    async def describe_groups(
        self, group_ids: Iterable[str], *, timeout: float | None = None
    ) -> dict[str, GroupDescription]:
        """State, protocol and members of groups (asked at each group's coordinator).

        A group the cluster does not know raises ``GroupIdNotFoundError`` (on every broker
        version; brokers before 4.0 report such a group as ``"Dead"``)."""
        deadline = self._deadline(timeout)
        cluster = await self._ensure(deadline)
        groups = [self.config.apply_prefix(g) for g in group_ids]

        async def one(group: str) -> GroupDescription:
            resp = await cluster.send_to_coordinator(
                group,
                CoordinatorType.GROUP,
                ApiKey.DESCRIBE_GROUPS,
                lambda v: {"groups": [group], "include_authorized_operations": False},
                error_codes=lambda r: [int(g["error_code"]) for g in r.get("groups") or ()],
                timeout=deadline.remaining(),
            )
            for g in resp.get("groups") or ():
                if g["group_id"] != group:
                    continue
                code = int(g["error_code"])
                if (
                    not code
                    and g.get("group_state") == "Dead"
                    and not g.get("members")
                    and not g.get("protocol_type")
                ):
                    # DescribeGroups < v6 reports an unknown group as "Dead"; v6 says
                    # GROUP_ID_NOT_FOUND. Answer the same on every broker version.
                    code = ErrorCode.GROUP_ID_NOT_FOUND
                if code:
                    raise error_for(code, f"describing group {group!r}", g.get("error_message"))
                ptype = str(g.get("protocol_type", ""))
                return GroupDescription(
                    group_id=group,
                    state=str(g.get("group_state", "")),
                    protocol_type=ptype,
                    protocol=str(g.get("protocol_data", "")),
                    members=tuple(
                        GroupMember(
                            member_id=str(m["member_id"]),
                            group_instance_id=m.get("group_instance_id"),
                            client_id=str(m.get("client_id", "")),
                            client_host=str(m.get("client_host", "")),
                            assignment=_decode_assignment(ptype, m.get("member_assignment")),
                        )
                        for m in g.get("members") or ()
                    ),
                )
            raise KafkaError(f"DescribeGroups response lacks group {group!r}")

        results = await asyncio.gather(*(one(g) for g in groups))
        return dict(zip(groups, results, strict=True))

    async def describe_group(
        self, group_id: str, *, timeout: float | None = None
    ) -> GroupDescription:
        """One group (see :meth:`describe_groups`)."""
        group = self.config.apply_prefix(group_id)
        return (await self.describe_groups([group], timeout=timeout))[group]

    async def list_group_offsets(
        self,
        group_id: str,
        topics: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[TopicPartition, CommittedOffset]:
        """A group's committed offsets (OffsetFetch), for ``topics`` (every partition of each)
        or for everything the group committed when ``topics`` is ``None``."""
        deadline = self._deadline(timeout)
        cluster = await self._ensure(deadline)
        group = self.config.apply_prefix(group_id)
        request_topics: list[dict[str, Any]] | None = None
        if topics is not None:
            request_topics = []
            for t in topics:
                name = self.config.apply_prefix(t)
                count = await cluster.partition_count(name, timeout=deadline.remaining())
                request_topics.append({"name": name, "partition_indexes": list(range(count))})

        def build(version: int) -> dict[str, Any]:
            if version >= 8:
                return {
                    "groups": [{"group_id": group, "topics": request_topics}],
                    "require_stable": False,
                }
            return {"group_id": group, "topics": request_topics, "require_stable": False}

        def codes(resp: dict[str, Any]) -> list[int]:
            out = [int(resp.get("error_code", 0))]
            out += [int(g.get("error_code", 0)) for g in resp.get("groups") or ()]
            return out

        resp = await cluster.send_to_coordinator(
            group,
            CoordinatorType.GROUP,
            ApiKey.OFFSET_FETCH,
            build,
            error_codes=codes,
            timeout=deadline.remaining(),
        )
        if resp.get("groups") is not None and resp.get("groups"):
            g = resp["groups"][0]
            top_code, topic_list = int(g.get("error_code", 0)), g.get("topics") or ()
        else:
            top_code, topic_list = int(resp.get("error_code", 0)), resp.get("topics") or ()
        if top_code:
            raise error_for(top_code, f"offsets of group {group!r}")
        out: dict[TopicPartition, CommittedOffset] = {}
        for t in topic_list:
            for p in t.get("partitions") or ():
                code = int(p.get("error_code", 0))
                if code:
                    raise error_for(
                        code,
                        f"group {group!r} topic {t['name']!r} partition {p['partition_index']}",
                    )
                tp = TopicPartition(str(t["name"]), int(p["partition_index"]))
                out[tp] = CommittedOffset(
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=int(p["committed_offset"]),
                    metadata=p.get("metadata"),
                    leader_epoch=int(p.get("committed_leader_epoch", -1)),
                )
        return dict(sorted(out.items()))

    async def alter_group_offsets(
        self,
        group_id: str,
        offsets: Mapping[TopicPartition, int] | Mapping[tuple[str, int], int],
        *,
        timeout: float | None = None,
    ) -> None:
        """Set a group's committed offsets (OffsetCommit as an admin: generation ``-1``, no
        member id). Kafka accepts this only while the group has no active members
        (``UnknownMemberIdError`` otherwise)."""
        deadline = self._deadline(timeout)
        cluster = await self._ensure(deadline)
        group = self.config.apply_prefix(group_id)
        by_topic: dict[str, list[tuple[int, int]]] = {}
        for (topic, partition), offset in offsets.items():
            if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
                raise ConfigError(
                    f"invalid offset {offset!r} for {topic}/{partition}; allowed: an int >= 0"
                )
            by_topic.setdefault(self.config.apply_prefix(topic), []).append((partition, offset))
        if not by_topic:
            return

        def build(version: int) -> dict[str, Any]:
            return {
                "group_id": group,
                "generation_id_or_member_epoch": -1,
                "member_id": "",
                "group_instance_id": None,
                "retention_time_ms": -1,
                "topics": [
                    {
                        "name": t,
                        "partitions": [
                            {
                                "partition_index": p,
                                "committed_offset": o,
                                "committed_leader_epoch": -1,
                                "committed_metadata": "",
                            }
                            for p, o in sorted(parts)
                        ],
                    }
                    for t, parts in by_topic.items()
                ],
            }

        def codes(resp: dict[str, Any]) -> list[int]:
            return [
                int(p["error_code"])
                for t in resp.get("topics") or ()
                for p in t.get("partitions") or ()
            ]

        resp = await cluster.send_to_coordinator(
            group,
            CoordinatorType.GROUP,
            ApiKey.OFFSET_COMMIT,
            build,
            error_codes=codes,
            timeout=deadline.remaining(),
        )
        for t in resp.get("topics") or ():
            for p in t.get("partitions") or ():
                code = int(p["error_code"])
                if code:
                    raise error_for(
                        code,
                        f"committing offsets of group {group!r} for topic {t['name']!r} "
                        f"partition {p['partition_index']}",
                    )

    async def reset_group_offsets(
        self,
        group_id: str,
        topic: str,
        to: OffsetSpec | Mapping[int, int] = "earliest",
        *,
        timeout: float | None = None,
    ) -> dict[int, int]:
        """Reset a group's offsets for every partition of ``topic`` to ``"earliest"``,
        ``"latest"``, the first offset at or after a timestamp (ms; the end of the partition
        when no record is that new), or explicit ``{partition: offset}``. The group must have
        no active members. Returns the offsets set."""
        deadline = self._deadline(timeout)
        name = self.config.apply_prefix(topic)
        if isinstance(to, Mapping):
            target = {int(p): int(o) for p, o in to.items()}
        else:
            listed = await self.list_offsets(name, None, to, timeout=deadline.remaining())
            target = {p: r.offset for p, r in listed.items()}
            missing = [p for p, o in target.items() if o < 0]
            if missing:
                ends = await self.list_offsets(
                    name, missing, "latest", timeout=deadline.remaining()
                )
                target.update({p: r.offset for p, r in ends.items()})
        await self.alter_group_offsets(
            group_id,
            {TopicPartition(name, p): o for p, o in target.items()},
            timeout=deadline.remaining(),
        )
        return dict(sorted(target.items()))


def _left(deadline: Deadline) -> float:
    return max(0.001, deadline.remaining())


def _ms(deadline: Deadline) -> int:
    return max(1, int(deadline.remaining() * 1000))
