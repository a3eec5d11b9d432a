"""The membership protocol as the rest of the group engine sees it: :class:`Membership`.

A membership keeps one member in its group: it joins, learns the member's assignment, keeps the
membership alive, rejoins when it must and leaves when the member stops. It applies every
assignment to the member's :class:`~kaffe._group.assignment.PartitionSet` (which starts and
revokes partitions) and tells the commits (:mod:`kaffe._group.commits`) which generation they
belong to. :class:`~kaffe._group.classic.ClassicMembership` implements the classic protocol
(JoinGroup, SyncGroup, Heartbeat, LeaveGroup; the leader runs the assignor); the KIP-848
consumer protocol (ConsumerGroupHeartbeat, the coordinator assigns) would be a second class
with the same interface.

Everything here runs on the client's event loop.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kaffe._cluster.client import Cluster, CoordinatorType
from kaffe._util import TopicPartition

__all__ = ["Generation", "MemberPartitions", "Membership", "fmt_tps", "send_to_group"]


@dataclass
class Generation:
    """One assignment of the member: the generation (the member epoch under KIP-848) and
    member id commits must name, the assignor's protocol name and the partitions."""

    generation_id: int
    member_id: str
    protocol: str
    assignment: dict[str, list[int]]
    token: object = field(default_factory=object)


class MemberPartitions(Protocol):
    """What a membership does with the member's partitions: the part of
    :class:`~kaffe._group.assignment.PartitionSet` it uses (the assignment module builds on this
    one, so the membership names the interface, not the class)."""

    @property
    def assigned(self) -> Mapping[TopicPartition, object]:
        """The partitions being consumed (their fetch states)."""
        ...

    def owned(self) -> dict[str, list[int]]:
        """The partitions being consumed, ``topic -> sorted partitions``."""
        ...

    def assign_later(self, gen: Generation, parts: list[TopicPartition]) -> None:
        """Start consuming ``parts`` of generation ``gen`` in the background."""
        ...

    async def cancel_pending(self) -> None:
        """Abandon an assignment still being started."""
        ...

    async def revoke_all(self, *, lost: bool = False) -> None:
        """Abandon an assignment being started and revoke every partition."""
        ...

    async def revoke(self, parts: list[TopicPartition], *, lost: bool = False) -> None:
        """Stop consuming ``parts``."""
        ...


class Membership(abc.ABC):
    """Keeps one member in its group (see the module docs).

    Attributes:
        member_id: the id the coordinator gave this member (``""`` before the first join).
        generation: the member's current generation, ``None`` while it holds no assignment.
        topics: the subscription, in the order topics were added.
        rebalances: how many assignments the member received.
        heartbeats: how many heartbeats the coordinator accepted.
    """

    member_id: str
    generation: Generation | None
    topics: list[str]
    rebalances: int
    heartbeats: int

    @abc.abstractmethod
    async def run(self, partitions: MemberPartitions) -> None:
        """Join, apply each assignment to ``partitions`` and keep the membership until the
        member stops (:class:`~kaffe._group.status.MemberStatus`); then revoke everything and
        leave. Fatal errors stop the member through its status."""

    @abc.abstractmethod
    def subscribe(self, topics: Sequence[str]) -> list[str]:
        """Add ``topics`` to the subscription (the group rebalances if it changed); returns the
        ones that were new."""

    @abc.abstractmethod
    def request_rejoin(self) -> None:
        """Renew the membership as soon as possible (a new assignment is wanted)."""

    @abc.abstractmethod
    def commit_failed(self, code: int) -> None:
        """An OffsetCommit answered error ``code`` for a partition; if the code says the
        membership is stale, renew it."""


def fmt_tps(parts: Sequence[TopicPartition]) -> str:
    """``topic[0, 1], other[2]`` for logs (``none`` when empty)."""
    if not parts:
        return "none"
    by: dict[str, list[int]] = {}
    for t, p in parts:
        by.setdefault(t, []).append(p)
    return ", ".join(f"{t}{sorted(ps)}" for t, ps in sorted(by.items()))


def send_to_group(
    cluster: Cluster,
    group_id: str,
    api: int,
    build: Callable[[int], dict[str, Any]],
    codes: Callable[[dict[str, Any]], list[int]],
    timeout: float,
) -> Awaitable[dict[str, Any]]:
    """Send a request to ``group_id``'s coordinator (looked up again when it moved);
    ``build(version)`` makes the body, ``codes(response)`` lists its error codes."""
    return cluster.send_to_coordinator(
        group_id, CoordinatorType.GROUP, api, build, error_codes=codes, timeout=timeout
    )
