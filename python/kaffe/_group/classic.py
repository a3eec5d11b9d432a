"""The classic group membership protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup).

1. FindCoordinator (cached by :class:`~kaffe._cluster.Cluster`), JoinGroup (a first join answered
   ``MEMBER_ID_REQUIRED`` is repeated with the member id the broker gave, KIP-394), SyncGroup
   (the leader computes the assignment with the agreed assignor, an
   :class:`~kaffe._group.assignors.Assignor`, and sends each member its part).
2. The assignment goes to the member's :class:`~kaffe._group.assignment.PartitionSet`, which
   starts the new partitions in the background.
3. Heartbeats every ``heartbeat_interval`` (default 0.5 s: with this protocol the members learn
   of a rebalance only from Heartbeat and OffsetCommit answers, so the cadence bounds how long a
   leaving member's partitions wait) until the coordinator asks for a rebalance
   (``REBALANCE_IN_PROGRESS``), the generation or member is unknown (``ILLEGAL_GENERATION``,
   ``UNKNOWN_MEMBER_ID``: the partitions are lost), the subscription changes, the leader sees a
   subscribed topic's partition count change, or the member stops. A member that must rejoin
   does so at once; only a failed attempt backs off (``rejoin_delay``). A heartbeat unanswered
   for :func:`heartbeat_response_timeout` closes its connection (a half-open or blackholed
   connection to the coordinator answers nothing until the session is gone), and the next one
   looks the coordinator up again and goes out on a fresh connection, so a short network fault
   does not cost the member its partitions.
4. Before rejoining, an eager member revokes every partition. A cooperative one (the agreed
   assignor's ``rebalance`` is ``"cooperative"``, KIP-429) keeps them through the rebalance and
   revokes only those the new assignment no longer has, then rejoins at once for the second
   round that hands them to their new owner. A stopping member revokes everything, then sends
   LeaveGroup (static members, with a ``group_instance_id``, do not leave).

``FENCED_INSTANCE_ID`` (another process uses the same ``group_instance_id``) and other
non-retriable group errors stop the member with that error. Connection losses and coordinator
moves are retried with backoff for as long as the member runs. Runs on the client's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

from kaffe._cluster.client import Cluster
from kaffe._cluster.errors import error_for, error_name
from kaffe._group.assignors import (
    PROTOCOL_TYPE,
    Assignor,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
    plan_assignment,
)
from kaffe._group.membership import (
    Generation,
    MemberPartitions,
    Membership,
    fmt_tps,
    send_to_group,
)
from kaffe._group.settings import GroupSettings
from kaffe._group.status import MemberStatus
from kaffe._protocol import ApiKey, ErrorCode
from kaffe._util import WAIT_TIMEOUTS, backoff_delay
from kaffe.errors import AuthenticationError, AuthorizationError, KafkaError, TLSError

__all__ = ["ClassicMembership"]

log = logging.getLogger("kaffe.group")

_REJOIN_CODES = frozenset(
    {ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.REBALANCE_IN_PROGRESS}
)


def heartbeat_response_timeout(settings: GroupSettings) -> float:
    """Seconds a heartbeat may go unanswered before its connection is taken for dead: ten
    heartbeat intervals, at most a third of the session timeout (so two more heartbeats fit in
    the session on a fresh connection), at least 2 s (a coordinator answers a heartbeat at once;
    a slower answer means a stalled broker or a dead connection)."""
    return max(2.0, min(settings.heartbeat_interval * 10, settings.session_timeout / 3))


class _RejoinError(Exception):
    """The membership must be renewed (internal control flow); ``lost``: the member's
    partitions may already belong to someone else (unknown member, old generation, expired
    session), so even a cooperative member revokes everything first."""

    def __init__(self, lost: bool = False) -> None:
        super().__init__()
        self.lost = lost


class _FatalError(Exception):
    """The member cannot go on (wraps the KafkaError)."""


class ClassicMembership(Membership):
    """One member of a classic consumer group (see the module docs)."""

    def __init__(
        self,
        owner: object,
        settings: GroupSettings,
        cluster: Cluster,
        status: MemberStatus,
        topics: Sequence[str],
    ) -> None:
        """Not joined yet; subscribed to ``topics``. ``owner`` names the member in logs."""
        self._owner = owner
        self._settings = settings
        self._cluster = cluster
        self._status = status
        self._assignors: dict[str, Assignor] = {a.name: a for a in settings.assignors}
        self.member_id = ""
        self.generation = None
        self.topics = list(dict.fromkeys(topics))
        self.rebalances = 0
        self.heartbeats = 0
        self._joining = False
        self._lead_topics: dict[str, int] = {}

    # ------------------------------------------------------------------ the interface

    def subscribe(self, topics: Sequence[str]) -> list[str]:
        """Add ``topics`` to the subscription (rejoins when it changed); returns the new ones."""
        new = [t for t in topics if t not in self.topics]
        if new:
            self.topics.extend(new)
            log.info("%s: subscribing to %s as well", self._owner, new)
            self.request_rejoin()
        return new

    def request_rejoin(self) -> None:
        """Rejoin at the next heartbeat tick (at once)."""
        self._status.wake.set()

    def commit_failed(self, code: int) -> None:
        """Rejoin if an OffsetCommit answer says the generation or member is stale."""
        if code in _REJOIN_CODES and not self._status.stopping and not self._joining:
            self.request_rejoin()

    async def run(self, partitions: MemberPartitions) -> None:
        """The membership task (see the module docs)."""
        status = self._status
        failures = 0
        try:
            while not status.stopping:
                try:
                    await self._join_and_sync(partitions)
                    failures = 0
                    await self._heartbeat_until_rejoin()
                except _RejoinError as exc:
                    if exc.lost or status.stopping or not self._cooperative():
                        await self._revoke_all(partitions, lost=exc.lost)
                    continue
                except _FatalError as exc:
                    status.fail(exc.__cause__ or exc)
                except KafkaError as exc:
                    failures += 1
                    delay = backoff_delay(
                        failures, self._settings.rejoin_delay, 10.0, max_doublings=4, jitter=0.0
                    )
                    loud = failures > self._settings.max_rejoin_attempts or isinstance(
                        exc, AuthenticationError | AuthorizationError | TLSError
                    )
                    level = logging.ERROR if loud else logging.INFO
                    log.log(
                        level,
                        "%s: group membership failed (%s, attempt %d); retrying in %.1f s",
                        self._owner,
                        exc,
                        failures,
                        delay,
                    )
                    if not exc.retriable and failures > self._settings.max_rejoin_attempts:
                        status.fail(exc)
                    else:
                        await self._revoke_all(partitions)
                        await status.sleep(delay * random.uniform(0.8, 1.2))
                        continue
                await self._revoke_all(partitions)
            await self._leave()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # pragma: no cover - a bug: reported, member stops
            log.exception("%s: membership task failed", self._owner)
            status.fail(exc)
            await self._revoke_all(partitions)

    async def _revoke_all(self, partitions: MemberPartitions, *, lost: bool = False) -> None:
        await partitions.revoke_all(lost=lost)
        self.generation = None

    def _cooperative(self) -> bool:
        gen = self.generation
        if gen is None:
            return False
        assignor = self._assignors.get(gen.protocol)
        return assignor is not None and assignor.rebalance == "cooperative"

    def _coord(self, api: int, build: Any, timeout: float) -> Any:
        return send_to_group(
            self._cluster,
            self._settings.group_id,
            api,
            build,
            lambda r: [int(r["error_code"])],
            timeout,
        )

    def _raise_group_error(self, code: int, what: str) -> None:
        if code in _REJOIN_CODES:
            if code == ErrorCode.UNKNOWN_MEMBER_ID:
                self.member_id = ""
            log.info("%s: %s answered %s; rejoining", self._owner, what, error_name(code))
            raise _RejoinError(lost=code != ErrorCode.REBALANCE_IN_PROGRESS)
        err = error_for(code, f"{what} for group {self._settings.group_id!r}")
        if code == ErrorCode.FENCED_INSTANCE_ID or not err.retriable:
            raise _FatalError() from err
        raise err

    # ------------------------------------------------------------------ join and sync

    async def _join_and_sync(self, partitions: MemberPartitions) -> None:
        self._status.wake.clear()
        self._lead_topics = {}
        self._joining = True
        try:
            await self._join_and_sync_inner(partitions)
        finally:
            self._joining = False

    def _subscription(self, assignor: Assignor, owned: dict[str, list[int]]) -> bytes:
        prev = self.generation
        return encode_subscription(
            self.topics,
            owned=owned,
            generation=prev.generation_id if prev is not None else -1,
            user_data=assignor.user_data(list(self.topics)),
        )

    async def _join_and_sync_inner(self, partitions: MemberPartitions) -> None:
        st = self._settings
        owned = partitions.owned()
        protocols = [
            {"name": a.name, "metadata": self._subscription(a, owned)} for a in st.assignors
        ]
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
                    "protocols": protocols,
                    "reason": None,
                }

            resp = await self._coord(
                ApiKey.JOIN_GROUP, join_body, st.rebalance_timeout + st.session_timeout + 10.0
            )
            code = int(resp["error_code"])
            if code == ErrorCode.MEMBER_ID_REQUIRED:
                self.member_id = str(resp["member_id"])
                log.debug("%s: rejoining with member id %s (KIP-394)", self._owner, self.member_id)
                continue
            if code == ErrorCode.UNKNOWN_MEMBER_ID:
                self.member_id = ""
                continue
            if code == ErrorCode.REBALANCE_IN_PROGRESS:
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

        sync = await self._coord(ApiKey.SYNC_GROUP, sync_body, st.rebalance_timeout + 10.0)
        code = int(sync["error_code"])
        if code:
            self._raise_group_error(code, "SyncGroup")
        raw = sync.get("assignment") or b""
        assignment = decode_assignment(bytes(raw))
        gen = Generation(generation, self.member_id, protocol, assignment)
        await partitions.cancel_pending()
        self.generation = gen
        self.rebalances += 1
        parts = sorted((t, p) for t, ps in assignment.items() for p in ps)
        if self._cooperative():
            revoked = sorted(set(partitions.assigned) - set(parts))
            if revoked:
                log.info("%s: handing over %s (cooperative)", self._owner, fmt_tps(revoked))
                await partitions.revoke(revoked)
                self.request_rejoin()  # the next round gives them to their new owner
            new = [tp for tp in parts if tp not in partitions.assigned]
        else:
            new = parts
        log.info(
            "%s: joined generation %d as %s%s with %d partition(s): %s",
            self._owner,
            generation,
            self.member_id,
            " (leader)" if leader == self.member_id else "",
            len(parts),
            fmt_tps(parts),
        )
        partitions.assign_later(gen, new)

    async def _lead(self, protocol: str, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assignor = self._assignors.get(protocol)
        if assignor is None:
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
                info = await self._cluster.topic(topic, require_leaders=False)
            except KafkaError as exc:
                log.warning(
                    "%s: topic %r is left out of the assignment: %s", self._owner, topic, exc
                )
                continue
            if info.partition_count:
                counts[topic] = info.partition_count
        try:
            plan = plan_assignment(assignor, subs, counts)
        except KafkaError as exc:
            raise _FatalError() from exc
        self._lead_topics = {t: counts.get(t, 0) for s in subs for t in s.topics}
        log.info(
            "%s: as leader, assigned with %s: %s",
            self._owner,
            protocol,
            "; ".join(
                f"{mid}: {fmt_tps([(t, p) for t, ps in a.items() for p in ps])}"
                for mid, a in plan.items()
            ),
        )
        return [{"member_id": mid, "assignment": encode_assignment(a)} for mid, a in plan.items()]

    # ------------------------------------------------------------------ heartbeats

    def _partitions_changed(self, gen: Generation) -> bool:
        """As leader: whether a subscribed topic's partition count changed (or a missing topic
        appeared) since the assignment, per the cached metadata; then the group rebalances."""
        if not self._lead_topics:
            return False
        md = self._cluster.metadata
        if md is None:
            return False
        for topic, count in self._lead_topics.items():
            info = md.topic(topic)
            now = info.partition_count if info is not None and info.error_code == 0 else 0
            if now != count:
                log.info(
                    "%s: topic %r has %d partitions now (%d at the assignment of generation %d); "
                    "rebalancing",
                    self._owner,
                    topic,
                    now,
                    count,
                    gen.generation_id,
                )
                self._lead_topics = {}
                return True
        return False

    async def _heartbeat_until_rejoin(self) -> None:
        st = self._settings
        gen = self.generation
        assert gen is not None
        wake = self._status.wake
        last_ok = time.monotonic()
        while True:
            with contextlib.suppress(*WAIT_TIMEOUTS):
                await asyncio.wait_for(wake.wait(), st.heartbeat_interval)
            if wake.is_set() or self._partitions_changed(gen):
                raise _RejoinError()

            def body(version: int) -> dict[str, Any]:
                return {
                    "group_id": st.group_id,
                    "generation_id": gen.generation_id,
                    "member_id": gen.member_id,
                    "group_instance_id": st.group_instance_id,
                }

            left = max(1.0, st.session_timeout - (time.monotonic() - last_ok))
            try:
                resp = await self._coord(
                    ApiKey.HEARTBEAT, body, min(left, heartbeat_response_timeout(st))
                )
            except KafkaError as exc:
                if time.monotonic() - last_ok > st.session_timeout:
                    log.warning(
                        "%s: no heartbeat got through for %.1f s (session timeout %.1f s): %s; "
                        "rejoining",
                        self._owner,
                        time.monotonic() - last_ok,
                        st.session_timeout,
                        exc,
                    )
                    raise _RejoinError(lost=True) from exc
                log.info("%s: heartbeat failed: %s", self._owner, exc)
                continue
            code = int(resp["error_code"])
            if code == 0:
                last_ok = time.monotonic()
                self.heartbeats += 1
                continue
            self._raise_group_error(code, "Heartbeat")

    async def _leave(self) -> None:
        st = self._settings
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
            await self._coord(ApiKey.LEAVE_GROUP, body, 5.0)
            log.info("%s: left the group", self._owner)
        except KafkaError as exc:
            log.info("%s: LeaveGroup failed: %s", self._owner, exc)
        self.member_id = ""
