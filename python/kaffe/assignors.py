"""Partition assignors: how a consumer group's leader splits the partitions among the members.

Every group consumer takes ``partition_assignment_strategy``: a built-in assignor's name
(``"roundrobin"``, the default, ``"range"`` or ``"cooperative-sticky"``), an instance of your
own class implementing :class:`Assignor`, or a list of them in order of preference. The group
uses the first one every member offers; only the leader's :meth:`Assignor.assign` runs.

::

    class Everything(kaffe.Assignor):
        name = "everything-to-one"

        def assign(self, members, partitions):
            first = min(members, key=lambda m: m.member_id)
            return {first.member_id: {t: list(range(n)) for t, n in partitions.items()}}

    kaffe.GroupMemberSupervisor(..., partition_assignment_strategy=Everything())
"""

from __future__ import annotations

from kaffe._group.assignors import (
    Assignment,
    Assignor,
    CooperativeStickyAssignor,
    MemberSubscription,
    RangeAssignor,
    RebalanceProtocol,
    RoundRobinAssignor,
)

__all__ = [
    "Assignment",
    "Assignor",
    "CooperativeStickyAssignor",
    "MemberSubscription",
    "RangeAssignor",
    "RebalanceProtocol",
    "RoundRobinAssignor",
]
