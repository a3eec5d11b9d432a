"""The consumer-group engine: one group member, put together from its parts.

Everything here runs on the client's event loop; handlers run in workers
(:mod:`kaffe._group.workers`), so heartbeats keep going while handlers run. The parts, each a
module with one job, talk through typed interfaces:

* :mod:`~kaffe._group.membership` / :mod:`~kaffe._group.classic`: joining and staying in the
  group (the classic protocol behind the :class:`~kaffe._group.membership.Membership`
  interface; the assignors are :class:`~kaffe._group.assignors.Assignor` objects);
* :mod:`~kaffe._group.assignment`: the partition set, starting and revoking partitions;
* :mod:`~kaffe._group.dispatch`: a subscriber task per partition feeding its worker, and the
  rebalance callbacks;
* :mod:`~kaffe._group.commits`: OffsetCommit and OffsetFetch;
* :mod:`~kaffe._group.watchdog`: reports handlers running past the rebalance timeout;
* :mod:`~kaffe._group.status`: whether the member runs, and the error that stopped it.

The consumer the engine serves is a :class:`~kaffe._group.handler.GroupHandler`: the engine calls
it and nothing else. After ``rebalance_delay`` (default 0: at once; Kaffe's 10 s worked around a
brod bug with stale generations this engine does not have) assigned partitions get their
committed offsets and a subscriber each; assignments of a generation that was replaced meanwhile
are dropped. Revoking a partition stops its batches (the running ones finish, up to the
rebalance timeout; a handler running longer is reported with ``logging.error`` and its result is
discarded), commits, then calls ``on_revoked``. With a cooperative assignor
(``cooperative-sticky``) the partitions that stay keep their subscriber and their place in the
fetcher all through a rebalance, so they never pause.

Flow control: a partition may have a delivery gate (the asynchronous-ack consumer's
:class:`~kaffe._group.offsets.AckTracker` with its limit). Batches are then cut to the room the
gate has, and the partition's subscriber waits for acknowledgements before delivering more; other
partitions go on. Revoking the partition closes its gate.

Non-retriable group errors (``FENCED_INSTANCE_ID``: another process uses the same
``group_instance_id``, ...) stop the member with that error. Connection losses, coordinator moves
and leader moves are retried with backoff for as long as the member runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from kaffe._cluster.client import Cluster
from kaffe._fetch.fetcher import Fetcher, FetchSettings, PartitionFetch
from kaffe._group.assignment import PartitionSet
from kaffe._group.classic import ClassicMembership
from kaffe._group.commits import Committer
from kaffe._group.dispatch import Dispatcher
from kaffe._group.handler import GroupHandler
from kaffe._group.membership import Generation, Membership
from kaffe._group.offsets import CommitTracker
from kaffe._group.settings import GroupSettings, WorkerStrategy
from kaffe._group.status import MemberStatus
from kaffe._group.watchdog import Watchdog
from kaffe._util import TopicPartition, backoff_delay
from kaffe.config import ClientConfig
from kaffe.errors import KafkaError

__all__ = ["GroupEngine", "GroupSettings", "WorkerStrategy"]

log = logging.getLogger("kaffe.group")


class GroupEngine:
    """One group member (see the module docs).

    Attributes:
        tracker: what each partition may commit, moved by the handler's results.
        status: whether the member runs (its ``failure``, ``done``).
        cluster, fetcher: the coordinator's and the fetcher's connections (after :meth:`start`).
        membership, partitions, committer, dispatcher: the parts (after :meth:`start`).
    """

    def __init__(
        self,
        client: ClientConfig,
        settings: GroupSettings,
        fetch: FetchSettings,
        handler: GroupHandler,
        *,
        tracker: CommitTracker,
        asynchronous: bool = False,
    ) -> None:
        """Prepare the member: ``handler`` processes its messages and hears of its partitions;
        ``tracker`` (which the handler moves too) holds what may be committed. Handlers run in
        worker threads, or as tasks on the caller's loop when ``asynchronous``."""
        self.client = client
        self.settings = settings
        self.fetch_settings = fetch
        self.handler = handler
        self.tracker = tracker
        self.status = MemberStatus(self)
        self._watchdog = Watchdog(self, settings.rebalance_timeout)
        self.dispatcher = Dispatcher(
            self, settings, handler, self.status, self._watchdog, asynchronous=asynchronous
        )
        self._topics: list[str] = list(dict.fromkeys(settings.topics))
        self.cluster: Cluster | None = None
        self.fetcher: Fetcher | None = None
        self.membership: Membership | None = None
        self.committer: Committer | None = None
        self.partitions: PartitionSet | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect (retrying with exponential backoff up to ``client_down_retry_expire``) and
        start the membership, commit and watchdog tasks."""
        self.cluster = cluster = Cluster(self.client)
        fetch_cluster = Cluster(self.client)
        expire = time.monotonic() + self.settings.client_down_retry_expire
        failures = 0
        while True:
            try:
                await cluster.bootstrap()
                await fetch_cluster.bootstrap()
                break
            except KafkaError as exc:
                failures += 1
                delay = backoff_delay(failures, 0.2, 5.0, jitter=0.0)
                if not exc.retriable or time.monotonic() + delay > expire:
                    await cluster.close()
                    await fetch_cluster.close()
                    raise
                log.warning("%s: cluster not reachable (%s); retrying in %.1f s", self, exc, delay)
                await asyncio.sleep(delay)
        self.fetcher = Fetcher(fetch_cluster, self.fetch_settings)
        membership = ClassicMembership(self, self.settings, cluster, self.status, self._topics)
        self.membership = membership
        self.committer = Committer(
            self, self.settings, cluster, self.tracker, self.handler, membership
        )
        self.partitions = PartitionSet(
            self,
            self.settings,
            self.fetcher,
            self.handler,
            self.tracker,
            self.committer,
            self.dispatcher,
            membership,
            self.status,
        )
        loop = asyncio.get_running_loop()
        name = self.settings.name
        self._tasks = [
            loop.create_task(
                self._membership(membership, self.partitions), name=f"kaffe-{name}-membership"
            ),
            loop.create_task(self.committer.run_periodically(), name=f"kaffe-{name}-commit"),
            loop.create_task(self._watchdog.run(), name=f"kaffe-{name}-watchdog"),
        ]

    async def _membership(self, membership: Membership, partitions: PartitionSet) -> None:
        try:
            await membership.run(partitions)
        finally:
            if self.status.stopping and not self.status.done.is_set():
                asyncio.get_running_loop().create_task(self._shutdown())

    async def stop_workers(self, timeout: float) -> None:
        """Stop the handler workers and callback workers (after :meth:`stop`)."""
        await self.dispatcher.stop_workers(timeout)

    def __repr__(self) -> str:
        """Name and group."""
        return f"<group member {self.settings.name!r} of group {self.settings.group_id!r}>"

    async def stop(self) -> None:
        """Revoke (handlers finish, offsets committed), leave the group, close connections."""
        if self.status.stopping:
            await self.status.done.wait()
            return
        self.status.stop()
        membership = self._tasks[0] if self._tasks else None
        if membership is not None:
            try:
                await asyncio.wait_for(
                    asyncio.shield(membership), self.settings.rebalance_timeout + 15.0
                )
            except (asyncio.CancelledError, Exception) as exc:
                log.warning("%s: membership did not end cleanly: %r", self, exc)
        await self._shutdown()

    async def _shutdown(self) -> None:
        for task in self._tasks:
            if not task.done():
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5.0)
        if self.fetcher is not None:
            await self.fetcher.close()
            await self.fetcher.cluster.close()
        if self.cluster is not None:
            await self.cluster.close()
        self.status.done.set()

    @property
    def failure(self) -> BaseException | None:
        """The error that stopped the member, if one did."""
        return self.status.failure

    @property
    def done(self) -> asyncio.Event:
        """Set once the member stopped and closed its connections."""
        return self.status.done

    def subscribe(self, topics: Sequence[str]) -> list[str]:
        """Add ``topics`` to the subscription (rejoins when it changed); returns the new ones."""
        if self.membership is not None:
            return self.membership.subscribe(topics)
        new = [t for t in topics if t not in self._topics]
        self._topics.extend(new)
        return new

    async def commit(self) -> dict[TopicPartition, int]:
        """Commit every offset Kafka does not have yet; returns what was committed."""
        return await self.committer.commit() if self.committer is not None else {}

    # ------------------------------------------------------------------ introspection

    @property
    def assigned(self) -> dict[TopicPartition, PartitionFetch]:
        """``(topic, partition) -> fetch state`` of every partition being consumed."""
        return self.partitions.assigned if self.partitions is not None else {}

    @property
    def member_id(self) -> str:
        """The id the coordinator gave this member (``""`` when not in the group)."""
        return self.membership.member_id if self.membership is not None else ""

    @property
    def generation(self) -> Generation | None:
        """The member's current generation (``None`` while it holds no assignment)."""
        return self.membership.generation if self.membership is not None else None

    @property
    def rebalances(self) -> int:
        """How many assignments the member received."""
        return self.membership.rebalances if self.membership is not None else 0

    @property
    def heartbeats(self) -> int:
        """How many heartbeats the coordinator accepted."""
        return self.membership.heartbeats if self.membership is not None else 0

    def assignment(self) -> list[TopicPartition]:
        """The partitions being consumed now."""
        return sorted(self.assigned)

    def lags(self) -> dict[TopicPartition, int | None]:
        """Per assigned partition: high watermark minus position (``None`` if unknown)."""
        return self.partitions.lags() if self.partitions is not None else {}
