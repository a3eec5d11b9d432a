"""Commit tracking: batch results, out-of-order acknowledgements and the delivery gate."""

from __future__ import annotations

import asyncio
import queue
import random
import threading
import time
from collections.abc import Callable

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


# ---------------------------------------------------------------- the delivery gate (limit)

WAIT = 10.0  # deadline (seconds) for anything a test waits for


async def _until_blocked(a: AckTracker, task: asyncio.Task[int]) -> None:
    """Let the loop run until ``task`` waits in :meth:`AckTracker.wait_for_room`."""
    deadline = time.monotonic() + WAIT
    while not a.blocked:
        assert not task.done(), f"wait_for_room returned {task.result()} instead of waiting"
        assert time.monotonic() < deadline, "wait_for_room did not start waiting"
        await asyncio.sleep(0.001)


def _in_thread(fn: Callable[[], object]) -> None:
    """Run ``fn`` in another thread and wait (with a deadline) until it is done."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # re-raised in the test
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join(WAIT)
    assert not t.is_alive(), "the thread did not finish"
    if errors:
        raise errors[0]


def _delivered(limit: int | None, offsets: list[int]) -> AckTracker:
    a = AckTracker(limit)
    for off in offsets:
        a.delivered(off)
    return a


def test_limit_must_be_at_least_one() -> None:
    for bad in (0, -1):
        with pytest.raises(ValueError, match="delivery limit"):
            AckTracker(bad)
    a = AckTracker(2)
    with pytest.raises(ValueError, match="delivery limit"):
        a.set_limit(0)
    assert a.limit == 2


def test_without_a_limit_there_is_always_room() -> None:
    a = _delivered(None, list(range(1000)))
    assert a.limit is None
    assert a.room() is None
    assert a.outstanding == 1000
    assert asyncio.run(a.wait_for_room()) > 0
    assert a.stalls == 0


def test_room_counts_from_the_first_unacked_offset() -> None:
    a = AckTracker(4)
    assert a.room() == 4
    for n, off in enumerate((10, 11, 12, 13), start=1):
        a.delivered(off)
        assert a.room() == 4 - n
    assert a.room() == 0
    # Later offsets acknowledged first free nothing: 10 is still open.
    assert a.ack(13)
    assert a.ack(11)
    assert a.room() == 0
    assert a.outstanding == 4
    # Acknowledging 10 frees 10 and 11 (acked before); 12 is open, 13 still counts.
    assert a.ack(10)
    assert a.outstanding == 2
    assert a.room() == 2
    assert a.commit_point() == 12
    # Acknowledging 12 frees 12 and 13, which was acked before.
    assert a.ack(12)
    assert a.outstanding == 0
    assert a.room() == 4


def test_redelivery_does_not_take_room() -> None:
    a = _delivered(3, [0, 1])
    a.delivered(0)  # the handler failed; the same messages come again
    a.delivered(1)
    assert a.outstanding == 2
    assert a.room() == 1


def test_raising_the_limit_makes_room_and_lowering_it_takes_it() -> None:
    a = _delivered(2, [0, 1])
    assert a.room() == 0
    a.set_limit(5)
    assert a.room() == 3
    a.set_limit(1)
    assert a.room() == 0  # never negative, even above the limit
    a.set_limit(None)
    assert a.room() is None


@given(
    st.integers(min_value=1, max_value=6),
    st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=40)), max_size=80),
)
def test_room_matches_a_model_of_the_window(limit: int, steps: list[tuple[bool, int]]) -> None:
    # Each step delivers the next offset (when the gate has room) or acks some delivered one.
    a = AckTracker(limit)
    delivered: list[int] = []
    acked: set[int] = set()
    for deliver, pick in steps:
        if deliver:
            if a.room() == 0:
                continue
            off = len(delivered) * 2  # gaps between offsets, as after compaction
            a.delivered(off)
            delivered.append(off)
        elif delivered:
            off = delivered[pick % len(delivered)]
            assert a.ack(off) == (off not in acked)
            acked.add(off)
        open_offsets = [o for o in delivered if o not in acked]
        window = [o for o in delivered if open_offsets and o >= min(open_offsets)]
        assert a.outstanding == len(window) <= limit
        assert a.room() == limit - len(window)


def test_wait_for_room_returns_at_once_when_there_is_room() -> None:
    a = _delivered(3, [0])
    assert asyncio.run(a.wait_for_room()) == 2
    assert a.stalls == 0
    assert not a.blocked


def test_wait_wakes_only_when_an_ack_from_another_thread_frees_the_first_offset() -> None:
    async def main() -> None:
        a = _delivered(3, [0, 1, 2])
        task = asyncio.ensure_future(a.wait_for_room())
        await _until_blocked(a, task)
        assert a.stalls == 1
        # Acks behind the first open offset make no room: the delivery keeps waiting.
        _in_thread(lambda: (a.ack(2), a.ack(1)))
        assert a.blocked
        assert a.room() == 0
        assert not task.done()
        # Acking offset 0 frees 0, 1 and 2 at once.
        _in_thread(lambda: a.ack(0))
        assert await asyncio.wait_for(task, WAIT) == 3
        assert not a.blocked
        assert a.commit_point() == 3

    asyncio.run(main())


def test_wait_wakes_when_the_limit_is_raised() -> None:
    async def main() -> None:
        a = _delivered(1, [7])
        task = asyncio.ensure_future(a.wait_for_room())
        await _until_blocked(a, task)
        _in_thread(lambda: a.set_limit(2))
        assert await asyncio.wait_for(task, WAIT) == 1

    asyncio.run(main())


def test_close_ends_a_wait_on_the_loop_and_later_waits_at_once() -> None:
    # The engine closes the gate on the loop when the partition is revoked.
    async def main() -> None:
        a = _delivered(2, [0, 1])
        task = asyncio.ensure_future(a.wait_for_room())
        await _until_blocked(a, task)
        a.close()
        assert await asyncio.wait_for(task, WAIT) == 0
        assert not a.blocked
        assert await asyncio.wait_for(a.wait_for_room(), WAIT) == 0
        # Acks and the commit point keep working after the close.
        assert a.ack(0)
        assert a.commit_point() == 1
        assert a.room() == 1
        assert await asyncio.wait_for(a.wait_for_room(), WAIT) == 0  # room, but closed

    asyncio.run(main())


def test_close_from_another_thread_ends_the_wait() -> None:
    async def main() -> None:
        a = _delivered(1, [0])
        task = asyncio.ensure_future(a.wait_for_room())
        await _until_blocked(a, task)
        _in_thread(a.close)
        assert await asyncio.wait_for(task, WAIT) == 0

    asyncio.run(main())


def test_cancelled_wait_is_not_reported_as_blocked() -> None:
    async def main() -> None:
        a = _delivered(1, [0])
        task = asyncio.ensure_future(a.wait_for_room())
        await _until_blocked(a, task)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, WAIT)
        assert not a.blocked
        assert a.ack(0)  # no waiter left to wake
        assert await asyncio.wait_for(a.wait_for_room(), WAIT) == 1

    asyncio.run(main())


def test_ack_after_the_waiting_loop_is_gone_does_not_fail() -> None:
    a = _delivered(1, [0])

    async def main() -> None:
        task = asyncio.ensure_future(a.wait_for_room())
        await _until_blocked(a, task)

    # asyncio.run cancels the still-waiting task and closes its loop.
    asyncio.run(main())
    assert a.ack(0)
    assert a.room() == 1
    a.close()


def test_delivery_paced_by_acks_from_another_thread_stays_within_the_limit() -> None:
    # A miniature of the async-ack consumer: the loop delivers offsets through the gate, a
    # thread acknowledges each full window in reverse order (so room appears only with the
    # window's first offset, the last one acked).
    limit, total = 4, 40
    a = AckTracker(limit)
    handed: queue.Queue[int] = queue.Queue()
    peak: list[int] = []
    acked: list[int] = []
    errors: list[BaseException] = []

    def acker() -> None:
        window: list[int] = []
        try:
            while len(acked) < total:
                window.append(handed.get(timeout=WAIT))
                if len(window) == limit:
                    for off in reversed(window):
                        assert a.ack(off), f"offset {off} was not outstanding"
                        acked.append(off)
                    window.clear()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    async def main() -> None:
        t = threading.Thread(target=acker, daemon=True)
        t.start()
        off = 0
        while off < total:
            room = await asyncio.wait_for(a.wait_for_room(), WAIT)
            assert room > 0
            for _ in range(room):
                a.delivered(off)
                peak.append(a.outstanding)
                handed.put(off)
                off += 1
        await asyncio.wait_for(asyncio.to_thread(t.join, WAIT), WAIT + 1)
        assert not t.is_alive()

    asyncio.run(main())
    assert errors == []
    assert max(peak) == limit
    assert sorted(acked) == list(range(total))
    assert a.commit_point() == total
    assert a.outstanding == 0
