"""Range and round-robin assignors, and the consumer protocol bytes."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kaffe._group.assignors import (
    CooperativeStickyAssignor,
    MemberSubscription,
    RangeAssignor,
    RoundRobinAssignor,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    encode_subscription,
)


def _m(mid: str, *topics: str, instance: str | None = None) -> MemberSubscription:
    return MemberSubscription(member_id=mid, topics=topics, group_instance_id=instance)


def test_range_like_java() -> None:
    # Java's RangeAssignor javadoc example: t0, t1 with 3 partitions each, two consumers.
    plan = RangeAssignor().assign([_m("C1", "t0", "t1"), _m("C0", "t0", "t1")], {"t0": 3, "t1": 3})
    assert plan == {"C0": {"t0": [0, 1], "t1": [0, 1]}, "C1": {"t0": [2], "t1": [2]}}


def test_roundrobin_like_java() -> None:
    # Java's RoundRobinAssignor javadoc example 1.
    plan = RoundRobinAssignor().assign(
        [_m("C0", "t0", "t1"), _m("C1", "t0", "t1")], {"t0": 3, "t1": 3}
    )
    assert plan == {"C0": {"t0": [0, 2], "t1": [1]}, "C1": {"t0": [1], "t1": [0, 2]}}


def test_roundrobin_skips_members_not_subscribed() -> None:
    # Java's example 2: C0 t0; C1 t0,t1; C2 t0,t1,t2 with 1, 2 and 3 partitions.
    plan = RoundRobinAssignor().assign(
        [_m("C0", "t0"), _m("C1", "t0", "t1"), _m("C2", "t0", "t1", "t2")],
        {"t0": 1, "t1": 2, "t2": 3},
    )
    assert plan == {
        "C0": {"t0": [0]},
        "C1": {"t1": [0]},
        "C2": {"t1": [1], "t2": [0, 1, 2]},
    }


def test_static_members_sort_by_instance_id() -> None:
    plan = RangeAssignor().assign(
        [_m("a-member", "t", instance="z"), _m("b-member", "t", instance="a")], {"t": 2}
    )
    assert plan == {"b-member": {"t": [0]}, "a-member": {"t": [1]}}


def test_unknown_topics_are_left_out() -> None:
    plan = RangeAssignor().assign([_m("a", "t", "missing")], {"t": 1})
    assert plan == {"a": {"t": [0]}}


@pytest.mark.parametrize("assignor", [RangeAssignor(), RoundRobinAssignor()])
@given(
    members=st.integers(min_value=1, max_value=8),
    partitions=st.dictionaries(
        st.sampled_from(["a", "b", "c"]), st.integers(min_value=0, max_value=20), min_size=1
    ),
)
def test_every_partition_exactly_once_and_balanced(
    assignor: RangeAssignor | RoundRobinAssignor, members: int, partitions: dict[str, int]
) -> None:
    subs = [_m(f"m{i}", *sorted(partitions)) for i in range(members)]
    plan = assignor.assign(subs, partitions)
    seen = Counter((t, p) for a in plan.values() for t, ps in a.items() for p in ps)
    expected = {(t, p) for t, n in partitions.items() for p in range(n)}
    assert set(seen) == expected
    assert all(c == 1 for c in seen.values())
    for topic, _n in partitions.items():  # per topic, counts differ by at most one (range)
        counts = [len(a.get(topic, [])) for a in plan.values()]
        if isinstance(assignor, RangeAssignor):
            assert max(counts) - min(counts) <= 1
    totals = [sum(len(ps) for ps in a.values()) for a in plan.values()]
    if isinstance(assignor, RoundRobinAssignor):
        assert max(totals) - min(totals) <= 1


def test_subscription_round_trip_and_version_prefix() -> None:
    data = encode_subscription(["b", "a", "a"], owned={"a": [2, 1]}, generation=7)
    assert data[:2] == b"\x00\x03"
    sub = decode_subscription("m1", "inst", data)
    assert sub.topics == ("a", "b")
    assert sub.owned == {"a": (1, 2)}
    assert sub.generation == 7
    assert sub.group_instance_id == "inst"


def test_subscription_v0_as_older_clients_send_it() -> None:
    # v0: topics array, nullable user data; written by hand (int16 version, int32 count, ...).
    raw = b"\x00\x00" + b"\x00\x00\x00\x01" + b"\x00\x03abc" + b"\xff\xff\xff\xff"
    sub = decode_subscription("m", None, raw)
    assert sub.topics == ("abc",)
    assert sub.owned == {}


def test_assignment_round_trip() -> None:
    data = encode_assignment({"t": [3, 1], "u": [0]})
    assert decode_assignment(data) == {"t": [1, 3], "u": [0]}
    assert decode_assignment(b"") == {}


def test_truncated_bytes_are_a_protocol_error() -> None:
    from kaffe.errors import ProtocolError

    with pytest.raises(ProtocolError):
        decode_assignment(b"\x00")
    with pytest.raises(ProtocolError):
        decode_subscription("m", None, b"\x00\x01\x00\x00\x00\x05")


def _owned(mid: str, owned: dict[str, tuple[int, ...]], generation: int = 1) -> MemberSubscription:
    return MemberSubscription(member_id=mid, topics=("t",), owned=owned, generation=generation)


def test_cooperative_sticky_first_round_is_balanced() -> None:
    plan = CooperativeStickyAssignor().assign([_m("a", "t"), _m("b", "t")], {"t": 6})
    assert sorted(plan["a"]["t"] + plan["b"]["t"]) == list(range(6))
    assert len(plan["a"]["t"]) == 3


def test_cooperative_sticky_new_member_waits_for_the_hand_over() -> None:
    a = _owned("a", {"t": tuple(range(6))})
    b = _owned("b", {}, generation=-1)
    first = CooperativeStickyAssignor().assign([a, b], {"t": 6})
    # a keeps 3 of its own, gives up 3; b gets nothing yet (they are still a's)
    assert len(first["a"]["t"]) == 3
    assert set(first["a"]["t"]) <= set(range(6))
    assert first["b"] == {}
    # a revoked the rest and rejoins; the second round hands them to b
    a2 = _owned("a", {"t": tuple(first["a"]["t"])}, generation=2)
    second = CooperativeStickyAssignor().assign([a2, b], {"t": 6})
    assert second["a"] == first["a"]
    assert sorted(second["b"]["t"]) == sorted(set(range(6)) - set(first["a"]["t"]))


def test_cooperative_sticky_keeps_ownership_when_balanced() -> None:
    a = _owned("a", {"t": (0, 2, 4)})
    b = _owned("b", {"t": (1, 3, 5)})
    plan = CooperativeStickyAssignor().assign([b, a], {"t": 6})
    assert plan == {"a": {"t": [0, 2, 4]}, "b": {"t": [1, 3, 5]}}


def test_cooperative_sticky_conflicting_claims_go_to_the_newer_generation() -> None:
    a = _owned("a", {"t": (0, 1)}, generation=3)
    b = _owned("b", {"t": (1,)}, generation=2)
    plan = CooperativeStickyAssignor().assign([a, b], {"t": 2})
    assert plan["a"] == {"t": [0]}  # 1 moves to b, but only after a gave it up
    assert plan["b"] == {}


@given(
    owners=st.lists(st.integers(min_value=-1, max_value=3), min_size=8, max_size=8),
    members=st.integers(min_value=1, max_value=4),
)
def test_cooperative_sticky_never_gives_an_owned_partition_to_someone_else(
    owners: list[int], members: int
) -> None:
    subs = [
        _owned(f"m{i}", {"t": tuple(p for p, o in enumerate(owners) if o == i)})
        for i in range(members)
    ]
    plan = CooperativeStickyAssignor().assign(subs, {"t": 8})
    seen = Counter(p for a in plan.values() for p in a.get("t", []))
    assert all(c == 1 for c in seen.values())
    for mid, a in plan.items():
        i = int(mid[1:])
        for p in a.get("t", []):
            assert owners[p] in (i, -1) or owners[p] >= members
