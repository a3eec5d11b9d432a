"""The public ``kaffe.Assignor`` protocol: what ``partition_assignment_strategy`` accepts (names
and user objects), the ``ConfigError`` for everything else, and the leader's check of a plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

import kaffe
from kaffe._group.assignors import encode_subscription, plan_assignment
from kaffe._group.settings import parse_assignors
from kaffe.assignors import (
    CooperativeStickyAssignor,
    MemberSubscription,
    RangeAssignor,
    RoundRobinAssignor,
)

KEY = "partition_assignment_strategy"
BASE = {"endpoints": "127.0.0.1:1", "topics": ["t"], "consumer_group": "g"}


class Reverse(kaffe.Assignor):
    """Everything to the member whose id sorts last."""

    name = "reverse"

    def assign(
        self, members: Sequence[MemberSubscription], partitions: Mapping[str, int]
    ) -> dict[str, dict[str, list[int]]]:
        last = max(members, key=lambda m: m.member_id)
        return {last.member_id: {t: list(range(n)) for t, n in partitions.items()}}


class Structural:
    """Implements the protocol without subclassing it."""

    name = "structural"
    rebalance = "cooperative"

    def assign(self, members: Sequence[MemberSubscription], partitions: Mapping[str, int]) -> Any:
        return {}

    def user_data(self, topics: Sequence[str]) -> bytes | None:
        return b"hello"


def _supervisor(strategy: Any) -> kaffe.GroupMemberSupervisor:
    return kaffe.GroupMemberSupervisor(
        **BASE, message_handler=lambda messages: None, **{KEY: strategy}
    )


def test_builtins_implement_the_protocol() -> None:
    assert kaffe.Assignor is kaffe.assignors.Assignor
    assert [(a.name, a.rebalance) for a in parse_assignors(KEY, ["range", "roundrobin"])] == [
        ("range", "eager"),
        ("roundrobin", "eager"),
    ]
    (coop,) = parse_assignors(KEY, "cooperative-sticky")
    assert isinstance(coop, CooperativeStickyAssignor)
    assert coop.rebalance == "cooperative"
    assert RangeAssignor().user_data(["t"]) is None


def test_a_subclass_inherits_the_defaults() -> None:
    assignor = Reverse()
    assert assignor.rebalance == "eager"
    assert assignor.user_data(["t"]) is None


def test_the_key_takes_names_objects_and_lists_in_order() -> None:
    reverse, structural = Reverse(), Structural()
    sup = _supervisor([reverse, "range", structural, "roundrobin_v2"])
    assignors = sup.settings.assignors
    assert [a.name for a in assignors] == ["reverse", "range", "structural", "roundrobin"]
    assert assignors[0] is reverse
    assert assignors[2] is structural
    assert isinstance(assignors[3], RoundRobinAssignor)
    assert _supervisor(reverse).settings.assignors == (reverse,)
    default = kaffe.GroupMemberSupervisor(**BASE, message_handler=lambda messages: None)
    assert [type(a) for a in default.settings.assignors] == [RoundRobinAssignor]


def test_a_name_given_twice_counts_once() -> None:
    assert [a.name for a in parse_assignors(KEY, ["range", "range", "roundrobin"])] == [
        "range",
        "roundrobin",
    ]
    reverse = Reverse()
    assert parse_assignors(KEY, [reverse, reverse]) == (reverse,)


class _NoAssign:
    name = "broken"
    rebalance = "eager"

    def user_data(self, topics: Sequence[str]) -> bytes | None:
        return None


class _BadRebalance(Reverse):
    rebalance = "sometimes"  # type: ignore[assignment]


class _EmptyName(Reverse):
    name = ""


class _AssignNotCallable(Reverse):
    assign = 3  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("sticky", "'sticky' is not an assignor kaffe has"),
        ([], ""),
        (3, "3 has no name, rebalance, assign, user_data"),
        (Reverse, "Reverse is a class; pass an instance: Reverse()"),
        (_NoAssign(), "has no assign"),
        (_BadRebalance(), "the rebalance of"),
        (_EmptyName(), "not a non-empty string"),
        (_AssignNotCallable(), "assign of"),
        ([Reverse(), Reverse()], "two assignors are named 'reverse'"),
        (["range", type("Range", (Reverse,), {"name": "range"})()], "named 'range'"),
    ],
)
def test_bad_values_are_config_errors_naming_key_value_and_allowed(value: Any, why: str) -> None:
    with pytest.raises(kaffe.ConfigError) as info:
        _supervisor(value)
    text = str(info.value)
    assert f"config key {KEY!r}" in text
    assert repr(value)[:20] in text
    assert "allowed: an assignor name ('range', 'roundrobin', 'cooperative-sticky'" in text
    assert "kaffe.Assignor" in text
    assert why in text


def _members(*ids: str, topics: tuple[str, ...] = ("t",)) -> list[MemberSubscription]:
    return [MemberSubscription(member_id=m, topics=topics) for m in ids]


def test_plan_of_a_user_assignor_is_normalised() -> None:
    plan = plan_assignment(Reverse(), _members("a", "b"), {"t": 3})
    assert plan == {"b": {"t": [0, 1, 2]}}


class _Returns(kaffe.Assignor):
    name = "returns"

    def __init__(self, plan: Any) -> None:
        self.plan = plan

    def assign(self, members: Sequence[MemberSubscription], partitions: Mapping[str, int]) -> Any:
        if isinstance(self.plan, Exception):
            raise self.plan
        return self.plan


@pytest.mark.parametrize(
    ("plan", "why"),
    [
        (RuntimeError("boom"), "failed: RuntimeError('boom')"),
        ([("a", {})], "expected a mapping member_id -> assignment"),
        ({"stranger": {"t": [0]}}, "'stranger', not a group member"),
        ({"a": [0]}, "expected a mapping topic -> partitions"),
        ({"a": {"other": [0]}}, "topic 'other', which it did not subscribe to"),
        ({"a": {"t": [3]}}, "partitions [3] of 't', which has partitions 0..2"),
        ({"a": {"t": [True]}}, "partitions [True]"),
        ({"a": {"t": "0"}}, "expected ints"),
    ],
)
def test_a_bad_plan_is_a_kafka_error_naming_the_assignor(plan: Any, why: str) -> None:
    with pytest.raises(kaffe.KafkaError, match="assignor 'returns'") as info:
        plan_assignment(_Returns(plan), _members("a", "b"), {"t": 3})
    assert why in str(info.value)


def test_user_data_travels_in_the_subscription() -> None:
    from kaffe._group.assignors import decode_subscription

    data = encode_subscription(["t"], user_data=Structural().user_data(["t"]))
    assert decode_subscription("m", None, data).user_data == b"hello"
