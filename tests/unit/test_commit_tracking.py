"""Commit tracking: batch results and out-of-order acknowledgements."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kaffe
from kaffe._group.offsets import AckTracker, CommitTracker

TP = ("t", 0)


def _tracker(committed: int | None = None) -> CommitTracker:
    t = CommitTracker()
    t.assign(TP, committed)
    return t


def test_ok_and_none_commit_after_the_last_message() -> None:
    for result in (None, kaffe.OK):
        t = _tracker()
        assert t.batch_done(TP, 10, 19, result) == 20
        assert t.to_commit() == {TP: 20}


def test_no_commit_commits_nothing() -> None:
    t = _tracker(5)
    assert t.batch_done(TP, 5, 9, kaffe.NO_COMMIT) is None
    assert t.to_commit() == {}


def test_commit_offset_n() -> None:
    t = _tracker()
    assert t.batch_done(TP, 10, 19, kaffe.commit_offset(15)) == 15
    assert t.to_commit() == {TP: 15}


def test_commit_offset_never_passes_unprocessed_messages() -> None:
    t = _tracker()
    assert t.batch_done(TP, 10, 19, kaffe.commit_offset(100)) == 20


def test_bad_return_value_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="commit_offset"):
        _tracker().batch_done(TP, 0, 0, "ok")


def test_committed_offsets_are_not_committed_again() -> None:
    t = _tracker()
    t.batch_done(TP, 0, 4, None)
    t.committed(t.to_commit())
    assert t.to_commit() == {}
    assert t.committed_offset(TP) == 5
    t.batch_done(TP, 5, 6, None)
    assert t.to_commit() == {TP: 7}


def test_unassigned_partitions_are_ignored() -> None:
    t = _tracker()
    t.unassign(TP)
    t.set_pending(TP, 3)
    assert t.to_commit() == {}


def test_ack_commit_point_is_first_unacked() -> None:
    a = AckTracker()
    assert a.commit_point() is None
    for off in (3, 4, 5, 6):
        a.delivered(off)
    assert a.commit_point() == 3
    assert a.ack(5)
    assert a.ack(6)
    assert a.commit_point() == 3  # later acks do not move it
    assert a.ack(3)
    assert a.commit_point() == 4
    assert a.ack(4)
    assert a.commit_point() == 7
    assert a.outstanding == 0


def test_ack_of_unknown_or_repeated_offsets_is_ignored() -> None:
    a = AckTracker()
    a.delivered(10)
    a.delivered(12)  # offsets may have gaps (compaction, transaction markers)
    assert not a.ack(11)
    assert not a.ack(9)
    assert a.ack(12)
    assert not a.ack(12)
    assert a.commit_point() == 10
    a.delivered(10)  # delivered again after a handler failure: still one entry
    assert a.ack(10)
    assert a.commit_point() == 13


@given(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=60), st.randoms())
def test_commit_point_never_passes_an_unacked_offset(gaps: list[int], rnd: random.Random) -> None:
    offsets = []
    off = 0
    for g in gaps:
        off += g + 1
        offsets.append(off)
    a = AckTracker()
    for o in offsets:
        a.delivered(o)
    order = list(offsets)
    rnd.shuffle(order)
    acked: set[int] = set()
    for o in order:
        assert a.ack(o)
        acked.add(o)
        point = a.commit_point()
        assert point is not None
        assert all(x in acked for x in offsets if x < point)
        unacked = [x for x in offsets if x not in acked]
        assert point == (min(unacked) if unacked else offsets[-1] + 1)
