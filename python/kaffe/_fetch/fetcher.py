"""The fetcher: Fetch requests per broker, scheduled per partition, over up to three "lanes".

Runs on the client's event loop. Each assigned partition has a :class:`PartitionFetch`: its
position (the next offset to fetch), a buffer of decoded batches waiting for the subscriber, the
prefetch accounting (messages and bytes delivered but not yet acknowledged) and its own schedule
(the fetch it is in, if any, and the time before which it is not asked for again). Every
partition of one response is decoded with one :func:`kaffe._core.decode_record_batches` call
and becomes one batch of :class:`kaffe.Message`.

Scheduling (brod's semantics, per partition as brod's partition consumers have them):

* A partition is *ready* when it is assigned, has a position, is in no fetch in flight, is not
  sleeping or backing off, and may fetch more (``pending count < prefetch_count`` or
  ``pending bytes < prefetch_bytes``, as brod).
* Kafka answers the requests of one connection strictly in order, so a Fetch that long-polls
  (``min_bytes`` not there yet, up to ``max_wait_time``) holds up everything behind it on its
  connection. The ready partitions of a broker therefore go out at once in one Fetch on a
  *lane*: a connection of its own (a :class:`~kaffe._net.pool.ConnectionPool` per lane) carrying
  at most one Fetch. A broker gets a second or third lane only when every lane it has is
  long-polling (every partition in it had caught up when it was sent, or it has been out for
  more than ``_LONG_POLL_GUESS``); a lane whose fetch is about to return data is waited for
  instead. With three lanes long-polling, the one out longest is cancelled (its connection
  closed) and its partitions go out again together with the ready ones on a fresh lane. So a
  partition that becomes ready (just assigned, acknowledged after a prefetch pause, its sleep
  over) is fetched at once, whatever long polls are in flight for the broker's other partitions.
* A partition that came back empty sleeps ``sleep_timeout`` before it is asked again: with
  ``min_bytes`` 0 whenever it got nothing, with ``min_bytes`` >= 1 only when the long poll came
  back with nothing at all (a partition that got nothing because another one's data ended the
  wait is asked again at once). Other partitions of the broker never sleep with it.
* Errors of one partition (``NOT_LEADER_OR_FOLLOWER`` and friends, other retriable codes)
  refresh metadata and back that partition off (capped exponential, jittered); a lost
  connection backs the broker off.
* Unassigning a partition (revocation, shutdown) never waits for a fetch in flight: the answer
  for it is dropped when it comes. :meth:`Fetcher.close` cancels the fetches in flight and
  closes their connections.

Other rules:

* ``isolation_level`` ``read_committed`` (default): batches of aborted transactions
  (``aborted_transactions`` of the response) and control batches are dropped.
* ``OFFSET_OUT_OF_RANGE``: resets per ``offset_reset_policy``. ListOffsets and metadata use the
  cluster's own connections, never a lane, so they never queue behind a long poll.
* A record batch bigger than the partition's byte limit (a response with data and nothing
  decodable) doubles that partition's limit for the next request instead of asking again.
* Authentication, authorization and TLS failures (wrong SASL credentials, a refused
  certificate) are not retried silently: they become the partitions' errors, which the
  subscribers see (and the group engine retries ``subscriber_retries`` times, then stops the
  member with the error).

Incremental fetch sessions (KIP-227, Fetch v7+), one per lane: the first request of a lane is a
full fetch that asks for a session; later ones send only partitions whose offset or byte limit
changed, and list as forgotten every partition of the session that is not in this request
(unassigned, paused by the prefetch limits, sleeping, or in another lane now: the broker answers
for every partition of a session, so a partition must be in one session at a time while it is
being fetched). ``FETCH_SESSION_ID_NOT_FOUND`` / ``INVALID_FETCH_SESSION_EPOCH``, a lost or
cancelled connection start a new session with a full fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import struct
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from kaffe._cluster.client import Cluster
from kaffe._cluster.errors import STALE_METADATA_ERRORS, error_for, error_name, is_retriable
from kaffe._core import RecordBatch, decode_record_batches
from kaffe._net.connection import BrokerConnection
from kaffe._net.pool import ConnectionPool
from kaffe._protocol import ApiKey, ErrorCode
from kaffe._util import WAIT_TIMEOUTS, backoff_delay
from kaffe.errors import (
    AuthenticationError,
    AuthorizationError,
    KafkaError,
    KafkaTimeoutError,
    ProtocolError,
    TLSError,
)
from kaffe.message import Message, wrap_records

__all__ = ["FetchSettings", "Fetcher", "PartitionFetch"]

log = logging.getLogger("kaffe.fetch")

_MAX_EPOCH = 2**31 - 1
_MIN_REFRESH_INTERVAL = 0.25
EARLIEST = -2
LATEST = -1
_MAX_PARTITION_BYTES = 256 * 1024 * 1024
_CONTROL_KEY = struct.Struct(">hh")
_MAX_LANES = 3
"""Fetches in flight per broker at most (each on a connection of its own)."""
_LONG_POLL_GUESS = 0.1
"""Seconds after which a fetch still in flight is taken for a long poll (a fetch with data to
return comes back within milliseconds)."""
_IDLE_CHECK = 1.0
"""The manager looks at the partitions at least this often (seconds)."""
_FETCH_GRACE_S = 5.0
"""Seconds a Fetch's answer may be late: the broker answers a long poll at ``max_wait_time`` at
the latest, so one still unanswered ``max_wait_time`` + this much later went out on a dead
connection (half-open, blackholed, a stopped broker). The grace covers the broker's own delay
and sending the response (at most ``max_bytes``, 1 MB by default). A late answer costs one
reconnect and a full fetch; waiting the whole ``request_timeout`` (Kafka's Java consumer uses
its 30 s ``request.timeout.ms`` for a Fetch with a 0.5 s wait) would stall the partitions that
long after every such fault, and each lane of the broker could stall them again."""
_BACKOFF_FIRST_S = 0.1
_BACKOFF_MAX_S = 2.0
"""A failing broker or partition waits 100 ms after its first failure, doubling up to 2 s."""
_ABORT = 0

ResetTo = Literal["earliest", "latest"]
OffsetResetPolicy = Literal["reset_by_subscriber", "reset_to_earliest", "reset_to_latest"]


@dataclass(frozen=True)
class FetchSettings:
    """Fetch tuning, from Kaffe's/brod's consumer keys (times in seconds). ``min_bytes`` is 1
    (Kaffe's is 0): a fetch long-polls up to ``max_wait_time`` and returns when a record lands."""

    max_bytes: int = 1_000_000
    min_bytes: int = 1
    max_wait_time: float = 10.0
    sleep_timeout: float = 1.0
    prefetch_count: int = 10
    prefetch_bytes: int = 102_400
    read_committed: bool = True
    offset_reset_policy: OffsetResetPolicy = "reset_by_subscriber"
    begin: ResetTo = "latest"
    """Where a partition without a committed offset starts; also where ``reset_by_subscriber``
    resets to (kaffe's subscriber resets like ``start_with_earliest_message`` says)."""


@dataclass
class _Session:
    """A KIP-227 fetch session with one broker: its id, the next epoch (``0``: ask for a new
    session with a full fetch) and what the broker holds per partition (offset, byte limit)."""

    session_id: int = 0
    epoch: int = 0
    parts: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)


@dataclass(eq=False)
class _Lane:
    """One connection to a broker carrying at most one Fetch at a time, with its own KIP-227
    session (see the module docs)."""

    node: int
    pool: ConnectionPool
    session: _Session = field(default_factory=_Session)
    task: asyncio.Task[None] | None = None
    started: float = 0.0
    long_poll: bool = False
    """Every partition of the fetch in flight had caught up when it was sent."""

    @property
    def busy(self) -> bool:
        """Whether a fetch is in flight."""
        return self.task is not None and not self.task.done()

    def waiting_since(self) -> float:
        """When the fetch in flight counts as a long poll (``time.monotonic()``)."""
        return self.started if self.long_poll else self.started + _LONG_POLL_GUESS


@dataclass
class PartitionFetch:
    """Fetch state of one assigned partition (see the module docs)."""

    topic: str
    partition: int
    position: int | None
    reset_to: ResetTo | None = None
    limit: int = 0
    batches: deque[tuple[list[Message], int]] = field(default_factory=deque)
    pending_count: int = 0
    pending_bytes: int = 0
    high_watermark: int = -1
    error: KafkaError | None = None
    active: bool = True
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    lane: _Lane | None = field(default=None, repr=False)
    """The lane whose fetch in flight includes this partition (``None``: none)."""
    not_before: float = 0.0
    """``time.monotonic()`` before which it is not fetched (an empty-fetch sleep, a backoff)."""
    failures: int = 0

    @property
    def tp(self) -> tuple[str, int]:
        """``(topic, partition)``."""
        return (self.topic, self.partition)

    def lag(self) -> int | None:
        """Messages between the position and the high watermark (``None`` if unknown)."""
        if self.high_watermark < 0 or self.position is None:
            return None
        return max(0, self.high_watermark - self.position)


class Fetcher:
    """Fetches every assigned partition from its leader (see the module docs)."""

    def __init__(self, cluster: Cluster, settings: FetchSettings) -> None:
        """Use ``cluster`` (a cluster with its own connections: long-polling fetches must not
        delay heartbeats) with ``settings``."""
        self.cluster = cluster
        self.settings = settings
        self._parts: dict[tuple[str, int], PartitionFetch] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lanes: dict[int, list[_Lane]] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._node_not_before: dict[int, float] = {}
        self._node_failures: dict[int, int] = {}
        self._last_refresh = 0.0
        self._resetting: asyncio.Task[None] | None = None
        self._refreshing: asyncio.Task[None] | None = None
        self._closed = False

    # ------------------------------------------------------------------ assignment

    def assign(self, topic: str, partition: int, offset: int | None) -> PartitionFetch:
        """Start fetching ``topic``/``partition`` at ``offset`` (``None``: at the begin offset
        from the settings). Returns its state; replaces any previous state."""
        old = self._parts.pop((topic, partition), None)
        if old is not None:
            old.active = False
            old.ready.set()
        state = PartitionFetch(
            topic,
            partition,
            offset,
            reset_to=None if offset is not None else self.settings.begin,
            limit=self.settings.max_bytes,
        )
        self._parts[(topic, partition)] = state
        if topic not in self.cluster.topics_snapshot():
            self.cluster.invalidate([topic])
        self._ensure_running()
        self._wake.set()
        return state

    def unassign(self, topic: str, partition: int) -> None:
        """Stop fetching ``topic``/``partition``; its buffered batches are dropped."""
        state = self._parts.pop((topic, partition), None)
        if state is not None:
            state.active = False
            state.batches.clear()
            state.ready.set()

    def assigned(self) -> list[PartitionFetch]:
        """The states of every assigned partition."""
        return list(self._parts.values())

    def seek(self, state: PartitionFetch, offset: int) -> None:
        """Drop buffered batches and fetch ``state`` from ``offset`` next."""
        state.batches.clear()
        state.pending_count = 0
        state.pending_bytes = 0
        state.position = offset
        state.reset_to = None
        self._wake.set()

    # ------------------------------------------------------------------ subscriber side

    async def next_batch(self, state: PartitionFetch) -> tuple[list[Message], int] | None:
        """The next buffered batch of ``state`` and its size in bytes, waiting for one; ``None``
        once the partition is unassigned. Raises the partition's fetch error, if any (once)."""
        while state.active:
            if state.error is not None:
                err, state.error = state.error, None
                raise err
            if state.batches:
                return state.batches.popleft()
            state.ready.clear()
            await state.ready.wait()
        return None

    def ack(self, state: PartitionFetch, count: int, nbytes: int) -> None:
        """The subscriber finished a batch of ``count`` messages / ``nbytes`` bytes: it no longer
        counts against the prefetch limits."""
        state.pending_count = max(0, state.pending_count - count)
        state.pending_bytes = max(0, state.pending_bytes - nbytes)
        self._wake.set()

    # ------------------------------------------------------------------ the manager

    def _ensure_running(self) -> None:
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kaffe-fetcher")

    def _may_fetch(self, s: PartitionFetch) -> bool:
        if not s.active or s.position is None or s.error is not None:
            return False
        st = self.settings
        return s.pending_count < st.prefetch_count or s.pending_bytes < st.prefetch_bytes

    def sessions(self) -> list[_Session]:
        """The KIP-227 sessions of every lane (for tests and diagnostics)."""
        return [lane.session for lanes in self._lanes.values() for lane in lanes]

    async def _run(self) -> None:
        try:
            while not self._closed:
                self._wake.clear()
                delay = self._schedule()
                with contextlib.suppress(*WAIT_TIMEOUTS):
                    await asyncio.wait_for(self._wake.wait(), max(0.005, delay))
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - a bug; logged loudly, restarted
            log.exception("the fetcher's manager failed; restarting it")
            self._task = None
            if not self._closed:
                await asyncio.sleep(0.5)
                self._ensure_running()

    def _schedule(self) -> float:
        """Start a fetch for every broker with ready partitions and a lane for them; returns the
        seconds until something is due (a sleep or backoff ends, a fetch counts as a long
        poll)."""
        md = self.cluster.metadata
        now = time.monotonic()
        due = now + _IDLE_CHECK
        need_reset = [s for s in self._parts.values() if s.active and s.position is None]
        if need_reset and (self._resetting is None or self._resetting.done()):
            self._resetting = asyncio.get_running_loop().create_task(
                self._reset_offsets(need_reset), name="kaffe-fetch-reset"
            )
        by_node: dict[int, list[PartitionFetch]] = {}
        leaderless: list[str] = []
        for s in self._parts.values():
            if s.lane is not None or not self._may_fetch(s):
                continue
            if s.not_before > now:
                due = min(due, s.not_before)
                continue
            leader = md.leader_for(s.topic, s.partition) if md is not None else None
            if leader is None:
                leaderless.append(s.topic)
                continue
            by_node.setdefault(leader, []).append(s)
        if leaderless:
            self._refresh(leaderless)
        for node, ready in by_node.items():
            not_before = self._node_not_before.get(node, 0.0)
            if not_before > now:
                due = min(due, not_before)
                continue
            lane = self._lane_for(node, ready, now)
            if lane is None:
                later = [ln.waiting_since() for ln in self._lanes.get(node, ())]
                due = min([due, *(t for t in later if t > now)])
                continue
            self._start(lane, ready, now)
        return due - now

    def _lane_for(self, node: int, ready: list[PartitionFetch], now: float) -> _Lane | None:
        """A lane to fetch ``ready`` from ``node`` on now: an idle one, a new one when every
        lane is long-polling, or (at ``_MAX_LANES``) a fresh one replacing the lane that has
        long-polled longest, whose partitions are added to ``ready``. ``None``: wait for a lane
        whose fetch is about to return."""
        lanes = self._lanes.setdefault(node, [])
        for lane in lanes:
            if not lane.busy:
                return lane
        polling = [lane for lane in lanes if lane.waiting_since() <= now]
        if len(lanes) == len(polling):
            if len(lanes) >= _MAX_LANES:
                # the lane out longest; one that only holds unassigned partitions first
                victim = min(polling, key=lambda ln: (self._holds_live(ln), ln.started))
                lanes.remove(victim)
                self._retire(victim)
                for s in self._parts.values():
                    if s.lane is victim:
                        s.lane = None
                        if self._may_fetch(s):
                            ready.append(s)
                log.debug("broker %d: every lane is long-polling; reissuing one", node)
            fresh = _Lane(node, ConnectionPool(self.cluster.pool.options))
            lanes.append(fresh)
            return fresh
        return None

    def _holds_live(self, lane: _Lane) -> bool:
        return any(s.lane is lane for s in self._parts.values())

    def _retire(self, lane: _Lane) -> None:
        """Cancel ``lane``'s fetch (unless it is the caller) and close its connection in the
        background."""
        if lane.task is not None and lane.task is not asyncio.current_task():
            lane.task.cancel()
        closing = asyncio.get_running_loop().create_task(lane.pool.close())
        self._retiring.add(closing)
        closing.add_done_callback(self._retiring.discard)

    async def _suspect(self, node: int, exc: KafkaError) -> None:
        """A request to ``node`` got no answer in time (``exc``). Its other connections were
        opened the same way and are most likely just as dead (a half-open connection, a
        blackhole, a stopped broker): every lane of the node is retired (the next fetch goes
        out on a fresh connection) and the cluster's own connection to it is closed and marked
        suspect, so the metadata refresh asks another broker first."""
        lanes = self._lanes.pop(node, [])
        for lane in lanes:
            self._retire(lane)
        for s in self._parts.values():
            if s.lane in lanes:  # fetched again on a fresh lane once the node's backoff ends
                s.lane = None
        md = self.cluster.metadata
        broker = md.broker(node) if md is not None else None
        if broker is not None:
            await self.cluster.pool.suspect(broker.host, broker.port, exc)
        log.info("broker %d: %d fetch connection(s) closed after %s", node, len(lanes), exc)

    def _start(self, lane: _Lane, parts: list[PartitionFetch], now: float) -> None:
        lane.started = now
        lane.long_poll = self.settings.min_bytes > 0 and all(s.lag() == 0 for s in parts)
        for s in parts:
            s.lane = lane
        lane.task = asyncio.get_running_loop().create_task(
            self._fetch(lane, parts), name=f"kaffe-fetch-{lane.node}"
        )

    def _refresh(self, topics: Iterable[str]) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            return
        wanted = sorted(set(topics))

        async def refresh() -> None:
            # at most a few refreshes per second while a leader is being elected
            wait = self._last_refresh + _MIN_REFRESH_INTERVAL - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_refresh = time.monotonic()
            try:
                await self.cluster.refresh_metadata(wanted, force=True)
            except KafkaError as exc:
                log.info("metadata refresh for %s failed: %s", wanted, exc)
                await asyncio.sleep(random.uniform(0.2, 0.5))
            self._wake.set()

        self._refreshing = asyncio.get_running_loop().create_task(refresh())

    def _backoff_node(self, node: int) -> None:
        failures = self._node_failures.get(node, 0) + 1
        self._node_failures[node] = failures
        self._node_not_before[node] = time.monotonic() + backoff_delay(
            failures, _BACKOFF_FIRST_S, _BACKOFF_MAX_S
        )

    @staticmethod
    def _backoff_partition(state: PartitionFetch) -> None:
        state.failures += 1
        state.not_before = time.monotonic() + backoff_delay(
            state.failures, _BACKOFF_FIRST_S, _BACKOFF_MAX_S
        )

    # ------------------------------------------------------------------ one fetch

    async def _connect(self, lane: _Lane) -> BrokerConnection:
        md = self.cluster.metadata
        broker = md.broker(lane.node) if md is not None else None
        if broker is None:
            md = await self.cluster.refresh_metadata(timeout=10.0)
            broker = md.broker(lane.node)
        if broker is None:
            raise KafkaError(f"broker {lane.node} is not in the cluster metadata", retriable=True)
        try:
            return await asyncio.wait_for(
                lane.pool.get(broker.host, broker.port, broker.node_id), 10.0
            )
        except WAIT_TIMEOUTS:
            raise KafkaTimeoutError(
                f"connecting to broker {lane.node} at {broker.host}:{broker.port} for a fetch: "
                "not done within 10 s"
            ) from None

    async def _fetch(self, lane: _Lane, parts: list[PartitionFetch]) -> None:
        """One Fetch on ``lane`` for ``parts``; they are ready again when it ends."""
        try:
            await self._fetch_on(lane, parts)
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - a bug; logged loudly, the broker backs off
            log.exception("fetch from broker %d failed unexpectedly", lane.node)
            lane.session = _Session()
            self._backoff_node(lane.node)
        finally:
            for s in parts:
                if s.lane is lane:
                    s.lane = None
            self._wake.set()

    async def _fetch_on(self, lane: _Lane, parts: list[PartitionFetch]) -> None:
        st = self.settings
        node = lane.node
        session = lane.session
        try:
            conn = await self._connect(lane)
            version = conn.api_version(ApiKey.FETCH)
            parts = [s for s in parts if s.active and s.position is not None]
            if not parts:
                return
            asked = {s.tp: (s, s.position) for s in parts}
            wanted: dict[tuple[str, int], tuple[int, int]] = {
                s.tp: (s.position, s.limit) for s in parts if s.position is not None
            }
            if version < 7:
                session_id, epoch = 0, -1
                send = list(wanted)
                forget: list[tuple[str, int]] = []
            elif session.epoch == 0 or session.session_id == 0:
                session_id, epoch = 0, 0  # full fetch, asking for a new session
                send = list(wanted)
                forget = []
            else:
                session_id, epoch = session.session_id, session.epoch
                send = [tp for tp, v in wanted.items() if session.parts.get(tp) != v]
                forget = [tp for tp in session.parts if tp not in wanted]
            topics: dict[str, list[dict[str, Any]]] = {}
            for tp in send:
                off, lim = wanted[tp]
                topics.setdefault(tp[0], []).append(
                    {"partition": tp[1], "fetch_offset": off, "partition_max_bytes": lim}
                )
            forgotten: dict[str, list[int]] = {}
            for ft, fp in forget:
                forgotten.setdefault(ft, []).append(fp)
            total = max(st.max_bytes, min(52_428_800, sum(s.limit for s in parts)))
            body = {
                "replica_id": -1,
                "max_wait_ms": int(st.max_wait_time * 1000),
                "min_bytes": st.min_bytes,
                "max_bytes": total,
                "isolation_level": 1 if st.read_committed else 0,
                "session_id": session_id,
                "session_epoch": epoch,
                "topics": [{"topic": t, "partitions": ps} for t, ps in topics.items()],
                "forgotten_topics_data": [
                    {"topic": t, "partitions": ps} for t, ps in forgotten.items()
                ],
                "rack_id": "",
            }
            resp = await conn.request(
                ApiKey.FETCH, body, version=version, timeout=st.max_wait_time + _FETCH_GRACE_S
            )
        except KafkaError as exc:
            lane.session = _Session()
            if _is_fatal(exc):
                # Wrong credentials or a refused certificate fail the same way again: the
                # partitions' subscribers get the error (they retry subscriber_retries times,
                # then the member stops with it) instead of the fetcher retrying silently.
                log.error("fetch from broker %d failed: %s", node, exc)
                for s in parts:
                    if s.active:
                        s.error = exc
                        s.ready.set()
                self._backoff_node(node)
                return
            log.info("fetch from broker %d failed: %s; refreshing metadata", node, exc)
            if isinstance(exc, KafkaTimeoutError):
                await self._suspect(node, exc)
            self.cluster.invalidate(s.topic for s in parts)
            self._refresh(s.topic for s in parts)
            self._backoff_node(node)
            return
        except asyncio.CancelledError:
            lane.session = _Session()  # the broker may or may not have moved the epoch on
            raise
        self._node_failures.pop(node, None)
        top = int(resp.get("error_code", 0))
        if top:
            lane.session = _Session()
            if top in (ErrorCode.FETCH_SESSION_ID_NOT_FOUND, ErrorCode.INVALID_FETCH_SESSION_EPOCH):
                log.info(
                    "fetch session with broker %d: %s; starting a new one", node, error_name(top)
                )
            else:
                log.warning("fetch from broker %d: %s", node, error_name(top))
                for s in parts:
                    self._backoff_partition(s)
            return
        if version >= 7:
            if epoch == 0:
                session.session_id = int(resp.get("session_id", 0))
                session.epoch = 1 if session.session_id else 0
                if session.session_id:
                    log.debug("fetch session %d with broker %d", session.session_id, node)
            else:
                session.epoch = 1 if session.epoch >= _MAX_EPOCH else session.epoch + 1
            session.parts = dict(wanted)
        got: set[tuple[str, int]] = set()
        failed = False
        stale: list[str] = []
        for t in resp.get("responses") or ():
            topic = str(t["topic"])
            for p in t.get("partitions") or ():
                entry = asked.get((topic, int(p["partition_index"])))
                if entry is None:
                    continue
                state, offset = entry
                if not state.active or state.position != offset or offset is None:
                    continue  # unassigned or moved while the request was out
                code = int(p["error_code"])
                if code:
                    failed = True
                    got.add(state.tp)
                    self._partition_error(state, code, stale)
                    continue
                state.high_watermark = int(p["high_watermark"])
                if self._take_records(state, offset, p):
                    got.add(state.tp)
                    state.failures = 0
        if stale:
            self.cluster.invalidate(stale)
            self._refresh(stale)
        # brod's sleep_timeout, per partition: after an empty answer (min_bytes 0), or after a
        # long poll that came back with nothing at all (min_bytes >= 1); a partition that got
        # nothing because another one's data ended the wait is asked again at once
        if st.sleep_timeout > 0 and (st.min_bytes == 0 or not (got or failed)):
            until = time.monotonic() + st.sleep_timeout
            for state, _offset in asked.values():
                if state.tp not in got and state.active:
                    state.not_before = until

    def _partition_error(self, state: PartitionFetch, code: int, stale: list[str]) -> None:
        where = f"topic {state.topic!r} partition {state.partition}"
        if code == ErrorCode.OFFSET_OUT_OF_RANGE:
            policy = self.settings.offset_reset_policy
            to: ResetTo
            if policy == "reset_to_earliest":
                to = "earliest"
            elif policy == "reset_to_latest":
                to = "latest"
            else:
                to = self.settings.begin
            log.warning(
                "%s: offset %s is out of range; resetting to the %s offset (%s)",
                where,
                state.position,
                to,
                policy,
            )
            state.position = None
            state.reset_to = to
            self._wake.set()
        elif code in STALE_METADATA_ERRORS:
            log.info("%s: %s; refreshing metadata", where, error_name(code))
            stale.append(state.topic)
            self._backoff_partition(state)
        elif is_retriable(code):
            log.info("%s: %s; retrying", where, error_name(code))
            stale.append(state.topic)
            self._backoff_partition(state)
        else:
            state.error = error_for(code, f"fetching {where}")
            state.ready.set()

    def _take_records(self, state: PartitionFetch, offset: int, p: dict[str, Any]) -> bool:
        raw = p.get("records")
        if not raw:
            return False
        data = bytes(raw)
        try:
            batches, consumed = decode_record_batches(data)
        except KafkaError as exc:
            state.error = exc
            state.ready.set()
            return False
        if not batches:
            if state.limit < _MAX_PARTITION_BYTES:
                state.limit = min(_MAX_PARTITION_BYTES, state.limit * 2)
                log.info(
                    "%s/%d: a record batch at offset %d is larger than %d bytes; asking for up "
                    "to %d bytes",
                    state.topic,
                    state.partition,
                    offset,
                    len(data),
                    state.limit,
                )
                return True
            state.error = ProtocolError(
                f"{state.topic}/{state.partition}: no complete record batch in "
                f"{len(data)} bytes at offset {offset}"
            )
            state.ready.set()
            return False
        if state.limit > self.settings.max_bytes:
            state.limit = max(self.settings.max_bytes, state.limit // 2)
        aborted: list[tuple[int, int]] = []
        if self.settings.read_committed:
            aborted = sorted(
                (int(a["first_offset"]), int(a["producer_id"]))
                for a in p.get("aborted_transactions") or ()
            )
        aborted_pids: set[int] = set()
        topic, partition = state.topic, state.partition
        out: list[Message] = []
        next_pos = offset
        ai = 0
        for b in batches:
            last = b.last_offset
            if last + 1 > next_pos:
                next_pos = last + 1
            if last < offset:
                continue
            if aborted:
                while ai < len(aborted) and aborted[ai][0] <= last:
                    aborted_pids.add(aborted[ai][1])
                    ai += 1
            if b.is_control:
                if b.producer_id in aborted_pids and _is_abort_marker(b):
                    aborted_pids.discard(b.producer_id)
                continue
            if aborted_pids and b.is_transactional and b.producer_id in aborted_pids:
                continue
            ts_type = b.timestamp_type if b.magic > 0 else None
            recs = b.records
            if b.base_offset < offset:
                recs = [r for r in recs if r[0] >= offset]
            out.extend(wrap_records(topic, partition, recs, ts_type))
        state.position = next_pos
        if out:
            state.batches.append((out, consumed))
            state.pending_count += len(out)
            state.pending_bytes += consumed
            state.ready.set()
            return True
        return next_pos > offset

    # ------------------------------------------------------------------ offsets

    async def _reset_offsets(self, states: list[PartitionFetch]) -> None:
        """Resolve ``earliest``/``latest`` positions with ListOffsets at the leaders."""
        by_node: dict[int, list[PartitionFetch]] = {}
        for s in states:
            try:
                broker = await self.cluster.leader_for(s.topic, s.partition, timeout=5.0)
            except KafkaError as exc:
                if _is_fatal(exc):
                    log.error("looking up the leader of %s/%d: %s", s.topic, s.partition, exc)
                    s.error = exc
                    s.ready.set()
                    continue
                log.info("no leader for %s/%d yet: %s", s.topic, s.partition, exc)
                continue
            by_node.setdefault(broker.node_id, []).append(s)
        for node, parts in by_node.items():
            try:
                await self._list_offsets(node, parts)
            except KafkaError as exc:
                if _is_fatal(exc):
                    log.error("ListOffsets at broker %d failed: %s", node, exc)
                    for s in parts:
                        s.error = exc
                        s.ready.set()
                    continue
                log.info("ListOffsets at broker %d failed: %s", node, exc)
                self.cluster.invalidate(s.topic for s in parts)
        if any(s.active and s.position is None for s in states):
            await asyncio.sleep(random.uniform(0.1, 0.3))
        self._wake.set()

    async def _list_offsets(self, node: int, parts: list[PartitionFetch]) -> None:
        conn = await self.cluster.connection_for_node(node, timeout=10.0)
        topics: dict[str, list[dict[str, Any]]] = {}
        for s in parts:
            ts = EARLIEST if s.reset_to == "earliest" else LATEST
            topics.setdefault(s.topic, []).append(
                {"partition_index": s.partition, "current_leader_epoch": -1, "timestamp": ts}
            )
        body = {
            "replica_id": -1,
            "isolation_level": 1 if self.settings.read_committed else 0,
            "topics": [{"name": t, "partitions": ps} for t, ps in topics.items()],
            "timeout_ms": 10_000,
        }
        resp = await conn.request(ApiKey.LIST_OFFSETS, body, timeout=15.0)
        index = {x.tp: x for x in parts}
        for t in resp.get("topics") or ():
            for p in t.get("partitions") or ():
                ps_ = index.get((str(t["name"]), int(p["partition_index"])))
                if ps_ is None or not ps_.active or ps_.position is not None:
                    continue
                code = int(p["error_code"])
                if code == 0:
                    ps_.position = int(p["offset"])
                    log.info(
                        "%s/%d starts at the %s offset %d",
                        ps_.topic,
                        ps_.partition,
                        ps_.reset_to,
                        ps_.position,
                    )
                    ps_.reset_to = None
                elif code in STALE_METADATA_ERRORS or is_retriable(code):
                    self.cluster.invalidate([ps_.topic])
                else:
                    ps_.error = error_for(code, f"ListOffsets for {ps_.topic}/{ps_.partition}")
                    ps_.ready.set()

    # ------------------------------------------------------------------ closing

    async def close(self) -> None:
        """Stop fetching; partitions are unassigned."""
        self._closed = True
        for key in list(self._parts):
            self.unassign(*key)
        lanes = [lane for node_lanes in self._lanes.values() for lane in node_lanes]
        self._lanes.clear()
        tasks = [self._task, self._resetting, self._refreshing, *(ln.task for ln in lanes)]
        for task in tasks:
            if task is not None and not task.done():
                task.cancel()
        for task in tasks:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, 2.0)
        await asyncio.gather(
            *(ln.pool.close() for ln in lanes), *self._retiring, return_exceptions=True
        )


def _is_fatal(exc: KafkaError) -> bool:
    """Errors that retrying the same request cannot fix (authentication, TLS, authorization)."""
    return isinstance(exc, AuthenticationError | AuthorizationError | TLSError)


def _is_abort_marker(batch: RecordBatch) -> bool:
    for rec in batch.records:
        key = rec[2]
        if key is not None and len(key) >= 4:
            _version, kind = _CONTROL_KEY.unpack_from(key)
            return bool(kind == _ABORT)
    return False
