"""The cluster: bootstrap, a metadata cache, leader routing and coordinator lookup.

One :class:`Cluster` per client, living on that client's event loop. It owns the client's
connection pool. Metadata is refreshed

* on a timer (``metadata_max_age_ms``), for every topic the client has asked about;
* when a caller reports a retriable error that means stale metadata
  (:meth:`Cluster.invalidate`), the next lookup fetches fresh metadata;
* when a lookup finds a partition without a leader, with backoff until the lookup's deadline.

Every wait has a deadline (``get_metadata_timeout_seconds`` unless the caller gives one).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kaffe._cluster.errors import (
    COORDINATOR_ERRORS,
    STALE_METADATA_ERRORS,
    error_for,
    error_name,
    is_retriable,
)
from kaffe._cluster.metadata import BrokerInfo, ClusterMetadata, TopicInfo
from kaffe._net.connection import BrokerConnection
from kaffe._net.pool import ConnectionPool
from kaffe._protocol import ApiKey, ErrorCode
from kaffe._util import WAIT_TIMEOUTS, Deadline, backoff
from kaffe.config import ClientConfig
from kaffe.errors import (
    AuthenticationError,
    ConnectionError,
    KafkaError,
    KafkaTimeoutError,
    TLSError,
)

__all__ = ["Cluster", "CoordinatorType"]

log = logging.getLogger("kaffe.cluster")
_T = TypeVar("_T")


class CoordinatorType(enum.IntEnum):
    """FindCoordinator key types."""

    GROUP = 0
    TRANSACTION = 1


@dataclass(frozen=True)
class _Coordinator:
    node_id: int
    host: str
    port: int


def _raise_security_failure(failures: list[KafkaError]) -> None:
    """When every broker failed and one failure was about TLS or authentication, raise that one:
    it says what to fix, where a generic "no broker reachable" would hide it."""
    for exc in failures:
        if isinstance(exc, AuthenticationError | TLSError):
            raise exc


class Cluster:
    """Cluster metadata and routing for one client (see the module docs)."""

    def __init__(self, config: ClientConfig, *, pool: ConnectionPool | None = None) -> None:
        """Prepare; nothing connects until :meth:`bootstrap` (or the first lookup)."""
        self.config = config
        if pool is None:
            pool = ConnectionPool(config.connection_options())
        self.pool: ConnectionPool = pool
        self._metadata: ClusterMetadata | None = None
        self._known_topics: set[str] = set()
        self._stale = True
        self._refresh_lock = asyncio.Lock()
        self._coordinators: dict[tuple[CoordinatorType, str], _Coordinator] = {}
        self._refresher: asyncio.Task[None] | None = None
        self._metadata_node: tuple[str, int] | None = None
        self._closed = False

    # ------------------------------------------------------------------ state

    @property
    def metadata(self) -> ClusterMetadata | None:
        """The current snapshot (``None`` before the first fetch)."""
        return self._metadata

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def invalidate(self, topics: Iterable[str] = ()) -> None:
        """Mark the metadata stale (after ``NOT_LEADER_OR_FOLLOWER`` and friends): the next
        lookup fetches fresh metadata. ``topics`` are added to the topics kept up to date."""
        self._known_topics.update(topics)
        self._stale = True

    def note_error(self, code: int, topics: Iterable[str] = ()) -> bool:
        """Tell the cluster a response carried error ``code`` for ``topics``.

        Codes that mean stale metadata (``NOT_LEADER_OR_FOLLOWER``, ``LEADER_NOT_AVAILABLE``,
        ``UNKNOWN_TOPIC_OR_PARTITION``, ...) mark the cache stale, so the next lookup fetches
        fresh metadata; returns whether that happened. Callers retry with :func:`backoff`.
        """
        if code in STALE_METADATA_ERRORS:
            self.invalidate(topics)
            return True
        return False

    def _deadline(self, timeout: float | None) -> Deadline:
        return Deadline(self.config.metadata_timeout if timeout is None else timeout)

    def _check_open(self) -> None:
        if self._closed:
            raise ConnectionError("the client is closed", retriable=False)

    # ------------------------------------------------------------------ connections

    async def connection_for_node(
        self, node_id: int, *, timeout: float | None = None, wait_backoff: bool = True
    ) -> BrokerConnection:
        """A connected connection to broker ``node_id`` (refreshing metadata once if the node is
        not known). While the broker is in its reconnect backoff (it failed just now), waits
        for the backoff to end within the deadline, or (``wait_backoff=False``, for callers that
        retry anyway and may meanwhile learn of another broker to ask) raises a retriable
        :class:`kaffe.ConnectionError` at once."""
        self._check_open()
        deadline = self._deadline(timeout)
        md = self._metadata
        broker = md.broker(node_id) if md is not None else None
        if broker is None:
            md = await self.refresh_metadata(deadline=deadline)
            broker = md.broker(node_id)
        if broker is None:
            raise KafkaError(f"broker {node_id} is not in the cluster metadata", retriable=True)
        return await self._get(
            broker.host, broker.port, broker.node_id, deadline, wait_backoff=wait_backoff
        )

    async def _get(
        self,
        host: str,
        port: int,
        node_id: int | None,
        deadline: Deadline,
        *,
        wait_backoff: bool = True,
    ) -> BrokerConnection:
        try:
            return await asyncio.wait_for(
                self.pool.get(host, port, node_id, wait_backoff=wait_backoff),
                timeout=max(0.001, deadline.remaining()),
            )
        except WAIT_TIMEOUTS:
            raise KafkaTimeoutError(
                f"connecting to broker {node_id if node_id is not None else ''} at {host}:{port}: "
                f"not done within {deadline.timeout:.1f} s"
            ) from None

    async def any_connection(self, *, timeout: float | None = None) -> BrokerConnection:
        """A connection to some live broker: a known broker, else a bootstrap endpoint (see
        :meth:`_first_answer` for the order and the waiting)."""
        self._check_open()
        deadline = self._deadline(timeout)
        errors: dict[tuple[str, int], str] = {}

        async def connected(host: str, port: int, conn: BrokerConnection) -> BrokerConnection:
            return conn

        found = await self._first_answer(deadline, connected, errors)
        if found is not None:
            return found
        raise ConnectionError(
            "no broker reachable: "
            + ("; ".join(f"{h}:{p}: {e}" for (h, p), e in errors.items()) or "deadline passed")
        )

    async def _first_answer(
        self,
        deadline: Deadline,
        ask: Callable[[str, int, BrokerConnection], Awaitable[_T | None]],
        errors: dict[tuple[str, int], str],
    ) -> _T | None:
        """Connect to the candidates (:meth:`_candidates`) in turn and return the first
        non-``None`` answer of ``ask``; ``None`` when no broker gave one by the deadline.

        Brokers in their reconnect backoff (a broker that just died) are skipped while another
        one can be tried; only when every broker tried has failed does it wait for a skipped
        one's backoff to end (within the deadline). Each broker is tried at most once per call.
        Connection failures and timeouts (of the connect or of ``ask``) are recorded in
        ``errors`` by address; ``ask`` records its own reasons for returning ``None``. When every
        broker failed and one failure was about TLS or authentication, that one is raised.
        """
        failures: list[KafkaError] = []
        attempted: set[tuple[str, int]] = set()
        while True:
            for host, port, node_id in self._candidates():
                if deadline.expired:
                    break
                if (host, port) in attempted:
                    continue
                if self.pool.backoff_remaining(host, port) <= 0:
                    attempted.add((host, port))
                try:
                    conn: BrokerConnection = await self._get(
                        host, port, node_id, deadline, wait_backoff=False
                    )
                    answer = await ask(host, port, conn)
                except (ConnectionError, KafkaTimeoutError) as exc:
                    errors[(host, port)] = str(exc)
                    failures.append(exc)
                    log.debug("broker %s:%s failed: %s", host, port, exc)
                    if isinstance(exc, KafkaTimeoutError):
                        await self.pool.suspect(host, port, exc)
                    continue
                if answer is not None:
                    return answer
            _raise_security_failure(failures)
            if not await self._wait_for_untried(attempted, deadline):
                return None

    async def _wait_for_untried(self, attempted: set[tuple[str, int]], deadline: Deadline) -> bool:
        """After a pass over the candidates: sleep until the first one skipped for its reconnect
        backoff may be tried. ``False`` (without sleeping) when every candidate was tried in
        this call (a wrong address fails fast) or the wait would pass the deadline."""
        waits = [
            self.pool.backoff_remaining(h, p)
            for h, p, _ in self._candidates()
            if (h, p) not in attempted
        ]
        if not waits or deadline.expired:
            return False
        wait = min(waits)
        if wait >= deadline.remaining():
            return False
        await asyncio.sleep(max(wait, 0.001))
        return True

    def _candidates(self) -> list[tuple[str, int, int | None]]:
        """Brokers to ask for cluster-wide things (metadata, coordinators), best first: those
        with a live connection, then those that may be tried now, then those in their reconnect
        backoff (soonest first), then those suspect of leaving requests unanswered (see
        :meth:`ConnectionPool.suspect`). Within a rank, the broker that answered the last metadata
        request comes first (brokers learn metadata at slightly different times; asking the same
        one keeps the view from going backwards), then the other known brokers in random order,
        then the bootstrap endpoints."""
        out: list[tuple[str, int, int | None]] = []
        md = self._metadata
        preferred = self._metadata_node
        if md is not None:
            brokers = list(md.brokers.values())
            random.shuffle(brokers)
            brokers.sort(key=lambda b: (b.host, b.port) != preferred)
            out.extend((b.host, b.port, b.node_id) for b in brokers)
        seen = {(h, p) for h, p, _ in out}
        out.extend((h, p, None) for h, p in self.config.endpoints if (h, p) not in seen)

        def rank(c: tuple[str, int, int | None]) -> tuple[int, float]:
            conn = self.pool.connection(c[0], c[1])
            if conn is not None and conn.connected:
                return (0, 0.0)
            wait = self.pool.backoff_remaining(c[0], c[1])
            if self.pool.is_suspect(c[0], c[1]):  # left a request unanswered: ask it last
                return (3, wait)
            return (1, 0.0) if wait <= 0 else (2, wait)

        out.sort(key=rank)  # stable: keeps the preference order within a rank
        return out

    # ------------------------------------------------------------------ metadata

    async def bootstrap(self, *, timeout: float | None = None) -> ClusterMetadata:
        """Fetch the first metadata, trying every endpoint in order until one answers; start the
        periodic refresh."""
        md = await self.refresh_metadata(timeout=timeout, force=True)
        self._start_refresher()
        return md

    def _start_refresher(self) -> None:
        if self._refresher is None and not self._closed:
            self._refresher = asyncio.get_running_loop().create_task(
                self._refresh_periodically(), name="kaffe-metadata-refresh"
            )

    async def _refresh_periodically(self) -> None:
        interval = self.config.metadata_max_age
        while not self._closed:
            md = self._metadata
            age = time.monotonic() - md.fetched_at if md is not None else interval
            await asyncio.sleep(max(0.05, interval - age))
            if self._closed:
                return
            md = self._metadata
            if md is not None and time.monotonic() - md.fetched_at < interval * 0.9:
                continue  # somebody refreshed meanwhile
            try:
                await self.refresh_metadata(force=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again
                log.warning("periodic metadata refresh failed: %s", exc)

    async def refresh_metadata(
        self,
        topics: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
        deadline: Deadline | None = None,
        force: bool = False,
        all_topics: bool = False,
    ) -> ClusterMetadata:
        """Fetch metadata for ``topics`` plus every topic already tracked (or, with
        ``all_topics``, for every topic in the cluster) and update the cache.

        Concurrent callers share one request when it started after they asked. Raises
        :class:`kaffe.ConnectionError` when no broker answers, :class:`kaffe.KafkaTimeoutError`
        at the deadline.
        """
        self._check_open()
        deadline = deadline or self._deadline(timeout)
        wanted = set(topics or ())
        self._known_topics.update(wanted)
        asked_at = time.monotonic()
        try:
            await asyncio.wait_for(self._refresh_lock.acquire(), timeout=deadline.remaining())
        except WAIT_TIMEOUTS:
            raise deadline.timeout_error("waiting for a metadata refresh") from None
        try:
            md = self._metadata
            if (
                not force
                and not all_topics
                and md is not None
                and md.fetched_at >= asked_at
                and wanted.issubset(md.topics)
            ):
                return md
            request_topics = None if all_topics else sorted(self._known_topics)
            fresh = await self._fetch_metadata(request_topics, deadline)
            merged = fresh if md is None else md.merged(fresh, replace_all_topics=all_topics)
            self._metadata = merged
            self._stale = False
            return merged
        finally:
            self._refresh_lock.release()

    async def _fetch_metadata(
        self, topics: list[str] | None, deadline: Deadline
    ) -> ClusterMetadata:
        errors: dict[tuple[str, int], str] = {}

        async def ask(host: str, port: int, conn: BrokerConnection) -> ClusterMetadata | None:
            version = conn.api_version(ApiKey.METADATA)
            body: dict[str, Any] = {
                "topics": None if topics is None else [{"name": t} for t in topics],
                "allow_auto_topic_creation": self.config.allow_topic_auto_creation,
            }
            if version == 0 and topics is not None and not topics:
                body["topics"] = [{"name": ""}]  # v0 has no "no topics"; ask for a dummy
            resp = await conn.request(
                ApiKey.METADATA, body, timeout=max(0.001, deadline.remaining())
            )
            code = int(resp.get("error_code", 0))
            if code:
                errors[(host, port)] = error_name(code)
                return None
            md = ClusterMetadata.from_response(resp)
            self._metadata_node = (host, port)
            if topics is not None and version == 0:
                md = md.without_topics({""})
            return md

        found = await self._first_answer(deadline, ask, errors)
        if found is not None:
            return found
        detail = "; ".join(f"{h}:{p}: {e}" for (h, p), e in errors.items())
        if deadline.expired:
            raise deadline.timeout_error(
                "fetching cluster metadata", ConnectionError(detail) if errors else None
            )
        raise ConnectionError(
            "could not fetch metadata from any broker ("
            + ", ".join(f"{h}:{p}" for h, p in self.config.endpoints)
            + "): "
            + detail
        )

    async def topic(
        self, name: str, *, timeout: float | None = None, require_leaders: bool = True
    ) -> TopicInfo:
        """Metadata of one topic.

        An unknown topic raises :class:`kaffe.UnknownTopicOrPartitionError` after one fresh
        lookup (unless auto-creation is on, which the broker answers with
        ``LEADER_NOT_AVAILABLE`` while it creates the topic). With ``require_leaders``, waits
        (with backoff, until the deadline) until every partition has a leader.
        """
        deadline = self._deadline(timeout)
        attempt = 0
        refreshed = False
        last: KafkaError | None = None
        while True:
            md = self._metadata
            info = md.topic(name) if md is not None else None
            # A topic seen only in a list of all topics is not tracked (not kept fresh by the
            # timer): look it up once before trusting it.
            fresh_enough = refreshed or (
                not self._stale and info is not None and name in self._known_topics
            )
            if info is None and refreshed:  # the broker did not even echo the name
                raise error_for(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"topic {name!r}")
            if info is not None and fresh_enough:
                code = info.error_code
                if code == 0 and (
                    not require_leaders
                    or (info.partitions and all(p.leader >= 0 for p in info.partitions.values()))
                ):
                    return info
                if (
                    code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                    and not self.config.allow_topic_auto_creation
                ):
                    self._known_topics.discard(name)  # do not keep asking for it
                    raise error_for(code, f"topic {name!r}")
                if code and not is_retriable(code):
                    raise error_for(code, f"topic {name!r}")
                last = (
                    error_for(code, f"topic {name!r}")
                    if code
                    else error_for(
                        ErrorCode.LEADER_NOT_AVAILABLE, f"topic {name!r} (some partitions)"
                    )
                )
                if deadline.expired:
                    raise deadline.timeout_error(f"waiting for topic {name!r}", last)
                await asyncio.sleep(backoff(attempt, deadline))
                attempt += 1
            # Not forced: callers that asked at the same moment share one request.
            await self.refresh_metadata([name], deadline=deadline)
            refreshed = True

    async def partition_count(self, topic: str, *, timeout: float | None = None) -> int:
        """How many partitions ``topic`` has (from the cache when fresh)."""
        info = await self.topic(topic, timeout=timeout, require_leaders=False)
        return info.partition_count

    async def leader_for(
        self, topic: str, partition: int, *, timeout: float | None = None
    ) -> BrokerInfo:
        """The leader of ``topic``/``partition``, waiting (until the deadline) for one to be
        elected. Unknown topics and partitions raise :class:`UnknownTopicOrPartitionError`."""
        deadline = self._deadline(timeout)
        attempt = 0
        last: KafkaError | None = None
        refreshed_for_partition = False
        while True:
            info = await self.topic(topic, timeout=deadline.remaining(), require_leaders=False)
            p = info.partitions.get(partition)
            if p is None and not refreshed_for_partition:
                # The topic may have grown since the cache was filled: look once more.
                refreshed_for_partition = True
                await self.refresh_metadata([topic], deadline=deadline, force=True)
                continue
            if p is None:
                raise error_for(
                    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                    f"topic {topic!r} partition {partition}",
                    f"the topic has {info.partition_count} partitions",
                )
            md = self._metadata
            broker = md.broker(p.leader) if md is not None and p.leader >= 0 else None
            if broker is not None:
                return broker
            last = error_for(
                ErrorCode.LEADER_NOT_AVAILABLE, f"topic {topic!r} partition {partition}"
            )
            if deadline.expired:
                raise deadline.timeout_error(f"finding the leader of {topic}/{partition}", last)
            await asyncio.sleep(backoff(attempt, deadline))
            attempt += 1
            self._stale = True

    async def leader_connection(
        self, topic: str, partition: int, *, timeout: float | None = None
    ) -> BrokerConnection:
        """A connection to the leader of ``topic``/``partition``."""
        deadline = self._deadline(timeout)
        broker = await self.leader_for(topic, partition, timeout=deadline.remaining())
        conn: BrokerConnection = await self._get(broker.host, broker.port, broker.node_id, deadline)
        return conn

    async def controller_connection(self, *, timeout: float | None = None) -> BrokerConnection:
        """A connection to the broker the metadata names as controller (KRaft: a random broker
        that forwards), else (unknown, or in its reconnect backoff) any broker; a broker that
        is not the controller answers ``NOT_CONTROLLER`` and the caller retries."""
        deadline = self._deadline(timeout)
        md = self._metadata or await self.refresh_metadata(deadline=deadline)
        broker = md.broker(md.controller_id)
        if broker is None or self.pool.backoff_remaining(broker.host, broker.port) > 0:
            return await self.any_connection(timeout=deadline.remaining())
        conn: BrokerConnection = await self._get(broker.host, broker.port, broker.node_id, deadline)
        return conn

    # ------------------------------------------------------------------ coordinators

    def invalidate_coordinator(self, key: str, key_type: CoordinatorType) -> None:
        """Forget the cached coordinator for ``key`` (after ``NOT_COORDINATOR`` and friends)."""
        self._coordinators.pop((key_type, key), None)

    async def coordinator(
        self,
        key: str,
        key_type: CoordinatorType = CoordinatorType.GROUP,
        *,
        timeout: float | None = None,
    ) -> BrokerConnection:
        """A connection to the coordinator of a group (or transactional id), looked up with
        FindCoordinator, cached, and looked up again (with backoff until the deadline) while the
        broker answers ``COORDINATOR_NOT_AVAILABLE`` / ``NOT_COORDINATOR`` /
        ``COORDINATOR_LOAD_IN_PROGRESS``. A coordinator that cannot be reached raises
        :class:`kaffe.ConnectionError` at once: callers forget it (:meth:`invalidate_coordinator`)
        and retry."""
        deadline = self._deadline(timeout)
        coords = await self.find_coordinators([key], key_type, deadline=deadline)
        c = coords[key]
        # A coordinator whose reconnect backoff is running most likely died: fail at once so the
        # caller looks the coordinator up again (it moves within seconds) instead of waiting.
        conn: BrokerConnection = await self._get(
            c.host, c.port, c.node_id, deadline, wait_backoff=False
        )
        return conn

    async def coordinator_node(
        self,
        key: str,
        key_type: CoordinatorType = CoordinatorType.GROUP,
        *,
        timeout: float | None = None,
    ) -> BrokerInfo:
        """The coordinator broker of ``key`` (see :meth:`coordinator`)."""
        coords = await self.find_coordinators([key], key_type, deadline=self._deadline(timeout))
        c = coords[key]
        return BrokerInfo(c.node_id, c.host, c.port)

    async def find_coordinators(
        self,
        keys: Iterable[str],
        key_type: CoordinatorType = CoordinatorType.GROUP,
        *,
        deadline: Deadline | None = None,
    ) -> dict[str, _Coordinator]:
        """Coordinators of several keys: batched in one request on FindCoordinator v4+, one
        request per key on older brokers; cached."""
        self._check_open()
        deadline = deadline or self._deadline(None)
        wanted = list(dict.fromkeys(keys))
        found: dict[str, _Coordinator] = {}
        attempt = 0
        last: KafkaError | None = None
        while True:
            missing = []
            for k in wanted:
                cached = self._coordinators.get((key_type, k))
                if cached is not None:
                    found[k] = cached
                else:
                    missing.append(k)
            if not missing:
                return found
            if deadline.expired:
                raise deadline.timeout_error(
                    f"finding the coordinator of {key_type.name.lower()} {missing[0]!r}", last
                )
            try:
                failed = await self._lookup_coordinators(missing, key_type, deadline)
            except (ConnectionError, KafkaTimeoutError) as exc:
                if isinstance(exc, AuthenticationError) or not exc.retriable:
                    raise
                last = exc
                failed = {k: exc for k in missing}
            for err in failed.values():
                if not err.retriable:
                    raise err
                last = err
            if failed:
                await asyncio.sleep(backoff(attempt, deadline))
                attempt += 1

    async def _lookup_coordinators(
        self, keys: list[str], key_type: CoordinatorType, deadline: Deadline
    ) -> dict[str, KafkaError]:
        conn = await self.any_connection(timeout=deadline.remaining())
        version = conn.api_version(ApiKey.FIND_COORDINATOR)
        results: list[tuple[str, int, str | None, int, str, int]] = []
        if version >= 4:
            resp = await conn.request(
                ApiKey.FIND_COORDINATOR,
                {"key_type": int(key_type), "coordinator_keys": keys},
                timeout=max(0.001, deadline.remaining()),
            )
            for c in resp.get("coordinators") or ():
                results.append(
                    (
                        str(c["key"]),
                        int(c["error_code"]),
                        c.get("error_message"),
                        int(c["node_id"]),
                        str(c["host"]),
                        int(c["port"]),
                    )
                )
        else:
            if key_type != CoordinatorType.GROUP and version < 1:
                raise KafkaError(
                    "the broker's FindCoordinator v0 cannot look up transaction coordinators"
                )
            for key in keys:
                resp = await conn.request(
                    ApiKey.FIND_COORDINATOR,
                    {"key": key, "key_type": int(key_type)},
                    timeout=max(0.001, deadline.remaining()),
                )
                results.append(
                    (
                        key,
                        int(resp["error_code"]),
                        resp.get("error_message"),
                        int(resp["node_id"]),
                        str(resp["host"]),
                        int(resp["port"]),
                    )
                )
        failed: dict[str, KafkaError] = {}
        answered = set()
        for key, code, message, node_id, host, port in results:
            answered.add(key)
            what = f"coordinator of {key_type.name.lower()} {key!r}"
            if code == 0 and node_id >= 0:
                self._coordinators[(key_type, key)] = _Coordinator(node_id, host, port)
                log.debug("%s is broker %d at %s:%d", what, node_id, host, port)
            elif code in COORDINATOR_ERRORS or (code == 0 and node_id < 0):
                failed[key] = error_for(code or ErrorCode.COORDINATOR_NOT_AVAILABLE, what, message)
            else:
                failed[key] = error_for(code, what, message)
        for key in keys:
            if key not in answered:
                failed[key] = KafkaError(
                    f"FindCoordinator response lacks key {key!r}", retriable=True
                )
        return failed

    # ------------------------------------------------------------------ requests

    async def send_to_coordinator(
        self,
        key: str,
        key_type: CoordinatorType,
        api_key: int,
        build: Any,
        *,
        error_codes: Any,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send a request to the coordinator of ``key``, retrying (with a fresh coordinator
        lookup) while the response says the coordinator moved or is loading.

        ``build(version) -> body`` makes the request; ``error_codes(response) -> list[int]``
        extracts the codes to check for coordinator errors.
        """
        deadline = self._deadline(timeout)
        attempt = 0
        last: BaseException | None = None
        while True:
            try:
                conn = await self.coordinator(key, key_type, timeout=deadline.remaining())
                version = conn.api_version(api_key)
                resp: dict[str, Any] = await conn.request(
                    api_key, build(version), timeout=max(0.001, deadline.remaining())
                )
            except (ConnectionError, KafkaTimeoutError) as exc:
                if isinstance(exc, AuthenticationError) or not exc.retriable:
                    raise
                self.invalidate_coordinator(key, key_type)
                last = exc
            else:
                codes = error_codes(resp)
                moved = [c for c in codes if c in COORDINATOR_ERRORS]
                if not moved:
                    return resp
                self.invalidate_coordinator(key, key_type)
                last = error_for(moved[0], f"coordinator of {key_type.name.lower()} {key!r}")
            if deadline.expired:
                raise deadline.timeout_error(f"request to the coordinator of {key!r}", last)
            await asyncio.sleep(backoff(attempt, deadline))
            attempt += 1

    # ------------------------------------------------------------------ lifecycle

    async def close(self) -> None:
        """Stop the periodic refresh and close every connection."""
        if self._closed:
            return
        self._closed = True
        task, self._refresher = self._refresher, None
        if task is not None:
            task.cancel()
            try:
                await asyncio.wait_for(task, timeout=5.0)
            except (asyncio.CancelledError, asyncio.TimeoutError):
                pass
            except Exception as exc:  # pragma: no cover - logged, close goes on
                log.debug("metadata refresher ended with %r", exc)
        await self.pool.close()

    def forget_topics(self, names: Iterable[str]) -> None:
        """Stop tracking ``names`` and drop them from the cache (after deleting them)."""
        gone = set(names)
        self._known_topics.difference_update(gone)
        if self._metadata is not None:
            self._metadata = self._metadata.without_topics(gone)

    def topics_snapshot(self) -> Mapping[str, TopicInfo]:
        """The cached topics (no I/O)."""
        return self._metadata.topics if self._metadata is not None else {}
