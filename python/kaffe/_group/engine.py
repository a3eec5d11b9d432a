"""The consumer-group engine: membership, assignment, fetching, handler dispatch and commits.

Everything here runs on the client's event loop; handlers run in worker threads
(:mod:`kaffe._group.workers`), so heartbeats keep going while handlers run.

Membership (eager rebalancing, as brod and Java's ``range``/``roundrobin``):

1. FindCoordinator (cached by :class:`~kaffe._cluster.Cluster`), JoinGroup (a first join answered
   ``MEMBER_ID_REQUIRED`` is repeated with the member id the broker gave, KIP-394), SyncGroup
   (the leader computes the assignment with the agreed assignor).
2. After ``rebalance_delay`` (default 0: at once; Kaffe's 10 s worked around a brod bug with
   stale generations this engine does not have) the assigned partitions get their committed
   offsets (OffsetFetch) and a subscriber task each; assignments of a generation that was
   replaced meanwhile are dropped.
3. Heartbeats every ``heartbeat_interval`` (default 0.5 s: with the classic protocol the members
   learn of a rebalance only from Heartbeat and OffsetCommit answers, so the cadence bounds how
   long a leaving member's partitions wait) until the coordinator asks for a rebalance
   (``REBALANCE_IN_PROGRESS``), the generation or member is unknown (``ILLEGAL_GENERATION``,
   ``UNKNOWN_MEMBER_ID``), the subscription changes, or the member stops.
   A member that must rejoin does so at once; only a failed attempt backs off
   (``rejoin_delay``). A stopping member commits, then sends LeaveGroup.
4. Before rejoining, every partition is revoked: no new batches, the running ones finish (up to
   the rebalance timeout; a handler running longer is reported with ``logging.error`` and its
   result is discarded), offsets are committed, ``on_revoked`` runs.

With ``cooperative-sticky`` only the partitions that move are revoked (then the member rejoins
at once for the second round that gives them to their new owner); the partitions that stay keep
their subscriber and their place in the fetcher all through the rebalance, so they never pause.

Flow control: a partition may have a delivery gate (the asynchronous-ack consumer's
:class:`~kaffe._group.offsets.AckTracker` with its limit). Batches are then cut to the room the
gate has, and the partition's subscriber waits for acknowledgements before delivering more; other
partitions go on. Revoking the partition closes its gate.

``FENCED_INSTANCE_ID`` (another process uses the same ``group_instance_id``) and other
non-retriable group errors stop the member with that error. Connection losses, coordinator moves
and leader moves are retried with backoff for as long as the member runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kaffe._cluster.client import Cluster, CoordinatorType
from kaffe._cluster.errors import error_for, error_name
from kaffe._fetch.fetcher import Fetcher, FetchSettings, PartitionFetch
from kaffe._group.assignors import (
    ASSIGNORS,
    COOPERATIVE,
    PROTOCOL_TYPE,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
)
from kaffe._group.offsets import AckTracker, CommitTracker
from kaffe._group.workers import AsyncWorkerPool, WorkerPool
from kaffe._util import TopicPartition
from kaffe.config import ClientConfig
from kaffe.errors import AuthenticationError, AuthorizationError, KafkaError, TLSError
from kaffe.message import Message

__all__ = ["BatchJob", "GroupEngine", "GroupSettings"]

log = logging.getLogger("kaffe.group")

API_OFFSET_COMMIT = 8
API_OFFSET_FETCH = 9
API_JOIN_GROUP = 11
API_HEARTBEAT = 12
API_LEAVE_GROUP = 13
API_SYNC_GROUP = 14

ILLEGAL_GENERATION = 22
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82
UNSTABLE_OFFSET_COMMIT = 88
_REJOIN_CODES = frozenset({ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS})

WorkerStrategy = Literal["worker_per_partition", "worker_per_topic_partition"]


@dataclass(frozen=True)
class GroupSettings:
    """Group options (times in seconds)."""

    group_id: str
    topics: tuple[str, ...]
    session_timeout: float = 30.0
    rebalance_timeout: float = 30.0
    heartbeat_interval: float = 0.5
    max_rejoin_attempts: int = 5
    rejoin_delay: float = 1.0
    group_instance_id: str | None = None
    assignors: tuple[str, ...] = ("roundrobin",)
    offset_commit_interval: float = 5.0
    rebalance_delay: float = 0.0
    subscriber_retries: int = 5
    subscriber_retry_delay: float = 5.0
    client_down_retry_expire: float = 30.0
    worker_strategy: WorkerStrategy = "worker_per_partition"
    name: str = "kaffe"


BatchJob = Callable[[list[Message]], Any]
"""Runs in a worker thread with one batch; returns what the engine's ``on_result`` gets."""


class _RejoinError(Exception):
    """The membership must be renewed (internal control flow); ``lost``: the member's
    partitions may already belong to someone else (unknown member, old generation, expired
    session), so even a cooperative member revokes everything first."""

    def __init__(self, lost: bool = False) -> None:
        super().__init__()
        self.lost = lost


class _FatalError(Exception):
    """The member cannot go on (wraps the KafkaError)."""


@dataclass
class _Running:
    tp: TopicPartition
    first_offset: int
    started: float
    reported: bool = False


@dataclass
class _Generation:
    generation_id: int
    member_id: str
    protocol: str
    assignment: dict[str, list[int]]
    token: object = field(default_factory=object)


class GroupEngine:
    """One group member (see the module docs)."""

    def __init__(
        self,
        client: ClientConfig,
        settings: GroupSettings,
        fetch: FetchSettings,
        *,
        job: BatchJob,
        on_result: Callable[[TopicPartition, list[Message], Any], None],
        on_assigned: Callable[[list[TopicPartition]], Any] | None = None,
        on_revoked: Callable[[list[TopicPartition]], Any] | None = None,
        before_commit: Callable[[], None] | None = None,
        on_partition: Callable[[TopicPartition], None] | None = None,
        delivery_gate: Callable[[TopicPartition], AckTracker | None] | None = None,
        asynchronous: bool = False,
    ) -> None:
        """Prepare the member. ``job(messages)`` runs in a worker; ``on_result(tp, messages,
        value)`` runs on the loop with what ``job`` returned; ``before_commit()`` runs before
        each commit (the async-ack consumer moves its commit points there).

        ``delivery_gate(tp)`` (asked when a partition starts, after ``on_partition(tp)``) may
        return an :class:`~kaffe._group.offsets.AckTracker` with a limit: batches are then cut
        so that a job never delivers more messages than the gate has room for, and the
        partition's subscriber waits for room (acknowledgements) before the next job. The gate
        is closed when the partition is revoked."""
        self.client = client
        self.settings = settings
        self.fetch_settings = fetch
        self._job = job
        self._on_result = on_result
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._before_commit = before_commit
        self._on_partition = on_partition
        self._delivery_gate = delivery_gate
        self._gates: dict[TopicPartition, AckTracker] = {}
        self.topics: list[str] = list(dict.fromkeys(settings.topics))
        self.tracker = CommitTracker()
        self.asynchronous = asynchronous
        self.workers: WorkerPool | AsyncWorkerPool
        self._callbacks: WorkerPool | AsyncWorkerPool
        if asynchronous:  # kaffe.aio: coroutine handlers, as tasks on the caller's loop
            self.workers = AsyncWorkerPool(f"kaffe-{settings.name}-worker")
            self._callbacks = AsyncWorkerPool(f"kaffe-{settings.name}-callbacks")
        else:
            self.workers = WorkerPool(f"kaffe-{settings.name}-worker")
            self._callbacks = WorkerPool(f"kaffe-{settings.name}-callbacks")
        self.cluster: Cluster | None = None
        self.fetcher: Fetcher | None = None
        self.member_id = ""
        self.generation: _Generation | None = None
        self.assigned: dict[TopicPartition, PartitionFetch] = {}
        self._subscribers: dict[TopicPartition, asyncio.Task[None]] = {}
        self._running: dict[TopicPartition, _Running] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._pending_assign: asyncio.Task[None] | None = None
        self._rejoin = asyncio.Event()
        self._stopping = False
        self._commit_lock = asyncio.Lock()
        self._joining = False
        self._lead_topics: dict[str, int] = {}
        self.failure: BaseException | None = None
        self.done = asyncio.Event()
        self.rebalances = 0
        self.heartbeats = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect (retrying with exponential backoff up to ``client_down_retry_expire``) and
        start the membership, commit and watchdog tasks."""
        self.cluster = Cluster(self.client)
        fetch_cluster = Cluster(self.client)
        expire = time.monotonic() + self.settings.client_down_retry_expire
        delay = 0.2
        while True:
            try:
                await self.cluster.bootstrap()
                await fetch_cluster.bootstrap()
                break
            except KafkaError as exc:
                if not exc.retriable or time.monotonic() + delay > expire:
                    await self.cluster.close()
                    await fetch_cluster.close()
                    raise
                log.warning("%s: cluster not reachable (%s); retrying in %.1f s", self, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.fetcher = Fetcher(fetch_cluster, self.fetch_settings)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._membership(), name=f"kaffe-{self.settings.name}-membership"),
            loop.create_task(
                self._commit_periodically(), name=f"kaffe-{self.settings.name}-commit"
            ),
            loop.create_task(self._watchdog(), name=f"kaffe-{self.settings.name}-watchdog"),
        ]

    async def stop_workers(self, timeout: float) -> None:
        """Stop the handler workers and callback workers (after :meth:`stop`)."""
        for pool in (self.workers, self._callbacks):
            if isinstance(pool, AsyncWorkerPool):
                await pool.stop(timeout)
            else:
                await asyncio.get_running_loop().run_in_executor(None, pool.stop, timeout)

    def __repr__(self) -> str:
        """Name and group."""
        return f"<group member {self.settings.name!r} of group {self.settings.group_id!r}>"

    async def stop(self) -> None:
        """Revoke (handlers finish, offsets committed), leave the group, close connections."""
        if self._stopping:
            await self.done.wait()
            return
        self._stopping = True
        self._rejoin.set()
        membership = self._tasks[0] if self._tasks else None
        if membership is not None:
            try:
                await asyncio.wait_for(
                    asyncio.shield(membership), self.settings.rebalance_timeout + 15.0
                )
            except (TimeoutError, asyncio.CancelledError, Exception) as exc:
                log.warning("%s: membership did not end cleanly: %r", self, exc)
        await self._shutdown()

    async def _shutdown(self) -> None:
        for task in self._tasks:
            if not task.done():
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5.0)
        if self.fetcher is not None:
            await self.fetcher.close()
            await self.fetcher.cluster.close()
        if self.cluster is not None:
            await self.cluster.close()
        self.done.set()

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
            log.error("%s stops: %s", self, exc)
        self._stopping = True
        self._rejoin.set()

    def subscribe(self, topics: Sequence[str]) -> list[str]:
        """Add ``topics`` to the subscription (rejoins when it changed); returns the new ones."""
        new = [t for t in topics if t not in self.topics]
        if new:
            self.topics.extend(new)
            log.info("%s: subscribing to %s as well", self, new)
            self._rejoin.set()
        return new

    # ------------------------------------------------------------------ membership

    async def _membership(self) -> None:
        failures = 0
        try:
            while not self._stopping:
                try:
                    await self._join_and_sync()
                    failures = 0
                    await self._heartbeat_until_rejoin()
                except _RejoinError as exc:
                    if exc.lost or self._stopping or not self._cooperative():
                        await self._revoke_all()
                    continue
                except _FatalError as exc:
                    self._fail(exc.__cause__ or exc)
                except KafkaError as exc:
                    failures += 1
                    delay = min(10.0, self.settings.rejoin_delay * 2 ** min(failures - 1, 4))
                    loud = failures > self.settings.max_rejoin_attempts or isinstance(
                        exc, AuthenticationError | AuthorizationError | TLSError
                    )
                    level = logging.ERROR if loud else logging.INFO
                    log.log(
                        level,
                        "%s: group membership failed (%s, attempt %d); retrying in %.1f s",
                        self,
                        exc,
                        failures,
                        delay,
                    )
                    if not exc.retriable and failures > self.settings.max_rejoin_attempts:
                        self._fail(exc)
                    else:
                        await self._revoke_all()
                        await self._sleep_unless_stopping(delay * random.uniform(0.8, 1.2))
                        continue
                await self._revoke_all()
            await self._leave()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # pragma: no cover - a bug: reported, member stops
            log.exception("%s: membership task failed", self)
            self._fail(exc)
            await self._revoke_all()
        finally:
            if self._stopping and not self.done.is_set():
                asyncio.get_running_loop().create_task(self._shutdown())

    async def _sleep_unless_stopping(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wait_stopping(), delay)

    async def _wait_stopping(self) -> None:
        while not self._stopping:
            self._rejoin.clear()
            await self._rejoin.wait()

    def _coord(
        self, api: int, build: Callable[[int], dict[str, Any]], codes: Any, timeout: float
    ) -> Any:
        assert self.cluster is not None
        return self.cluster.send_to_coordinator(
            self.settings.group_id,
            CoordinatorType.GROUP,
            api,
            build,
            error_codes=codes,
            timeout=timeout,
        )

    async def _join_and_sync(self) -> None:
        self._rejoin.clear()
        self._lead_topics = {}
        self._joining = True
        try:
            await self._join_and_sync_inner()
        finally:
            self._joining = False

    async def _join_and_sync_inner(self) -> None:
        st = self.settings
        owned: dict[str, list[int]] = {}
        for t, p in sorted(self.assigned):
            owned.setdefault(t, []).append(p)
        prev = self.generation
        metadata = encode_subscription(
            self.topics, owned=owned, generation=prev.generation_id if prev is not None else -1
        )
        while True:
            member_id = self.member_id

            def join_body(version: int, member_id: str = member_id) -> dict[str, Any]:
                return {
                    "group_id": st.group_id,
                    "session_timeout_ms": int(st.session_timeout * 1000),
                    "rebalance_timeout_ms": int(st.rebalance_timeout * 1000),
                    "member_id": member_id,
                    "group_instance_id": st.group_instance_id,
                    "protocol_type": PROTOCOL_TYPE,
                    "protocols": [{"name": a, "metadata": metadata} for a in st.assignors],
                    "reason": None,
                }

            resp = await self._coord(
                API_JOIN_GROUP,
                join_body,
                lambda r: [int(r["error_code"])],
                st.rebalance_timeout + st.session_timeout + 10.0,
            )
            code = int(resp["error_code"])
            if code == MEMBER_ID_REQUIRED:
                self.member_id = str(resp["member_id"])
                log.debug("%s: rejoining with member id %s (KIP-394)", self, self.member_id)
                continue
            if code == UNKNOWN_MEMBER_ID:
                self.member_id = ""
                continue
            if code == REBALANCE_IN_PROGRESS:
                await asyncio.sleep(0.1)
                continue
            if code:
                self._raise_group_error(code, "JoinGroup")
            break
        self.member_id = str(resp["member_id"])
        generation = int(resp["generation_id"])
        protocol = str(resp.get("protocol_name") or "")
        leader = str(resp["leader"])
        assignments: list[dict[str, Any]] = []
        if leader == self.member_id:
            assignments = await self._lead(protocol, resp.get("members") or [])

        def sync_body(version: int) -> dict[str, Any]:
            return {
                "group_id": st.group_id,
                "generation_id": generation,
                "member_id": self.member_id,
                "group_instance_id": st.group_instance_id,
                "protocol_type": PROTOCOL_TYPE,
                "protocol_name": protocol,
                "assignments": assignments,
            }

        sync = await self._coord(
            API_SYNC_GROUP,
            sync_body,
            lambda r: [int(r["error_code"])],
            st.rebalance_timeout + 10.0,
        )
        code = int(sync["error_code"])
        if code:
            self._raise_group_error(code, "SyncGroup")
        raw = sync.get("assignment") or b""
        assignment = decode_assignment(bytes(raw))
        gen = _Generation(generation, self.member_id, protocol, assignment)
        pending, self._pending_assign = self._pending_assign, None
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
        self.generation = gen
        self.rebalances += 1
        parts = sorted((t, p) for t, ps in assignment.items() for p in ps)
        if protocol in COOPERATIVE:
            revoked = sorted(set(self.assigned) - set(parts))
            if revoked:
                log.info("%s: handing over %s (cooperative)", self, _fmt_tps(revoked))
                await self._revoke(revoked)
                self._rejoin.set()  # the next round gives them to their new owner
            new = [tp for tp in parts if tp not in self.assigned]
        else:
            new = parts
        log.info(
            "%s: joined generation %d as %s%s with %d partition(s): %s",
            self,
            generation,
            self.member_id,
            " (leader)" if leader == self.member_id else "",
            len(parts),
            _fmt_tps(parts),
        )
        self._pending_assign = asyncio.get_running_loop().create_task(
            self._assign_after_delay(gen, new)
        )

    def _partitions_changed(self, gen: _Generation) -> bool:
        """As leader: whether a subscribed topic's partition count changed (or a missing topic
        appeared) since the assignment, per the cached metadata; then the group rebalances."""
        if not self._lead_topics or self.cluster is None:
            return False
        md = self.cluster.metadata
        if md is None:
            return False
        for topic, count in self._lead_topics.items():
            info = md.topic(topic)
            now = info.partition_count if info is not None and info.error_code == 0 else 0
            if now != count:
                log.info(
                    "%s: topic %r has %d partitions now (%d at the assignment of generation %d); "
                    "rebalancing",
                    self,
                    topic,
                    now,
                    count,
                    gen.generation_id,
                )
                self._lead_topics = {}
                return True
        return False

    def _cooperative(self) -> bool:
        gen = self.generation
        return gen is not None and gen.protocol in COOPERATIVE

    def _raise_group_error(self, code: int, what: str) -> None:
        if code in _REJOIN_CODES:
            if code == UNKNOWN_MEMBER_ID:
                self.member_id = ""
            log.info("%s: %s answered %s; rejoining", self, what, error_name(code))
            raise _RejoinError(lost=code != REBALANCE_IN_PROGRESS)
        err = error_for(code, f"{what} for group {self.settings.group_id!r}")
        if code == FENCED_INSTANCE_ID or not err.retriable:
            raise _FatalError() from err
        raise err

    async def _lead(self, protocol: str, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert self.cluster is not None
        cls = ASSIGNORS.get(protocol)
        if cls is None:
            err = KafkaError(f"the group chose assignor {protocol!r}; kaffe has none")
            raise _FatalError() from err
        subs = [
            decode_subscription(
                str(m["member_id"]), m.get("group_instance_id"), bytes(m["metadata"])
            )
            for m in members
        ]
        counts: dict[str, int] = {}
        for topic in sorted({t for s in subs for t in s.topics}):
            try:
                info = await self.cluster.topic(topic, require_leaders=False)
            except KafkaError as exc:
                log.warning("%s: topic %r is left out of the assignment: %s", self, topic, exc)
                continue
            if info.partition_count:
                counts[topic] = info.partition_count
        plan = cls().assign(subs, counts)
        self._lead_topics = {t: counts.get(t, 0) for s in subs for t in s.topics}
        log.info(
            "%s: as leader, assigned with %s: %s",
            self,
            protocol,
            "; ".join(
                f"{mid}: {_fmt_tps([(t, p) for t, ps in a.items() for p in ps])}"
                for mid, a in plan.items()
            ),
        )
        return [{"member_id": mid, "assignment": encode_assignment(a)} for mid, a in plan.items()]

    async def _heartbeat_until_rejoin(self) -> None:
        st = self.settings
        gen = self.generation
        assert gen is not None
        last_ok = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._rejoin.wait(), st.heartbeat_interval)
            if self._rejoin.is_set() or self._partitions_changed(gen):
                raise _RejoinError()

            def body(version: int) -> dict[str, Any]:
                return {
                    "group_id": st.group_id,
                    "generation_id": gen.generation_id,
                    "member_id": gen.member_id,
                    "group_instance_id": st.group_instance_id,
                }

            try:
                resp = await self._coord(
                    API_HEARTBEAT,
                    body,
                    lambda r: [int(r["error_code"])],
                    max(1.0, st.session_timeout - (time.monotonic() - last_ok)),
                )
            except KafkaError as exc:
                if time.monotonic() - last_ok > st.session_timeout:
                    log.warning(
                        "%s: no heartbeat got through for %.1f s (session timeout %.1f s): %s; "
                        "rejoining",
                        self,
                        time.monotonic() - last_ok,
                        st.session_timeout,
                        exc,
                    )
                    raise _RejoinError(lost=True) from exc
                log.info("%s: heartbeat failed: %s", self, exc)
                continue
            code = int(resp["error_code"])
            if code == 0:
                last_ok = time.monotonic()
                self.heartbeats += 1
                continue
            self._raise_group_error(code, "Heartbeat")

    async def _leave(self) -> None:
        st = self.settings
        if not self.member_id or st.group_instance_id is not None:
            return  # static members keep their partitions until the session times out

        def body(version: int) -> dict[str, Any]:
            if version >= 3:
                return {
                    "group_id": st.group_id,
                    "members": [
                        {"member_id": self.member_id, "group_instance_id": None, "reason": None}
                    ],
                }
            return {"group_id": st.group_id, "member_id": self.member_id}

        try:
            await self._coord(API_LEAVE_GROUP, body, lambda r: [int(r["error_code"])], 5.0)
            log.info("%s: left the group", self)
        except KafkaError as exc:
            log.info("%s: LeaveGroup failed: %s", self, exc)
        self.member_id = ""

    # ------------------------------------------------------------------ assignment

    async def _assign_after_delay(self, gen: _Generation, parts: list[TopicPartition]) -> None:
        if self.settings.rebalance_delay > 0:
            await asyncio.sleep(self.settings.rebalance_delay)
        if self.generation is not gen or self._stopping:
            log.info("%s: dropping the assignment of stale generation %d", self, gen.generation_id)
            return
        assert self.fetcher is not None
        attempt = 0
        while True:
            try:
                committed = await self._offset_fetch(parts)
                break
            except KafkaError as exc:
                attempt += 1
                if attempt > self.settings.subscriber_retries:
                    self._fail(exc)
                    return
                log.warning("%s: OffsetFetch failed (%s); retrying", self, exc)
                await asyncio.sleep(self.settings.subscriber_retry_delay)
                if self.generation is not gen:
                    return
        if self.generation is not gen or self._stopping:
            return
        loop = asyncio.get_running_loop()
        for tp in parts:
            offset = committed.get(tp)
            self.tracker.assign(tp, offset)
            if self._on_partition is not None:
                self._on_partition(tp)
            gate = self._delivery_gate(tp) if self._delivery_gate is not None else None
            if gate is not None:
                self._gates[tp] = gate
            state = self.fetcher.assign(tp[0], tp[1], offset)
            self.assigned[tp] = state
            self._subscribers[tp] = loop.create_task(self._subscriber(gen, tp, state))
        log.info(
            "%s: consuming %s from %s",
            self,
            _fmt_tps(parts),
            ", ".join(f"{t}/{p}@{committed.get((t, p), 'begin')}" for t, p in parts),
        )
        if self._on_assigned is not None and parts:
            await self._callback(self._on_assigned, parts, "on_assigned")

    async def _callback(
        self, fn: Callable[[list[TopicPartition]], Any], parts: list[TopicPartition], what: str
    ) -> None:
        fut = self._callbacks.worker("cb").submit(lambda: fn(list(parts)))
        try:
            await asyncio.wait_for(asyncio.wrap_future(fut), self.settings.rebalance_timeout)
        except TimeoutError:
            log.error(
                "%s: the %s callback is still running after %.1f s (the rebalance timeout)",
                self,
                what,
                self.settings.rebalance_timeout,
            )
        except Exception:
            log.exception("%s: %s callback failed", self, what)

    async def _offset_fetch(self, parts: list[TopicPartition]) -> dict[TopicPartition, int]:
        st = self.settings
        topics: dict[str, list[int]] = {}
        for t, p in parts:
            topics.setdefault(t, []).append(p)
        if not parts:
            return {}
        wanted = [{"name": t, "partition_indexes": ps} for t, ps in sorted(topics.items())]

        def body(version: int) -> dict[str, Any]:
            if version >= 8:
                return {
                    "groups": [
                        {
                            "group_id": st.group_id,
                            "member_id": None,
                            "member_epoch": -1,
                            "topics": wanted,
                        }
                    ],
                    "require_stable": True,
                }
            return {"group_id": st.group_id, "topics": wanted, "require_stable": True}

        def flatten(r: dict[str, Any]) -> tuple[list[int], list[tuple[str, dict[str, Any]]]]:
            groups = r.get("groups")
            if groups:
                top = [int(g.get("error_code", 0)) for g in groups]
                topics_ = [t for g in groups for t in g.get("topics") or ()]
            else:
                top = [int(r.get("error_code", 0))]
                topics_ = list(r.get("topics") or ())
            parts_ = [(str(t["name"]), p) for t in topics_ for p in t["partitions"]]
            return top, parts_

        def codes(r: dict[str, Any]) -> list[int]:
            top, parts_ = flatten(r)
            return top + [int(p["error_code"]) for _, p in parts_]

        assert self.cluster is not None
        for attempt in range(20):
            resp = await self.cluster.send_to_coordinator(
                st.group_id,
                CoordinatorType.GROUP,
                API_OFFSET_FETCH,
                body,
                error_codes=codes,
                timeout=30.0,
            )
            all_codes = [c for c in codes(resp) if c]
            if UNSTABLE_OFFSET_COMMIT in all_codes:
                await asyncio.sleep(min(1.0, 0.05 * 2**attempt))
                continue
            if all_codes:
                raise error_for(all_codes[0], f"OffsetFetch for group {st.group_id!r}")
            out: dict[TopicPartition, int] = {}
            for name, entry in flatten(resp)[1]:
                off = int(entry["committed_offset"])
                if off >= 0:
                    out[(name, int(entry["partition_index"]))] = off
            return out
        raise KafkaError("OffsetFetch: offsets stayed unstable (a transaction is pending)")

    async def _revoke_all(self) -> None:
        pending, self._pending_assign = self._pending_assign, None
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
        parts = sorted(self.assigned)
        if parts:
            await self._revoke(parts)
        self.generation = None

    async def _revoke(self, parts: list[TopicPartition]) -> None:
        """Stop ``parts``: no new batches, running ones finish (up to the rebalance timeout),
        offsets committed, ``on_revoked`` called."""
        assert self.fetcher is not None
        for tp in parts:
            self.fetcher.unassign(*tp)
            gate = self._gates.pop(tp, None)
            if gate is not None:
                gate.close()
        tasks = [self._subscribers[tp] for tp in parts if tp in self._subscribers]
        if tasks:
            _, still = await asyncio.wait(tasks, timeout=self.settings.rebalance_timeout)
            for task in still:
                task.cancel()
            for tp, run in list(self._running.items()):
                if tp in parts:
                    log.error(
                        "%s: the handler for %s/%d (batch from offset %d) is still running after "
                        "%.1f s, past the rebalance timeout (%.1f s); the partition is revoked "
                        "and the batch's result will not be committed",
                        self,
                        tp[0],
                        tp[1],
                        run.first_offset,
                        time.monotonic() - run.started,
                        self.settings.rebalance_timeout,
                    )
        await self.commit()
        for tp in parts:
            self.assigned.pop(tp, None)
            self._subscribers.pop(tp, None)
            self.tracker.unassign(tp)
        gen = self.generation
        log.info(
            "%s: revoked %s (generation %s)",
            self,
            _fmt_tps(parts),
            gen.generation_id if gen else "?",
        )
        if self._on_revoked is not None:
            await self._callback(self._on_revoked, parts, "on_revoked")

    # ------------------------------------------------------------------ subscribers

    def _worker_key(self, tp: TopicPartition) -> Hashable:
        if self.settings.worker_strategy == "worker_per_topic_partition":
            return f"{tp[0]}-{tp[1]}"
        return tp[1]

    async def _subscriber(
        self, gen: _Generation, tp: TopicPartition, state: PartitionFetch
    ) -> None:
        assert self.fetcher is not None
        fetcher = self.fetcher
        worker = self.workers.worker(self._worker_key(tp))
        failures = 0
        while state.active and self.assigned.get(tp) is state:
            try:
                item = await fetcher.next_batch(state)
            except KafkaError as exc:
                failures += 1
                if failures > self.settings.subscriber_retries:
                    self._fail(exc)
                    return
                log.warning(
                    "%s: fetching %s/%d failed (%s); retry %d of %d in %.1f s",
                    self,
                    tp[0],
                    tp[1],
                    exc,
                    failures,
                    self.settings.subscriber_retries,
                    self.settings.subscriber_retry_delay,
                )
                await asyncio.sleep(self.settings.subscriber_retry_delay)
                continue
            if item is None:
                return
            failures = 0
            messages, nbytes = item
            count = len(messages)
            gate = self._gates.get(tp)
            try:
                while messages:
                    if gate is None:
                        chunk, messages = messages, []
                    else:
                        room = gate.room()
                        if room is not None and room <= 0:
                            log.debug(
                                "%s: %s/%d: %d delivered messages wait for acknowledgement; "
                                "delivery waits",
                                self,
                                tp[0],
                                tp[1],
                                gate.outstanding,
                            )
                            room = await gate.wait_for_room()
                            if room <= 0:
                                return  # revoked or stopping
                        if room is None or room >= len(messages):
                            chunk, messages = messages, []
                        else:
                            chunk, messages = messages[:room], messages[room:]
                    if not state.active or self.assigned.get(tp) is not state:
                        return
                    if not await self._run_job(tp, state, worker, chunk):
                        return
            finally:
                self._running.pop(tp, None)
                fetcher.ack(state, count, nbytes)

    async def _run_job(
        self, tp: TopicPartition, state: PartitionFetch, worker: Any, messages: list[Message]
    ) -> bool:
        """Run the job on ``messages`` until it succeeds (a failure is retried after
        ``subscriber_retry_delay``); ``False`` if the partition went away meanwhile."""
        while True:
            job = self._job
            fut: concurrent.futures.Future[Any] | asyncio.Future[Any] = worker.submit(
                lambda job=job, messages=messages: job(messages)
            )
            self._running[tp] = _Running(tp, messages[0].offset, time.monotonic())
            try:
                result = await asyncio.shield(asyncio.wrap_future(fut))
            except Exception as exc:
                log.error(
                    "%s: handler failed on %s/%d offsets %d..%d: %r; nothing committed, "
                    "the batch is delivered again in %.1f s",
                    self,
                    tp[0],
                    tp[1],
                    messages[0].offset,
                    messages[-1].offset,
                    exc,
                    self.settings.subscriber_retry_delay,
                    exc_info=exc,
                )
                self._running.pop(tp, None)
                await asyncio.sleep(self.settings.subscriber_retry_delay)
                if not state.active or self.assigned.get(tp) is not state:
                    return False
                continue
            self._running.pop(tp, None)
            if state.active and self.assigned.get(tp) is state:
                try:
                    self._on_result(tp, messages, result)
                except TypeError as exc:
                    log.error("%s: %s; treated as a failure", self, exc)
                    await asyncio.sleep(self.settings.subscriber_retry_delay)
                    continue
            return True

    async def _watchdog(self) -> None:
        limit = self.settings.rebalance_timeout
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for run in list(self._running.values()):
                if not run.reported and now - run.started > limit:
                    run.reported = True
                    log.error(
                        "%s: the handler for %s/%d (batch from offset %d) has run for %.1f s, "
                        "longer than the rebalance timeout (%.1f s); during a rebalance its "
                        "partition would be revoked and its result discarded",
                        self,
                        run.tp[0],
                        run.tp[1],
                        run.first_offset,
                        now - run.started,
                        limit,
                    )

    # ------------------------------------------------------------------ commits

    async def _commit_periodically(self) -> None:
        interval = self.settings.offset_commit_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: periodic commit failed: %s", self, exc)

    async def commit(self) -> dict[TopicPartition, int]:
        """Commit every offset Kafka does not have yet; returns what was committed."""
        async with self._commit_lock:
            if self._before_commit is not None:
                self._before_commit()
            offsets = self.tracker.to_commit()
            gen = self.generation
            if not offsets or gen is None:
                return {}
            st = self.settings
            topics: dict[str, list[dict[str, Any]]] = {}
            for (t, p), off in sorted(offsets.items()):
                topics.setdefault(t, []).append(
                    {
                        "partition_index": p,
                        "committed_offset": off,
                        "committed_leader_epoch": -1,
                        "committed_metadata": "",
                    }
                )

            def body(version: int) -> dict[str, Any]:
                return {
                    "group_id": st.group_id,
                    "generation_id_or_member_epoch": gen.generation_id,
                    "member_id": gen.member_id,
                    "group_instance_id": st.group_instance_id,
                    "retention_time_ms": -1,
                    "topics": [{"name": t, "partitions": ps} for t, ps in topics.items()],
                }

            def codes(r: dict[str, Any]) -> list[int]:
                return [
                    int(p["error_code"]) for t in r.get("topics") or () for p in t["partitions"]
                ]

            try:
                resp = await self._coord(API_OFFSET_COMMIT, body, codes, 30.0)
            except KafkaError as exc:
                log.warning("%s: OffsetCommit failed: %s", self, exc)
                return {}
            done: dict[TopicPartition, int] = {}
            for t in resp.get("topics") or ():
                for p in t["partitions"]:
                    tp = (str(t["name"]), int(p["partition_index"]))
                    code = int(p["error_code"])
                    if code == 0 and tp in offsets:
                        done[tp] = offsets[tp]
                    elif code:
                        log.warning(
                            "%s: committing %s/%d at %s: %s",
                            self,
                            tp[0],
                            tp[1],
                            offsets.get(tp),
                            error_name(code),
                        )
                        if code in _REJOIN_CODES and not self._stopping and not self._joining:
                            self._rejoin.set()
            self.tracker.committed(done)
            if done:
                log.debug("%s: committed %s", self, done)
            return done

    # ------------------------------------------------------------------ introspection

    def assignment(self) -> list[TopicPartition]:
        """The partitions being consumed now."""
        return sorted(self.assigned)

    def lags(self) -> dict[TopicPartition, int | None]:
        """Per assigned partition: high watermark minus position (``None`` if unknown)."""
        return {tp: s.lag() for tp, s in sorted(self.assigned.items())}


def _fmt_tps(parts: Sequence[TopicPartition]) -> str:
    if not parts:
        return "none"
    by: dict[str, list[int]] = {}
    for t, p in parts:
        by.setdefault(t, []).append(p)
    return ", ".join(f"{t}{sorted(ps)}" for t, ps in sorted(by.items()))
