"""The member's partition set: applying assignments and revoking partitions.

The membership (:mod:`kaffe._group.membership`) decides *what* the member owns; this part makes
it so. Assigning waits ``rebalance_delay`` (default 0), reads the partitions' committed offsets
(OffsetFetch) and starts each partition: commit tracking, the handler's delivery gate, a fetch
state in the fetcher and a subscriber (:mod:`kaffe._group.dispatch`); an assignment whose
generation was replaced meanwhile is dropped. Revoking stops the partitions' fetching (their
delivery gates close), waits up to the rebalance timeout for their running batches, commits,
forgets them and calls the handler's ``on_revoked`` (``on_lost`` when the membership was lost).
Runs on the client's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kaffe._fetch.fetcher import Fetcher, PartitionFetch
from kaffe._group.commits import Committer
from kaffe._group.dispatch import Dispatcher
from kaffe._group.handler import GroupHandler
from kaffe._group.membership import Generation, Membership, fmt_tps
from kaffe._group.offsets import AckTracker, CommitTracker
from kaffe._group.settings import GroupSettings
from kaffe._group.status import MemberStatus
from kaffe._util import TopicPartition
from kaffe.errors import KafkaError

__all__ = ["PartitionSet"]

log = logging.getLogger("kaffe.group")


class PartitionSet:
    """The partitions one member consumes, with their fetch states.

    Attributes:
        assigned: ``(topic, partition) -> fetch state`` of every partition being consumed.
    """

    def __init__(
        self,
        owner: object,
        settings: GroupSettings,
        fetcher: Fetcher,
        handler: GroupHandler,
        tracker: CommitTracker,
        committer: Committer,
        dispatcher: Dispatcher,
        membership: Membership,
        status: MemberStatus,
    ) -> None:
        """Nothing assigned; ``owner`` names the member in logs."""
        self._owner = owner
        self._settings = settings
        self._fetcher = fetcher
        self._handler = handler
        self._tracker = tracker
        self._committer = committer
        self._dispatcher = dispatcher
        self._membership = membership
        self._status = status
        self.assigned: dict[TopicPartition, PartitionFetch] = {}
        self._gates: dict[TopicPartition, AckTracker] = {}
        self._pending: asyncio.Task[None] | None = None

    def owned(self) -> dict[str, list[int]]:
        """The partitions being consumed, ``topic -> sorted partitions``."""
        owned: dict[str, list[int]] = {}
        for t, p in sorted(self.assigned):
            owned.setdefault(t, []).append(p)
        return owned

    def lags(self) -> dict[TopicPartition, int | None]:
        """Per assigned partition: high watermark minus position (``None`` if unknown)."""
        return {tp: s.lag() for tp, s in sorted(self.assigned.items())}

    # ------------------------------------------------------------------ assigning

    def assign_later(self, gen: Generation, parts: list[TopicPartition]) -> None:
        """Start consuming ``parts`` of generation ``gen`` in the background (after
        :meth:`cancel_pending`)."""
        self._pending = asyncio.get_running_loop().create_task(self._assign(gen, parts))

    async def cancel_pending(self) -> None:
        """Abandon an assignment still being started."""
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending

    def _stale(self, gen: Generation) -> bool:
        return self._membership.generation is not gen or self._status.stopping

    async def _assign(self, gen: Generation, parts: list[TopicPartition]) -> None:
        st = self._settings
        if st.rebalance_delay > 0:
            await asyncio.sleep(st.rebalance_delay)
        if self._stale(gen):
            log.info(
                "%s: dropping the assignment of stale generation %d",
                self._owner,
                gen.generation_id,
            )
            return
        attempt = 0
        while True:
            try:
                committed = await self._committer.fetch_committed(parts)
                break
            except KafkaError as exc:
                attempt += 1
                if attempt > st.subscriber_retries:
                    self._status.fail(exc)
                    return
                log.warning("%s: OffsetFetch failed (%s); retrying", self._owner, exc)
                await asyncio.sleep(st.subscriber_retry_delay)
                if self._membership.generation is not gen:
                    return
        if self._stale(gen):
            return
        for tp in parts:
            offset = committed.get(tp)
            self._tracker.assign(tp, offset)
            gate = self._handler.start_partition(tp)
            if gate is not None:
                self._gates[tp] = gate
            state = self._fetcher.assign(tp[0], tp[1], offset)
            self.assigned[tp] = state
            self._dispatcher.start(self._fetcher, tp, state, gate)
        log.info(
            "%s: consuming %s from %s",
            self._owner,
            fmt_tps(parts),
            ", ".join(f"{t}/{p}@{committed.get((t, p), 'begin')}" for t, p in parts),
        )
        if self._handler.rebalance_callbacks and parts:
            await self._dispatcher.callback(self._handler.on_assigned, parts, "on_assigned")

    # ------------------------------------------------------------------ revoking

    async def revoke_all(self, *, lost: bool = False) -> None:
        """Abandon an assignment being started and revoke every partition."""
        await self.cancel_pending()
        parts = sorted(self.assigned)
        if parts:
            await self.revoke(parts, lost=lost)

    async def revoke(self, parts: list[TopicPartition], *, lost: bool = False) -> None:
        """Stop ``parts``: no new batches, running ones finish (up to the rebalance timeout),
        offsets committed, ``on_revoked`` (``on_lost`` if ``lost``) called."""
        for tp in parts:
            self._fetcher.unassign(*tp)
            gate = self._gates.pop(tp, None)
            if gate is not None:
                gate.close()
        await self._dispatcher.finish(parts)
        await self._committer.commit()
        for tp in parts:
            self.assigned.pop(tp, None)
            self._tracker.unassign(tp)
        self._dispatcher.forget(parts)
        gen = self._membership.generation
        log.info(
            "%s: revoked %s (generation %s)",
            self._owner,
            fmt_tps(parts),
            gen.generation_id if gen else "?",
        )
        if self._handler.rebalance_callbacks:
            callback = self._handler.on_lost if lost else self._handler.on_revoked
            await self._dispatcher.callback(callback, parts, "on_revoked")
