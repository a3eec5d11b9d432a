"""Transactions: the transaction coordinator side of a transactional producer.

The producer's id comes from ``InitProducerId`` at the transaction coordinator (found with
``FindCoordinator`` for the ``transactional_id``). Within a transaction, the first batch for a
partition waits until ``AddPartitionsToTxn`` added the partition; ``send_offsets_to_transaction``
sends ``AddOffsetsToTxn`` to the transaction coordinator and ``TxnOffsetCommit`` to the group
coordinator; ``commit`` delivers everything pending, then ``EndTxn(committed=True)``; ``abort``
waits for what is in flight, then ``EndTxn(committed=False)``. kaffe uses the classic protocol
(AddPartitionsToTxn v3 and below, EndTxn v4 and below), which every broker since 0.11 speaks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from kaffe._cluster.client import Cluster, CoordinatorType
from kaffe._cluster.errors import COORDINATOR_ERRORS, error_for, is_retriable
from kaffe._producer.accumulator import PartitionState
from kaffe._producer.sender import Engine
from kaffe._protocol import ApiKey, ErrorCode
from kaffe._util import Deadline, backoff
from kaffe.errors import ConnectionError, KafkaError, KafkaTimeoutError

__all__ = ["TransactionManager"]

log = logging.getLogger("kaffe.producer.txn")

_RETRY_CODES = frozenset({ErrorCode.CONCURRENT_TRANSACTIONS, *COORDINATOR_ERRORS})


class TransactionManager:
    """Begin, add partitions, add offsets, commit and abort for one transactional producer."""

    def __init__(self, engine: Engine, cluster: Cluster, transactional_id: str) -> None:
        """Attach to ``engine`` (its batches wait for their partition to be added)."""
        self.engine = engine
        self.cluster = cluster
        self.transactional_id = transactional_id
        self.in_transaction = False
        self._pending: set[PartitionState] = set()
        self._added: set[PartitionState] = set()
        self._adding: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._offsets_added = False
        engine.transactional_hook = self._hook

    # ------------------------------------------------------------------ partitions

    def _hook(self, state: PartitionState) -> None:
        if not self.in_transaction:
            raise KafkaError(
                "a transactional producer produces only inside a transaction: call "
                "begin_transaction() first",
                retriable=False,
            )
        if state.added_to_txn or state in self._pending:
            return
        self._pending.add(state)
        if self._adding is None or self._adding.done():
            self._adding = asyncio.get_running_loop().create_task(self._add_pending())

    async def _add_pending(self) -> None:
        deadline = Deadline(self.engine.settings.delivery_timeout)
        attempt = 0
        while self._pending:
            states = list(self._pending)
            topics: dict[str, list[int]] = {}
            for st in states:
                topics.setdefault(st.topic, []).append(st.partition)
            ident = self.engine.identity
            try:
                resp = await self._request(
                    ApiKey.ADD_PARTITIONS_TO_TXN,
                    lambda v, topics=topics, ident=ident: {
                        "v3_and_below_transactional_id": self.transactional_id,
                        "v3_and_below_producer_id": ident.producer_id,
                        "v3_and_below_producer_epoch": ident.epoch,
                        "v3_and_below_topics": [
                            {"name": t, "partitions": ps} for t, ps in topics.items()
                        ],
                    },
                    deadline=deadline,
                    codes=lambda r: [
                        int(p["partition_error_code"])
                        for t in r.get("results_by_topic_v3_and_below") or ()
                        for p in t.get("results_by_partition") or ()
                    ],
                )
            except KafkaError as exc:
                self._fail_pending(exc)
                return
            failed: list[tuple[str, int, int]] = []
            for t in resp.get("results_by_topic_v3_and_below") or ():
                for p in t.get("results_by_partition") or ():
                    code = int(p["partition_error_code"])
                    if code:
                        failed.append((str(t["name"]), int(p["partition_index"]), code))
            retry = [f for f in failed if f[2] in _RETRY_CODES or is_retriable(f[2])]
            fatal = [f for f in failed if f not in retry and f[2] != ErrorCode.INVALID_TXN_STATE]
            if fatal:
                t, p, code = fatal[0]
                self._fail_pending(error_for(code, f"adding {t}/{p} to the transaction"))
                return
            if not failed:
                for st in states:
                    st.added_to_txn = True
                    self._added.add(st)
                    self._pending.discard(st)
                self.engine.wake()
                continue
            if deadline.expired:
                self._fail_pending(deadline.timeout_error("AddPartitionsToTxn"))
                return
            await asyncio.sleep(backoff(attempt, deadline))
            attempt += 1

    def _fail_pending(self, exc: KafkaError) -> None:
        log.error("transaction %r: %s", self.transactional_id, exc)
        self._error = exc
        for st in self._pending:
            while st.queue:
                chunk = st.popleft(self.engine.settings.partition_buffer_limit)
                if not chunk.future.done():
                    chunk.future.set_exception(exc)
            st.space.set()
        self._pending.clear()

    # ------------------------------------------------------------------ requests

    async def _request(
        self,
        api_key: int,
        build: Any,
        *,
        deadline: Deadline,
        codes: Any,
        key: str | None = None,
        key_type: CoordinatorType = CoordinatorType.TRANSACTION,
    ) -> dict[str, Any]:
        """A request to a coordinator, retried while it answers CONCURRENT_TRANSACTIONS or a
        coordinator error, until ``deadline``."""
        attempt = 0
        last: BaseException | None = None
        coord_key = self.transactional_id if key is None else key
        while True:
            try:
                conn = await self.cluster.coordinator(
                    coord_key, key_type, timeout=max(0.001, deadline.remaining())
                )
                version = conn.api_version(api_key)
                resp: dict[str, Any] = await conn.request(
                    api_key,
                    build(version),
                    version=version,
                    timeout=max(0.001, deadline.remaining()),
                )
            except (ConnectionError, KafkaTimeoutError) as exc:
                if not exc.retriable:  # TLS / authentication failures: retrying will not help
                    raise
                self.cluster.invalidate_coordinator(coord_key, key_type)
                last = exc
            else:
                found = codes(resp)
                if any(c in COORDINATOR_ERRORS for c in found):
                    self.cluster.invalidate_coordinator(coord_key, key_type)
                    last = error_for(next(c for c in found if c in COORDINATOR_ERRORS), coord_key)
                elif ErrorCode.CONCURRENT_TRANSACTIONS in found:
                    last = error_for(ErrorCode.CONCURRENT_TRANSACTIONS, coord_key)
                else:
                    return resp
            if deadline.expired:
                raise deadline.timeout_error(f"transaction request (api {api_key})", last)
            await asyncio.sleep(backoff(attempt, deadline))
            attempt += 1

    # ------------------------------------------------------------------ the public steps

    def begin(self) -> None:
        """Start a transaction."""
        if self.in_transaction:
            raise KafkaError("a transaction is already in progress", retriable=False)
        self.in_transaction = True
        self._error = None

    def _require(self, what: str) -> None:
        if not self.in_transaction:
            raise KafkaError(f"{what}: no transaction in progress", retriable=False)

    async def send_offsets(
        self,
        offsets: Mapping[tuple[str, int], int] | Iterable[tuple[str, int, int]],
        group_id: str,
        timeout: float,
    ) -> None:
        """Commit consumer offsets as part of the transaction (``AddOffsetsToTxn`` then
        ``TxnOffsetCommit``). ``offsets`` maps ``(topic, partition)`` to the next offset to
        consume (or is a list of ``(topic, partition, offset)``)."""
        self._require("send_offsets_to_transaction")
        items = (
            [(t, p, o) for (t, p), o in offsets.items()]
            if isinstance(offsets, Mapping)
            else list(offsets)
        )
        deadline = Deadline(timeout)
        ident = self.engine.identity
        resp = await self._request(
            ApiKey.ADD_OFFSETS_TO_TXN,
            lambda v: {
                "transactional_id": self.transactional_id,
                "producer_id": ident.producer_id,
                "producer_epoch": ident.epoch,
                "group_id": group_id,
            },
            deadline=deadline,
            codes=lambda r: [int(r.get("error_code", 0))],
        )
        code = int(resp.get("error_code", 0))
        if code:
            raise error_for(code, f"AddOffsetsToTxn for group {group_id!r}")
        self._offsets_added = True
        topics: dict[str, list[dict[str, Any]]] = {}
        for topic, partition, offset in items:
            topics.setdefault(topic, []).append(
                {
                    "partition_index": partition,
                    "committed_offset": offset,
                    "committed_leader_epoch": -1,
                    "committed_metadata": "",
                }
            )
        body = {
            "transactional_id": self.transactional_id,
            "group_id": group_id,
            "producer_id": ident.producer_id,
            "producer_epoch": ident.epoch,
            "topics": [{"name": t, "partitions": ps} for t, ps in topics.items()],
        }

        def codes(r: dict[str, Any]) -> list[int]:
            return [int(p["error_code"]) for t in r.get("topics") or () for p in t["partitions"]]

        resp = await self._request(
            ApiKey.TXN_OFFSET_COMMIT,
            lambda v: body,
            deadline=deadline,
            codes=codes,
            key=group_id,
            key_type=CoordinatorType.GROUP,
        )
        bad = [c for c in codes(resp) if c]
        if bad:
            raise error_for(bad[0], f"TxnOffsetCommit for group {group_id!r}")

    async def end(self, commit: bool, timeout: float) -> None:
        """Commit (after delivering everything pending) or abort the transaction."""
        self._require("commit_transaction" if commit else "abort_transaction")
        deadline = Deadline(timeout)
        try:
            await self.engine.wait_all(deadline.remaining())
        except KafkaTimeoutError:
            if commit:
                raise
        failures = self.engine.take_failures()
        if commit and (failures or self._error is not None):
            first = failures[0] if failures else self._error
            raise KafkaError(
                f"cannot commit: {len(failures) or 1} produce call part(s) of the transaction "
                f"failed (first: {first}); abort_transaction() instead",
                retriable=False,
            ) from first
        if self._adding is not None and not self._adding.done():
            await asyncio.wait([self._adding], timeout=deadline.remaining())
        if self._added or self._offsets_added:
            ident = self.engine.identity
            resp = await self._request(
                ApiKey.END_TXN,
                lambda v: {
                    "transactional_id": self.transactional_id,
                    "producer_id": ident.producer_id,
                    "producer_epoch": ident.epoch,
                    "committed": commit,
                },
                deadline=deadline,
                codes=lambda r: [int(r.get("error_code", 0))],
            )
            code = int(resp.get("error_code", 0))
            if code:
                raise error_for(code, "EndTxn " + ("commit" if commit else "abort"))
        self.in_transaction = False
        self._added.clear()
        self._offsets_added = False
        self._error = None
        self.engine.reset_after_transaction()
