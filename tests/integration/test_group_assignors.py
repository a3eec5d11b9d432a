"""A user-defined ``kaffe.Assignor`` against the real broker: two members agree on it, the
leader runs it with the user data each member sent, and the assignment it chose is the one the
members consume and the coordinator reports."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from tests.integration.group_support import (
    FAST,
    Collect,
    bootstrap_fixture,  # noqa: F401  (the bootstrap fixture)
    group,
    members_fixture,  # noqa: F401  (the members fixture)
    wait_until,
)

import kaffe
from kaffe.assignors import MemberSubscription

pytestmark = pytest.mark.broker


class Lopsided(kaffe.Assignor):
    """The member labelled ``small`` (its user data) gets partition 0 of each topic, the others
    the rest round-robin; a member alone gets everything. No built-in assignor splits 6
    partitions 1/5 between two members."""

    name = "kaffe-test-lopsided"

    def __init__(self, label: str) -> None:
        self.label = label
        self.lock = threading.Lock()
        self.plans: list[dict[bytes | None, dict[str, list[int]]]] = []

    def user_data(self, topics: Sequence[str]) -> bytes | None:
        return self.label.encode()

    def assign(
        self, members: Sequence[MemberSubscription], partitions: Mapping[str, int]
    ) -> dict[str, dict[str, list[int]]]:
        plan: dict[str, dict[str, list[int]]] = {m.member_id: {} for m in members}
        small = [m for m in members if m.user_data == b"small"]
        others = sorted((m for m in members if m.user_data != b"small"), key=lambda m: m.member_id)
        for topic, count in partitions.items():
            if not small or not others:
                for m in members:
                    plan[m.member_id][topic] = list(range(count)) if m is members[0] else []
                continue
            plan[small[0].member_id][topic] = [0]
            for i, p in enumerate(range(1, count)):
                plan[others[i % len(others)].member_id].setdefault(topic, []).append(p)
        with self.lock:
            self.plans.append({m.user_data: plan[m.member_id] for m in members})
        return plan


def test_two_members_use_a_user_defined_assignor(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(6)
    g = group()
    small, large = Lopsided("small"), Lopsided("large")
    col_small, col_large = Collect(), Collect()
    kw = dict(endpoints=bootstrap, topics=[topic], consumer_group=g, **FAST)
    sup_small = kaffe.GroupMemberSupervisor(
        message_handler=col_small, partition_assignment_strategy=small, **kw
    )
    sup_large = kaffe.GroupMemberSupervisor(
        message_handler=col_large, partition_assignment_strategy=[large, "range"], **kw
    )
    members.append(sup_small.start())
    wait_until(lambda: len(sup_small.assignment()) == 6, 30, "the first member alone owns 6")
    members.append(sup_large.start())
    wait_until(
        lambda: sup_small.assignment() == [(topic, 0)] and len(sup_large.assignment()) == 5,
        40,
        "the lopsided split: 1 and 5",
    )
    assert sup_large.assignment() == [(topic, p) for p in range(1, 6)]

    # the leader (either member) ran the assignor with both members' user data, and what it
    # chose is what the members consume
    plans = small.plans + large.plans
    final = [p for p in plans if set(p) == {b"small", b"large"}]
    assert final, f"no plan covered both members: {plans}"
    assert final[-1] == {b"small": {topic: [0]}, b"large": {topic: [1, 2, 3, 4, 5]}}
    assert col_small.assigned[-1] == [(topic, 0)]
    assert col_large.assigned[-1] == [(topic, p) for p in range(1, 6)]

    with kaffe.AdminClient(endpoints=bootstrap) as admin:
        desc = admin.describe_group(g)
    assert desc.protocol == "kaffe-test-lopsided"
    by_member = {m.member_id: sorted(tp.partition for tp in m.assignment) for m in desc.members}
    assert by_member == {
        sup_small._engine.member_id: [0],
        sup_large._engine.member_id: [1, 2, 3, 4, 5],
    }
