"""The producer engine: queues records per partition, cuts batches, sends Produce requests.

Everything here runs on the client's event loop. :meth:`Engine.push` appends a produce
call's records to the partitions' queues and returns one future per chunk. One sender task
(:meth:`Engine._run`) wakes when records arrive, a response comes back or a linger/backoff timer
expires, and then, round by round, takes at most one batch per partition whose batch is ready
(lingering done) and whose in-flight count is under the limit, groups the round's batches by
leader and sends one Produce request per broker. Requests to a broker are pipelined on its
connection, so several are in flight at once; per partition at most ``partition_onwire_limit``
(at most 5 with idempotence, which keeps them in order; without idempotence more than 1 may
reorder on retry, as in brod).

Every chunk has a delivery deadline (loop time, ``delivery_timeout_ms`` after the produce call).
A batch that fails retriably (a dropped connection, a broker that cannot be reached, a request
timeout, ``NOT_LEADER_OR_FOLLOWER``, ``NOT_ENOUGH_REPLICAS``...) refreshes metadata and is
re-sent after its backoff (:meth:`~kaffe._producer.settings.ProducerSettings.retry_backoff`:
exponential from ``retry_backoff_ms`` to ``retry_backoff_max_ms``, jittered), or as soon as
metadata names a leader other than the broker that failed it, for as long as its deadline
allows, so a leader election (seconds) is ridden through; ``max_retries``, when the
user sets one, also ends it after that many retries. A batch given up on fails its chunks with
the last error, its message saying why (the count or the deadline). Queued chunks whose deadline
passes (no leader, broker unreachable) fail with :class:`kaffe.KafkaTimeoutError`. Metadata
refreshes are rate-limited: one at a time, and while they keep being asked for, each waits
longer after the previous one (exponential from 0.1 s to ``retry_backoff_max_ms``), so a long
election costs about one Metadata request a second.

``MESSAGE_TOO_LARGE`` (as the Java client does): a batch of more than one record is cut in two
(about half the bytes each, see :func:`kaffe._producer.accumulator.halve`) and the halves are
re-sent at once (no backoff, not counted as a retry), in order, and cut again if still too
large; a single record too large fails its message with :class:`kaffe.MessageTooLargeError`
naming topic, partition and size. With
idempotence the halves keep the producer id, epoch and sequence range of the batch they replace
(the first half starts at its base sequence, the second follows the first), so batches sent
after it stay in sequence; the broker wrote nothing of a rejected batch, so there is nothing to
deduplicate. Batches behind it that reach the broker first are answered
``OUT_OF_ORDER_SEQUENCE_NUMBER`` and retried after the halves.

A batch the broker rejects with a non-retriable error (a single record too large, an invalid
record...) was not written, so with idempotence its sequence numbers are given back: the
partition's later batches under the same producer id move down by its record count and are
re-encoded before they are (re-)sent (those already in flight come back
``OUT_OF_ORDER_SEQUENCE_NUMBER`` and are retried renumbered), so one bad message does not fail
the messages produced after it.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import copy
import functools
import logging
from collections.abc import Iterable
from typing import Any, cast

from kaffe._cluster.client import Cluster
from kaffe._cluster.errors import error_for, is_retriable
from kaffe._core import encode_record_batch
from kaffe._producer import idempotence as idem
from kaffe._producer.accumulator import (
    BATCH_OVERHEAD,
    Batch,
    Chunk,
    PartitionState,
    halve,
    split,
)
from kaffe._producer.messages import Record
from kaffe._producer.settings import ProducerSettings
from kaffe._protocol import ApiKey, ErrorCode
from kaffe._util import WAIT_TIMEOUTS, Deadline, backoff_delay
from kaffe.errors import KafkaError, KafkaTimeoutError, MessageTooLargeError

__all__ = ["Engine"]

log = logging.getLogger("kaffe.producer")

_NETWORK_SLACK_S = 5.0
_IDLE_TICK_S = 1.0
_MAX_IDEMPOTENT_IN_FLIGHT = 5
_REQUEST_MAX_BYTES = 16 * 1024 * 1024
_METADATA_BACKOFF_FIRST_S = 0.1


class Engine:
    """Batching, sending and retrying for one producer (see the module docs)."""

    def __init__(self, settings: ProducerSettings, cluster: Cluster) -> None:
        """Prepare; :meth:`start` fetches metadata and the producer id."""
        self.settings = settings
        self.cluster = cluster
        self._partitions: dict[tuple[str, int], PartitionState] = {}
        self._active: set[PartitionState] = set()
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[None] | None = None
        self._woken = False
        self._timer_at = 0.0  # when the sender task's timer fires next (loop time)
        self._full: set[PartitionState] = set()
        self._task: asyncio.Task[None] | None = None
        self._requests: set[asyncio.Task[None]] = set()
        self._slow_sends: dict[int, int] = {}  # node -> requests sent by a task, not yet done
        self._metadata_task: asyncio.Task[None] | None = None
        self._metadata_streak = 0  # refreshes asked for in a row (see _refresh_metadata)
        self._metadata_at = float("-inf")  # when the last refresh started (loop time)
        self._pid_task: asyncio.Task[None] | None = None
        self._identity = idem.ProducerIdentity()
        self.idempotent = False
        self._pid_stale = False
        self._failures: list[BaseException] = []
        self._outstanding: set[asyncio.Future[int]] = set()
        self._closing = False
        self._flushing = 0
        self.transactional_hook: Any = None  # set by the transaction manager
        s = settings
        self._codec = s.compression
        self._batch_limit = s.max_batch_size - BATCH_OVERHEAD
        self._linger = s.max_linger_ms / 1000.0
        self._linger_count = s.max_linger_count
        self._backoff_max = max(s.retry_backoff_ms, s.retry_backoff_max_ms) / 1000.0
        self._request_timeout = s.ack_timeout_ms / 1000.0 + _NETWORK_SLACK_S

    # ------------------------------------------------------------------ lifecycle

    @property
    def identity(self) -> idem.ProducerIdentity:
        """The current producer id and epoch (``-1, -1`` when not idempotent)."""
        return self._identity

    async def start(self, timeout: float) -> None:
        """Fetch metadata and, when idempotence is on (or automatic and supported), a producer
        id; start the sender task.

        Raises:
            kaffe.ConnectionError: no broker reachable.
            kaffe.KafkaTimeoutError: not done within ``timeout``.
        """
        deadline = Deadline(timeout)
        await self.cluster.bootstrap(timeout=deadline.remaining())
        s = self.settings
        want = s.enable_idempotence
        if want is None:
            want = s.required_acks == -1
            if want:
                conn = await self.cluster.any_connection(timeout=deadline.remaining())
                want = idem.supports_idempotence(conn.api_versions())
        if want:
            try:
                self._identity = await idem.init_producer_id(
                    self.cluster,
                    transactional_id=s.transactional_id,
                    transaction_timeout_ms=s.transaction_timeout_ms,
                    deadline=deadline,
                )
                self.idempotent = True
            except KafkaError as exc:
                if s.enable_idempotence is None and not isinstance(exc, KafkaTimeoutError):
                    log.warning("idempotence is off: InitProducerId failed: %s", exc)
                else:
                    raise
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="kaffe-producer-sender"
            )

    async def close(self, timeout: float) -> None:
        """Deliver what is pending within ``timeout`` (and the messages' own deadlines); fail
        whatever is left loudly; stop the sender. Does not close the cluster."""
        self._closing = True
        with contextlib.suppress(*WAIT_TIMEOUTS):
            await self.wait_all(timeout)
        left = [f for f in self._outstanding if not f.done()]
        if left:
            log.error("producer closed with %d produce call part(s) undelivered", len(left))
            err = KafkaTimeoutError("the producer was closed before these messages were delivered")
            for state in list(self._partitions.values()):
                while state.queue:
                    self._fail_chunk(state.popleft(self.settings.partition_buffer_limit), err)
                for batch in state.retries:
                    self._fail_batch(batch, err)
                state.retries.clear()
            for fut in left:
                if not fut.done():
                    fut.set_exception(err)
        task, self._task = self._task, None
        tasks = [t for t in (task, self._metadata_task, self._pid_task) if t is not None]
        tasks += list(self._requests)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)

    # ------------------------------------------------------------------ producing

    def state(self, topic: str, partition: int) -> PartitionState:
        """The state of ``topic``/``partition`` (created on first use)."""
        key = (topic, partition)
        st = self._partitions.get(key)
        if st is None:
            st = self._partitions[key] = PartitionState(topic, partition)
        return st

    def push(
        self, topic: str, partition: int, records: list[Record], sizes: list[int], singles: bool
    ) -> list[tuple[asyncio.Future[int], int, int]]:
        """Queue ``records`` for ``topic``/``partition`` (on the loop, without waiting; the
        hand-off stops draining while :meth:`full_partitions` is not empty). Returns, per
        batch-sized chunk, ``(future, start, end)``: the future resolves to the offset of
        ``records[start]`` and completes ``records[start:end]``. ``singles``: every record is a
        produce call of its own (for ``partition_buffer_limit``), else all are one call."""
        if self._closing or self._task is None:
            raise KafkaError("the producer is not started or is closed", retriable=False)
        loop = self._loop
        now = loop.time()
        deadline = now + self.settings.delivery_timeout
        limit = self.settings.partition_buffer_limit
        state = self.state(topic, partition)
        if self.transactional_hook is not None:
            self.transactional_hook(state)
        out: list[tuple[asyncio.Future[int], int, int]] = []
        start = 0
        for part, size in split(records, sizes, self._batch_limit):
            fut: asyncio.Future[int] = loop.create_future()
            end = start + len(part)
            state.push(Chunk(part, size, fut, deadline, len(part) if singles else 1), now, limit)
            self._outstanding.add(fut)
            fut.add_done_callback(self._outstanding.discard)
            out.append((fut, start, end))
            start = end
        if not state.space.is_set():
            self._full.add(state)
        self._active.add(state)
        return out

    def kick(self) -> None:
        """Send what may be sent now (called after queueing and after each response, so a
        message is written without waiting for the sender task's next turn); wake the sender
        task only when its timer must move earlier (a linger or backoff ending sooner)."""
        if self._task is None or self._pid_stale or self._flushing or self._closing:
            self.wake()
            return
        next_at = self._send_ready(self._loop.time())
        if next_at is not None and next_at < self._timer_at:
            self.wake()

    def wake(self) -> None:
        """Wake the sender task."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._woken = True

    def full_partitions(self) -> list[PartitionState]:
        """Partitions whose queue holds ``partition_buffer_limit`` produce calls."""
        if not self._full:
            return []
        full = [s for s in self._full if not s.space.is_set()]
        if len(full) != len(self._full):
            self._full = set(full)
        return full

    def note_failure(self, exc: BaseException) -> None:
        """A produce call failed and its caller does not raise the error itself: keep it for
        ``flush`` and transaction commits (once per error object)."""
        if not any(f is exc for f in self._failures):
            self._failures.append(exc)

    def take_failures(self) -> list[BaseException]:
        """Errors of produce calls that failed since the last call (for ``flush``)."""
        out, self._failures = self._failures, []
        return out

    async def wait_all(self, timeout: float) -> None:
        """Send everything queued now (lingering ends) and wait until every produce call made
        so far has completed, at most ``timeout`` seconds.

        On return the done-callbacks of every completed part have run too (they record
        failures for ``flush`` and transaction commits): a part that completed just before this
        call has its callbacks queued on the loop, and one turn of the loop runs them (asyncio
        runs callbacks in the order they were scheduled)."""
        pending = [f for f in self._outstanding if not f.done()]
        if pending:
            self._flushing += 1
            self.wake()
            try:
                _done, not_done = await asyncio.wait(pending, timeout=timeout)
            finally:
                self._flushing -= 1
            if not_done:
                raise KafkaTimeoutError(
                    f"{len(not_done)} produce call part(s) not completed within {timeout:.1f} s"
                )
        await asyncio.sleep(0)  # the completed parts' callbacks (see above)

    # ------------------------------------------------------------------ the sender task

    async def _run(self) -> None:
        loop = self._loop
        while True:
            self._woken = False
            next_at = self._send_ready(loop.time())
            delay = _IDLE_TICK_S if next_at is None else max(0.0, next_at - loop.time())
            if delay <= 0 or self._woken:
                await asyncio.sleep(0)
                continue
            # A plain future and a timer: cheaper than wait_for (no task per wait).
            waiter = self._waiter = loop.create_future()
            delay = min(delay, _IDLE_TICK_S)
            self._timer_at = loop.time() + delay
            timer = loop.call_later(delay, _wake_up, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None

    def _in_flight_limit(self) -> int:
        limit = self.settings.partition_onwire_limit
        if limit is None:  # automatic: as many as keep their order
            return _MAX_IDEMPOTENT_IN_FLIGHT if self.idempotent else 1
        return min(limit, _MAX_IDEMPOTENT_IN_FLIGHT) if self.idempotent else limit

    def _sequence_known(self, state: PartitionState) -> bool:
        """Whether the partition's leader has acknowledged a batch of the current producer id
        and epoch. Until then only one batch is in flight: a broker with no state for a
        producer accepts *any* first sequence, so if the first batch failed (a leader not
        ready yet) a second one in flight behind it would be written first."""
        if not self.idempotent:
            return True
        acked = state.acked
        ident = self._identity
        return acked is not None and acked[0] == ident.producer_id and acked[1] == ident.epoch

    def _send_ready(self, now: float) -> float | None:
        """Send every batch that may go now; return the loop time of the next timer."""
        next_at: float | None = None
        md = self.cluster.metadata
        limit = self._in_flight_limit()
        need_metadata: set[str] = set()
        if self._pid_stale:
            for state in list(self._active):
                self._expire(state, now)
            self._refresh_pid()
            return now + 0.05
        while True:
            by_node: dict[int, list[Batch]] = {}
            for state in list(self._active):
                if state.idle:
                    self._active.discard(state)
                    continue
                self._expire(state, now)
                if state.in_flight >= (limit if self._sequence_known(state) else 1):
                    continue
                leader = md.leader_for(state.topic, state.partition) if md is not None else None
                if leader is None or md is None or md.broker(leader) is None:
                    need_metadata.add(state.topic)
                    at = self._earliest_deadline(state)
                    if at is not None:
                        next_at = at if next_at is None else min(next_at, at)
                    continue
                if self.transactional_hook is not None and not state.added_to_txn:
                    continue  # the transaction manager adds it, then wakes us
                batch: Batch | None = None
                if state.retries:
                    if state.in_flight > 0:
                        continue  # re-sent batches go alone, in sequence order
                    first = state.retries[0]
                    # The backoff is for the broker that failed it: once metadata names another
                    # leader (an election is over), re-send at once.
                    if first.retry_at > now and first.node == leader:
                        next_at = (
                            first.retry_at if next_at is None else min(next_at, first.retry_at)
                        )
                        continue
                    batch = state.retries.pop(0)
                    if batch.reencode:
                        self._reencode(batch)
                elif state.queue:
                    ready_at = self._ready_at(state)
                    if ready_at > now:
                        next_at = ready_at if next_at is None else min(next_at, ready_at)
                        continue
                    batch = self._build(state)
                if batch is None:
                    continue
                state.in_flight += 1
                batch.node = leader
                by_node.setdefault(leader, []).append(batch)
            if not by_node:
                break
            for node, batches in by_node.items():
                self._dispatch(node, batches)
        if need_metadata:
            self._refresh_metadata(need_metadata)
        return next_at

    def _ready_at(self, state: PartitionState) -> float:
        if (
            self._linger <= 0
            or self._flushing
            or self._closing
            or state.queued_bytes >= self._batch_limit
            or (self._linger_count and state.queued_count >= self._linger_count)
        ):
            return 0.0
        return state.first_queued_at + self._linger

    def _earliest_deadline(self, state: PartitionState) -> float | None:
        if state.queue:
            return state.queue[0].deadline
        if state.retries:
            return state.retries[0].deadline
        return None

    def _expire(self, state: PartitionState, now: float) -> None:
        """Fail queued chunks and waiting retries whose delivery deadline has passed."""
        while state.queue and state.queue[0].deadline <= now:
            chunk = state.popleft(self.settings.partition_buffer_limit)
            self._fail_chunk(
                chunk,
                KafkaTimeoutError(
                    f"{state.topic}/{state.partition}: {len(chunk.records)} message(s) not "
                    f"delivered within the delivery deadline "
                    f"({self.settings.delivery_timeout:.1f} s; no leader or broker unreachable)"
                ),
            )
        expired = [b for b in state.retries if b.deadline <= now]
        if expired:
            state.retries = [b for b in state.retries if b.deadline > now]
            for b in expired:
                self._forget(b)
                err = KafkaTimeoutError(
                    f"{b.describe()}: not delivered within the delivery deadline "
                    f"({self.settings.delivery_timeout:.1f} s); last error: {b.last_error}"
                )
                log.warning("%s", err)
                self._fail_batch(b, err)
            if self.idempotent and self.settings.transactional_id is None:
                # Later batches of the partition now follow a sequence gap: start afresh.
                self._pid_stale = True

    def _build(self, state: PartitionState) -> Batch:
        chunks, records = state.take(self._batch_limit, self.settings.partition_buffer_limit)
        if state.queue:
            state.first_queued_at = asyncio.get_running_loop().time()
        size = sum(c.size for c in chunks)
        ident = self._identity
        seq = -1
        if self.idempotent:
            seq = state.next_sequence
            state.next_sequence = idem.next_sequence(seq, len(records))
        data = self._encode(records, size, ident.producer_id, ident.epoch, seq)
        batch = Batch(state, chunks, len(records), data, ident.producer_id, ident.epoch, seq)
        state.outstanding.append(batch)
        return batch

    def _encode(self, records: list[Record], size: int, pid: int, epoch: int, seq: int) -> bytes:
        codec = self._codec if size >= self.settings.min_compression_batch_size else "none"
        return encode_record_batch(
            cast("Any", records),
            compression=codec,
            producer_id=pid,
            producer_epoch=epoch,
            base_sequence=seq,
            transactional=self.settings.transactional_id is not None,
        )

    def _reencode(self, b: Batch) -> None:
        size = sum(c.size for c in b.chunks)
        b.data = self._encode(b.records, size, b.producer_id, b.epoch, b.base_sequence)
        b.reencode = False

    # ------------------------------------------------------------------ requests

    def _dispatch(self, node: int, batches: list[Batch]) -> None:
        groups: list[list[Batch]] = [[]]
        size = 0
        for b in batches:
            if groups[-1] and size + len(b.data) > _REQUEST_MAX_BYTES:
                groups.append([])
                size = 0
            groups[-1].append(b)
            size += len(b.data)
        md = self.cluster.metadata
        broker = md.broker(node) if md is not None else None
        conn = (
            self.cluster.pool.connection(broker.host, broker.port) if broker is not None else None
        )
        for group in groups:
            # Requests to a broker must be written in the order they were cut (up to five
            # batches of a partition are in flight, in sequence order): once one had to take
            # the slow path (a task waiting for the connection or the socket), the next ones
            # queue behind it until the slow ones are done.
            if (
                not self._slow_sends.get(node)
                and conn is not None
                and conn.connected
                and self._send_now(node, group, conn)
            ):
                continue
            self._slow_sends[node] = self._slow_sends.get(node, 0) + 1
            task = asyncio.get_running_loop().create_task(
                self._send(node, group, conn if conn is not None and conn.connected else None)
            )
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)
            task.add_done_callback(functools.partial(self._slow_done, node))

    def _slow_done(self, node: int, _task: asyncio.Task[None]) -> None:
        left = self._slow_sends.get(node, 0) - 1
        if left > 0:
            self._slow_sends[node] = left
        else:
            self._slow_sends.pop(node, None)

    def _send_now(self, node: int, batches: list[Batch], conn: Any) -> bool:
        """Write the Produce request at once (no task); ``False`` if the connection cannot
        take it without waiting."""
        try:
            version = conn.api_version(ApiKey.PRODUCE)
        except KafkaError:
            return False
        return bool(
            conn.request_nowait(
                ApiKey.PRODUCE,
                self._body(batches),
                functools.partial(self._sent, node, batches),
                version=version,
                timeout=self._response_timeout(batches),
            )
        )

    def _response_timeout(self, batches: list[Batch]) -> float:
        # Never wait for a response past the batches' delivery deadline.
        left = max(b.deadline for b in batches) - self._loop.time()
        return max(0.1, min(self._request_timeout, left))

    def _body(self, batches: list[Batch]) -> dict[str, Any]:
        topics: dict[str, list[dict[str, Any]]] = {}
        for b in batches:
            topics.setdefault(b.state.topic, []).append(
                {"index": b.state.partition, "records": b.data}
            )
        return {
            "transactional_id": self.settings.transactional_id,
            "acks": self.settings.required_acks,
            "timeout_ms": self.settings.ack_timeout_ms,
            "topic_data": [{"name": t, "partition_data": p} for t, p in topics.items()],
        }

    async def _send(self, node: int, batches: list[Batch], conn: Any) -> None:
        outcome: dict[str, Any] | BaseException
        try:
            if conn is None:
                # A leader that cannot be reached is retried after the batch's own backoff, with
                # fresh metadata: never wait out the pool's reconnect backoff (up to 10 s) for a
                # broker that died while a new leader is being elected.
                conn = await self.cluster.connection_for_node(
                    node, timeout=self._response_timeout(batches), wait_backoff=False
                )
            version = conn.api_version(ApiKey.PRODUCE)
            outcome = await conn.request(
                ApiKey.PRODUCE,
                self._body(batches),
                version=version,
                timeout=self._response_timeout(batches),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outcome = exc
        self._sent(node, batches, outcome)

    def _sent(
        self, node: int, batches: list[Batch], outcome: dict[str, Any] | BaseException
    ) -> None:
        """A Produce request ended: the response, or the error that ended it."""
        if isinstance(outcome, KafkaError):
            log.info("Produce request to broker %d failed: %s", node, outcome)
            topics = {b.state.topic for b in batches}
            self.cluster.invalidate(topics)
            self._refresh_metadata(topics)
            for b in batches:
                self._retry_or_fail(b, outcome)
        elif isinstance(outcome, BaseException):  # a bug or a value the codec refused
            log.error("Produce request to broker %d failed", node, exc_info=outcome)
            for b in batches:
                self._finish_failed(b, KafkaError(f"producing to {b.describe()}: {outcome!r}"))
        elif self.settings.required_acks == 0:
            for b in batches:
                self._complete(b, -1)
        else:
            self._handle_response(batches, outcome)
        self.kick()

    def _handle_response(self, batches: list[Batch], resp: dict[str, Any]) -> None:
        results: dict[tuple[str, int], dict[str, Any]] = {}
        for topic in resp.get("responses") or ():
            for p in topic.get("partition_responses") or ():
                results[(str(topic.get("name")), int(p["index"]))] = p
        stale: set[str] = set()
        for b in batches:
            st = b.state
            p = results.get((st.topic, st.partition))
            if p is None:
                self._retry_or_fail(
                    b,
                    KafkaError(
                        f"{b.describe()}: missing from the Produce response", retriable=True
                    ),
                )
                continue
            code = int(p["error_code"])
            if code == 0:
                self._complete(b, int(p["base_offset"]))
            elif code == ErrorCode.DUPLICATE_SEQUENCE_NUMBER:
                self._complete(b, -1)
            elif code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER and (
                b.reencode or self._earlier_unacked(b)
            ):
                # Not written; it follows a batch not yet acknowledged (or renumbered): retry.
                err = error_for(code, f"producing to {b.describe()}")
                err.retriable = True
                log.debug("%s; re-sending it after the batches before it", err)
                self._retry_or_fail(b, err, count=False)
            elif code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER and self._follows_acked(b):
                # It reached the broker before the batch ahead of it, which has been
                # acknowledged since: nothing is missing, send it again (counted as a retry).
                err = error_for(code, f"producing to {b.describe()}")
                err.retriable = True
                log.info("%s; the batch before it is acknowledged now: re-sending it", err)
                self._retry_or_fail(b, err)
            elif self.idempotent and idem.is_fatal_sequence_error(code):
                self._sequence_reset(b, code)
            elif code == ErrorCode.MESSAGE_TOO_LARGE:
                self._too_large(b, p.get("error_message"))
            else:
                err = error_for(code, f"producing to {b.describe()}", p.get("error_message"))
                if self.cluster.note_error(code, [st.topic]):
                    stale.add(st.topic)
                if is_retriable(code):
                    self._retry_or_fail(b, err)
                else:
                    self._rejected(b, err)
        if stale:
            self._refresh_metadata(stale)

    def _follows_acked(self, b: Batch) -> bool:
        return b.state.acked == (b.producer_id, b.epoch, b.base_sequence)

    def _earlier_unacked(self, b: Batch) -> bool:
        return any(
            o is not b and o.producer_id == b.producer_id and o.base_sequence < b.base_sequence
            for o in b.state.outstanding
        )

    # ------------------------------------------------------------------ outcomes

    def _complete(self, b: Batch, base_offset: int) -> None:
        st = b.state
        st.in_flight -= 1
        self._forget(b)
        if b.base_sequence >= 0:
            st.acked = (b.producer_id, b.epoch, idem.next_sequence(b.base_sequence, b.count))
        offset = base_offset
        for chunk in b.chunks:
            if not chunk.future.done():
                chunk.future.set_result(offset)
            if offset >= 0:
                offset += len(chunk.records)

    def _forget(self, b: Batch) -> None:
        with contextlib.suppress(ValueError):
            b.state.outstanding.remove(b)

    def _retry_or_fail(self, b: Batch, err: KafkaError, *, count: bool = True) -> None:
        st = b.state
        st.in_flight -= 1
        b.last_error = err
        if count:
            b.attempts += 1
        limit = self.settings.max_retries
        retry_at = self._loop.time() + (self.settings.retry_backoff(b.attempts) if count else 0.0)
        why = None
        if not err.retriable:
            why = "not retriable"
        elif limit is not None and b.attempts > limit:
            why = f"gave up after {limit} retries: max_retries={limit}"
        elif retry_at >= b.deadline:
            why = (
                f"gave up after {b.attempts - 1} retries: the delivery deadline "
                f"({self.settings.delivery_timeout:.1f} s) leaves no time for another"
            )
        if why is not None:
            failed = _explained(err, why) if err.retriable else err
            log.warning("giving up on %s: %s", b.describe(), _explained(err, why))
            self._forget(b)
            self._fail_batch(b, failed)
            if b.base_sequence >= 0 and self.settings.transactional_id is None:
                # Whether the broker wrote it is unknown: its sequences can be neither reused
                # nor skipped, so later batches go under a new producer id (as for _expire).
                self._pid_stale = True
            return
        b.retry_at = retry_at
        keys = [r.base_sequence for r in st.retries]
        st.retries.insert(bisect.bisect(keys, b.base_sequence), b)
        self._active.add(st)

    def _too_large(self, b: Batch, message: str | None) -> None:
        """``MESSAGE_TOO_LARGE``: cut the batch in two and re-send, or fail its one record."""
        st = b.state
        if b.count < 2:
            err = MessageTooLargeError(
                f"producing to {st.topic}/{st.partition}: a message of {len(b.data)} bytes "
                "(as a record batch) is larger than the broker accepts (the topic's "
                "max.message.bytes or the broker's message.max.bytes): MESSAGE_TOO_LARGE "
                f"(error code {ErrorCode.MESSAGE_TOO_LARGE.value})"
                + (f": {message}" if message else "")
            )
            log.warning("%s", err)
            self._rejected(b, err)
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        st.in_flight -= 1
        if now >= b.deadline:
            err = MessageTooLargeError(
                f"producing to {b.describe()}: the batch of {len(b.data)} bytes is too large "
                "and the delivery deadline was reached before it could be re-sent in parts"
            )
            self._forget(b)
            self._fail_batch(b, err)
            return
        halves: list[Batch] = []
        seq = b.base_sequence
        for chunks in halve(b.chunks):
            records = [r for c in chunks for r in c.records]
            size = sum(c.size for c in chunks)
            data = self._encode(records, size, b.producer_id, b.epoch, seq)
            half = Batch(st, chunks, len(records), data, b.producer_id, b.epoch, seq)
            half.attempts = b.attempts
            half.retry_at = now
            half.last_error = MessageTooLargeError(f"{b.describe()}: MESSAGE_TOO_LARGE")
            halves.append(half)
            if seq >= 0:
                seq = idem.next_sequence(seq, len(records))
        log.info(
            "%s: %d bytes is too large for the broker; re-sending it as %d batches",
            b.describe(),
            len(b.data),
            len(halves),
        )
        at = st.outstanding.index(b) if b in st.outstanding else len(st.outstanding)
        st.outstanding[at : at + 1] = halves
        if b.base_sequence >= 0:
            keys = [r.base_sequence for r in st.retries]
            pos = bisect.bisect(keys, b.base_sequence)
        else:
            pos = 0  # without sequences: before batches that failed after it was sent
        st.retries[pos:pos] = halves
        self._active.add(st)

    def _rejected(self, b: Batch, err: BaseException) -> None:
        """The broker refused ``b`` (nothing of it was written): fail it and give its sequence
        numbers back (see the module docs)."""
        self._finish_failed(b, err)
        st = b.state
        if b.base_sequence < 0:
            return
        for o in st.outstanding:
            if (
                o.producer_id == b.producer_id
                and o.epoch == b.epoch
                and o.base_sequence > b.base_sequence
            ):
                o.base_sequence = idem.next_sequence(o.base_sequence, -b.count)
                o.reencode = True
        ident = self._identity
        if (ident.producer_id, ident.epoch) == (b.producer_id, b.epoch):
            st.next_sequence = idem.next_sequence(st.next_sequence, -b.count)

    def _finish_failed(self, b: Batch, err: BaseException) -> None:
        b.state.in_flight -= 1
        self._forget(b)
        self._fail_batch(b, err)

    def _sequence_reset(self, b: Batch, code: int) -> None:
        """See :mod:`kaffe._producer.idempotence` for what this does and why."""
        st = b.state
        err = idem.sequence_error(code, f"producing to {b.describe()}")
        log.error("%s", err)
        self._finish_failed(b, err)
        for r in st.retries:
            self._forget(r)
            self._fail_batch(r, err)
        st.retries.clear()
        if self.settings.transactional_id is None:
            self._pid_stale = True

    def _fail_batch(self, b: Batch, err: BaseException) -> None:
        for chunk in b.chunks:
            self._fail_chunk(chunk, err)

    def _fail_chunk(self, chunk: Chunk, err: BaseException) -> None:
        if not chunk.future.done():
            chunk.future.set_exception(err)

    # ------------------------------------------------------------------ background refreshes

    def _refresh_metadata(self, topics: Iterable[str]) -> None:
        """Refresh metadata in the background, one refresh at a time. Refreshes asked for in a
        row (each within about twice ``retry_backoff_max_ms`` of the previous one's start, as
        while a leader is being elected) start ever later after the previous one: 0.1 s,
        0.2 s, ... up to ``retry_backoff_max_ms``, jittered; after a quiet spell the next one
        starts at once."""
        if self._metadata_task is not None and not self._metadata_task.done():
            return
        wanted = list(topics)
        loop = self._loop
        now = loop.time()
        if now - self._metadata_at > 2 * self._backoff_max + _METADATA_BACKOFF_FIRST_S:
            self._metadata_streak = 0
        self._metadata_streak += 1
        start_at = now
        if self._metadata_streak > 1:
            gap = backoff_delay(
                self._metadata_streak - 1,
                _METADATA_BACKOFF_FIRST_S,
                max(_METADATA_BACKOFF_FIRST_S, self._backoff_max),
            )
            start_at = max(now, self._metadata_at + gap)

        async def refresh() -> None:
            try:
                if start_at > loop.time():
                    await asyncio.sleep(start_at - loop.time())
                self._metadata_at = loop.time()
                log.debug("metadata refresh %d in a row for %s", self._metadata_streak, wanted)
                await self.cluster.refresh_metadata(wanted, force=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("metadata refresh for %s failed: %s", wanted, exc)
            finally:
                self.wake()

        self._metadata_task = loop.create_task(refresh())

    def _refresh_pid(self) -> None:
        """Get a new producer id once nothing is in flight under the old one."""
        if self._pid_task is not None and not self._pid_task.done():
            return
        if any(st.in_flight for st in self._partitions.values()):
            return

        async def refresh() -> None:
            try:
                ident = await idem.init_producer_id(
                    self.cluster,
                    transactional_id=None,
                    transaction_timeout_ms=self.settings.transaction_timeout_ms,
                    deadline=Deadline(self.settings.delivery_timeout),
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("getting a new producer id failed: %s", exc)
            else:
                self._identity = ident
                for st in self._partitions.values():
                    st.next_sequence = 0
                self._pid_stale = False
                log.info("new producer id %d epoch %d", ident.producer_id, ident.epoch)
            finally:
                self.wake()

        self._pid_task = asyncio.get_running_loop().create_task(refresh())

    def reset_after_transaction(self) -> None:
        """Forget which partitions are in the (ended) transaction."""
        for st in self._partitions.values():
            st.added_to_txn = False


def _explained(err: KafkaError, why: str) -> KafkaError:
    """A copy of ``err`` (same class, code and attributes) whose message ends with ``why``; the
    original may be shared by the other batches of its request."""
    out = copy.copy(err)
    out.args = (f"{err} ({why})",)
    out.__cause__ = err.__cause__
    return out


def _wake_up(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
