"""Partition assignors and the consumer protocol's subscription/assignment bytes.

The group leader runs the assignor the group agreed on and sends each member its partitions.
The names and the byte formats are Java's (``ConsumerProtocolSubscription`` /
``ConsumerProtocolAssignment``, a big-endian int16 version in front), so kaffe, Java and
librdkafka members that agree on an assignor can share a group.

Every assignor implements :class:`Assignor` (public as :class:`kaffe.Assignor`); the group engine
knows nothing else about them. The built-in ones, by the names the consumer key
``partition_assignment_strategy`` takes (:data:`ASSIGNORS`):

* ``range``: per topic, members (sorted by group instance id, else member id) get contiguous
  ranges; the first ``partitions % members`` get one more.
* ``roundrobin``: every partition of every subscribed topic, sorted by topic then partition, is
  dealt to the members in turn, skipping members not subscribed to that topic.
* ``cooperative-sticky``: incremental rebalancing (KIP-429), see
  :class:`CooperativeStickyAssignor`.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from kaffe._core import decode_data, encode_data
from kaffe.errors import KafkaError, ProtocolError

__all__ = [
    "ASSIGNORS",
    "Assignment",
    "Assignor",
    "CooperativeStickyAssignor",
    "MemberSubscription",
    "RangeAssignor",
    "RebalanceProtocol",
    "RoundRobinAssignor",
    "decode_assignment",
    "decode_subscription",
    "encode_assignment",
    "encode_subscription",
    "plan_assignment",
]

PROTOCOL_TYPE = "consumer"
_VERSION = struct.Struct(">h")
_SUBSCRIPTION_VERSION = 3
_ASSIGNMENT_VERSION = 1

Assignment = dict[str, list[int]]
"""``topic -> sorted partitions``."""

RebalanceProtocol = Literal["eager", "cooperative"]
"""How the members of a group give partitions up when it rebalances (:attr:`Assignor.rebalance`)."""


@dataclass(frozen=True)
class MemberSubscription:
    """What one member asked for when it joined (what :meth:`Assignor.assign` gets per member).

    Attributes:
        member_id: the id the coordinator gave the member (the key of the assignment).
        topics: the topics it subscribes to.
        group_instance_id: its static instance id (``group_instance_id``), if it has one.
        owned: the partitions it consumes now, ``topic -> partitions`` (sent by cooperative
            members and by kaffe; empty for older clients).
        generation: the generation its ``owned`` partitions were assigned in (-1: none).
        user_data: what its assignor's :meth:`Assignor.user_data` returned (``None``: nothing).
    """

    member_id: str
    topics: tuple[str, ...]
    group_instance_id: str | None = None
    owned: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    generation: int = -1
    user_data: bytes | None = None

    @property
    def sort_key(self) -> tuple[int, str]:
        """Java's member order: static members by instance id, the others by member id."""
        if self.group_instance_id is not None:
            return (0, self.group_instance_id)
        return (1, self.member_id)


class Assignor(Protocol):
    """A partition assignor: how the group leader splits the subscribed partitions among the
    members. Pass an instance as ``partition_assignment_strategy`` (alone or in a list, with
    built-in names too) to any group consumer; subclass this class to inherit the defaults of
    :attr:`rebalance` and :meth:`user_data`, or write any class with the same members.

    Every member of a group offers its assignors by :attr:`name` when it joins; the group agrees
    on one that every member offers (each member votes for the first such one in its list; the
    coordinator takes the one with the most votes), and only the leader runs its
    :meth:`assign`. So give members of one group assignors that agree: the same class, or the
    same logic under the same name.

    Attributes:
        name: the protocol name sent to the coordinator (``"range"``, ``"my-racks"``, ...). It
            must differ from the other assignors of the list.
        rebalance: ``"eager"`` (every member gives up all its partitions at each rebalance,
            before the new assignment) or ``"cooperative"`` (KIP-429: members keep the
            partitions they are assigned again and never pause them; a partition moving to
            another member is revoked by its owner and handed over in a second rebalance). A
            cooperative :meth:`assign` must never give a partition to a member while another
            member still owns it (see :attr:`MemberSubscription.owned`): leave it out, and the
            owner hands it over. For type checkers, annotate an override as
            :data:`RebalanceProtocol` (``rebalance: RebalanceProtocol = "cooperative"``).

    Example::

        class FirstMemberTakesAll(kaffe.Assignor):
            name = "first-takes-all"

            def assign(self, members, partitions):
                first = min(members, key=lambda m: m.member_id)
                plan = {m.member_id: {} for m in members}
                plan[first.member_id] = {t: list(range(n)) for t, n in partitions.items()}
                return plan
    """

    name: str
    rebalance: RebalanceProtocol = "eager"

    def assign(
        self, members: Sequence[MemberSubscription], partitions: Mapping[str, int]
    ) -> Mapping[str, Mapping[str, Sequence[int]]]:
        """The assignment: ``member_id -> {topic: partitions}``.

        ``members`` are the group's members with what each subscribed to (their
        :class:`MemberSubscription`); ``partitions`` maps each subscribed topic that exists to
        its partition count. A member left out gets nothing. Runs on the leader's event loop,
        so it must not block; an exception, a member id not in ``members``, or a partition
        that does not exist or that its member did not subscribe to stops the leader with a
        :class:`kaffe.KafkaError` saying so.
        """
        ...

    def user_data(self, topics: Sequence[str]) -> bytes | None:
        """Bytes this member sends along with its subscription (``None``: nothing); the
        leader's :meth:`assign` sees them as :attr:`MemberSubscription.user_data`. Called
        each time the member joins, with the topics it subscribes to."""
        return None


class RangeAssignor(Assignor):
    """Java's ``RangeAssignor`` (protocol name ``range``, eager)."""

    name = "range"
    rebalance: RebalanceProtocol = "eager"

    def assign(
        self, members: Sequence[MemberSubscription], partitions: Mapping[str, int]
    ) -> dict[str, Assignment]:
        """``member_id -> {topic: partitions}`` for every member (empty when nothing fits)."""
        out: dict[str, Assignment] = {m.member_id: {} for m in members}
        topics = sorted({t for m in members for t in m.topics if t in partitions})
        for topic in topics:
            subs = sorted((m for m in members if topic in m.topics), key=lambda m: m.sort_key)
            count = partitions[topic]
            per, extra = divmod(count, len(subs))
            for i, m in enumerate(subs):
                start = per * i + min(i, extra)
                length = per + (1 if i < extra else 0)
                if length:
                    out[m.member_id][topic] = list(range(start, start + length))
        return out


class RoundRobinAssignor(Assignor):
    """Java's ``RoundRobinAssignor`` (protocol name ``roundrobin``, eager)."""

    name = "roundrobin"
    rebalance: RebalanceProtocol = "eager"

    def assign(
        self, members: Sequence[MemberSubscription], partitions: Mapping[str, int]
    ) -> dict[str, Assignment]:
        """``member_id -> {topic: partitions}`` for every member (empty when nothing fits)."""
        out: dict[str, Assignment] = {m.member_id: {} for m in members}
        ordered = sorted(members, key=lambda m: m.sort_key)
        if not ordered:
            return out
        topics = sorted({t for m in members for t in m.topics if t in partitions})
        i = 0
        n = len(ordered)
        for topic in topics:
            for p in range(partitions[topic]):
                for _ in range(n):
                    m = ordered[i % n]
                    i += 1
                    if topic in m.topics:
                        out[m.member_id].setdefault(topic, []).append(p)
                        break
        return out


class CooperativeStickyAssignor(Assignor):
    """Sticky assignment for incremental rebalancing (KIP-429; protocol ``cooperative-sticky``).

    Members keep the partitions they own (a partition claimed by two members goes to the one
    with the higher generation) up to a balanced share; partitions nobody keeps go to the least
    loaded subscribed member. A partition moving from one member to another is left out of this
    round: its old owner revokes it and rejoins, and the next round hands it over. Members that
    keep a partition never stop consuming it.
    """

    name = "cooperative-sticky"
    rebalance: RebalanceProtocol = "cooperative"

    def assign(
        self, members: Sequence[MemberSubscription], partitions: Mapping[str, int]
    ) -> dict[str, Assignment]:
        """``member_id -> {topic: partitions}``; see the class docs."""
        ordered = sorted(members, key=lambda m: m.sort_key)
        out: dict[str, set[tuple[str, int]]] = {m.member_id: set() for m in ordered}
        if not ordered:
            return {}
        valid = {(t, p) for t, n in partitions.items() for p in range(n)}
        subscribed = {m.member_id: set(m.topics) for m in ordered}
        # previous owners; conflicts go to the claim with the highest generation
        owner: dict[tuple[str, int], tuple[int, str]] = {}
        for m in ordered:
            for t, ps in m.owned.items():
                for p in ps:
                    tp = (t, p)
                    if tp not in valid or t not in subscribed[m.member_id]:
                        continue
                    best = owner.get(tp)
                    if best is None or m.generation > best[0]:
                        owner[tp] = (m.generation, m.member_id)
        total = len([tp for tp in valid if any(tp[0] in s for s in subscribed.values())])
        n = len(ordered)
        base, extra = divmod(total, n)
        # members with the most owned partitions get the "+1" slots first, to move the fewest
        owned_count = Counter(mid for _, mid in owner.values())
        by_size = sorted(ordered, key=lambda m: (-owned_count[m.member_id], m.sort_key))
        quota = {m.member_id: base + (1 if i < extra else 0) for i, m in enumerate(by_size)}
        for tp, (_, mid) in sorted(owner.items()):
            if len(out[mid]) < quota[mid]:
                out[mid].add(tp)
        taken = set().union(*out.values())
        for tp in sorted(valid - taken):
            candidates = [m for m in ordered if tp[0] in subscribed[m.member_id]]
            if not candidates:
                continue
            under = [m for m in candidates if len(out[m.member_id]) < quota[m.member_id]]
            pick = min(under or candidates, key=lambda m: (len(out[m.member_id]), m.sort_key))
            out[pick.member_id].add(tp)
        # cooperative: a partition still owned by another member is handed over next round
        result: dict[str, Assignment] = {}
        for m in ordered:
            mine: Assignment = {}
            for tp in sorted(out[m.member_id]):
                prev = owner.get(tp)
                if prev is not None and prev[1] != m.member_id:
                    continue
                mine.setdefault(tp[0], []).append(tp[1])
            result[m.member_id] = mine
        return result


ASSIGNORS: dict[str, Callable[[], Assignor]] = {
    "range": RangeAssignor,
    "roundrobin": RoundRobinAssignor,
    "cooperative-sticky": CooperativeStickyAssignor,
}
"""The assignors kaffe implements, by protocol name (the names ``partition_assignment_strategy``
takes)."""


def plan_assignment(
    assignor: Assignor, members: Sequence[MemberSubscription], partitions: Mapping[str, int]
) -> dict[str, Assignment]:
    """Run ``assignor.assign`` as the leader and check its answer: ``member_id -> {topic: sorted
    partitions}`` for members of ``members`` only, with partitions that exist of topics the
    member subscribed to. Anything else (or an exception from the assignor) is a
    :class:`~kaffe.errors.KafkaError` naming the assignor and what was wrong."""
    what = f"assignor {assignor.name!r} ({type(assignor).__qualname__})"
    try:
        plan = assignor.assign(members, partitions)
    except Exception as exc:
        raise KafkaError(f"{what} failed: {exc!r}") from exc
    if not isinstance(plan, Mapping):
        raise KafkaError(f"{what} returned {plan!r}; expected a mapping member_id -> assignment")
    subscribed = {m.member_id: set(m.topics) for m in members}
    out: dict[str, Assignment] = {}
    for member_id, assignment in plan.items():
        if member_id not in subscribed:
            raise KafkaError(f"{what} assigned partitions to {member_id!r}, not a group member")
        if not isinstance(assignment, Mapping):
            raise KafkaError(
                f"{what} returned {assignment!r} for member {member_id!r}; expected a mapping "
                "topic -> partitions"
            )
        mine: Assignment = {}
        for topic, parts in assignment.items():
            count = partitions.get(topic) if isinstance(topic, str) else None
            if count is None or topic not in subscribed[member_id]:
                raise KafkaError(
                    f"{what} gave member {member_id!r} topic {topic!r}, which it did not "
                    "subscribe to or which does not exist"
                )
            if isinstance(parts, str | bytes) or not isinstance(parts, Iterable):
                raise KafkaError(f"{what} gave {topic!r} partitions {parts!r}; expected ints")
            ps = list(parts)
            if any(isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < count for p in ps):
                raise KafkaError(
                    f"{what} gave member {member_id!r} partitions {ps!r} of {topic!r}, which "
                    f"has partitions 0..{count - 1}"
                )
            mine[topic] = sorted(set(ps))
        out[member_id] = mine
    return out


# ---------------------------------------------------------------------- protocol bytes


def encode_subscription(
    topics: Iterable[str],
    *,
    owned: Mapping[str, Iterable[int]] | None = None,
    generation: int = -1,
    user_data: bytes | None = None,
) -> bytes:
    """``ConsumerProtocolSubscription`` v3 bytes, with the version in front."""
    body = {
        "topics": sorted(set(topics)),
        "user_data": user_data,
        "owned_partitions": [
            {"topic": t, "partitions": sorted(ps)} for t, ps in sorted((owned or {}).items())
        ],
        "generation_id": generation,
        "rack_id": None,
    }
    return _VERSION.pack(_SUBSCRIPTION_VERSION) + encode_data(
        "ConsumerProtocolSubscription", _SUBSCRIPTION_VERSION, body
    )


def _split(kind: str, data: bytes, highest: int) -> tuple[int, bytes]:
    if len(data) < 2:
        raise ProtocolError(f"{kind}: {len(data)} bytes, too short for a version")
    (version,) = _VERSION.unpack_from(data)
    if version < 0:
        raise ProtocolError(f"{kind}: negative version {version}")
    return min(version, highest), data[2:]


def decode_subscription(
    member_id: str, group_instance_id: str | None, data: bytes
) -> MemberSubscription:
    """Parse a member's ``ConsumerProtocolSubscription`` bytes (any version)."""
    version, body = _split("ConsumerProtocolSubscription", data, _SUBSCRIPTION_VERSION)
    d = decode_data("ConsumerProtocolSubscription", version, body)
    owned = {
        str(tp["topic"]): tuple(int(p) for p in tp["partitions"])
        for tp in d.get("owned_partitions") or ()
    }
    return MemberSubscription(
        member_id=member_id,
        topics=tuple(str(t) for t in d.get("topics") or ()),
        group_instance_id=group_instance_id,
        owned=owned,
        generation=int(d.get("generation_id", -1)),
        user_data=d.get("user_data"),
    )


def encode_assignment(assignment: Mapping[str, Iterable[int]]) -> bytes:
    """``ConsumerProtocolAssignment`` bytes, with the version in front."""
    body = {
        "assigned_partitions": [
            {"topic": t, "partitions": sorted(ps)} for t, ps in sorted(assignment.items())
        ],
        "user_data": None,
    }
    return _VERSION.pack(_ASSIGNMENT_VERSION) + encode_data(
        "ConsumerProtocolAssignment", _ASSIGNMENT_VERSION, body
    )


def decode_assignment(data: bytes) -> Assignment:
    """Parse ``ConsumerProtocolAssignment`` bytes (any version); empty bytes mean nothing."""
    if not data:
        return {}
    version, body = _split("ConsumerProtocolAssignment", data, 3)
    d = decode_data("ConsumerProtocolAssignment", version, body)
    out: Assignment = {}
    for tp in d.get("assigned_partitions") or ():
        out.setdefault(str(tp["topic"]), []).extend(int(p) for p in tp["partitions"])
    return {t: sorted(set(ps)) for t, ps in out.items()}
