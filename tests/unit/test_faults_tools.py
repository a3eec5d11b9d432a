"""The fault runner's own logic (``tools/faults``) on made-up data: the checker's counts, the
stall measure, the coordinator partition and the proxy's mode validation."""

from __future__ import annotations

import pytest

from faults.check import check, max_gap
from faults.cluster import internal_partition, java_string_hash
from faults.proxy import ResetMidResponse
from faults.values import split_value
from faults.workload import WorkloadResults


def _results(acked: list[tuple[str, int]], handled: list[tuple[str, int]]) -> WorkloadResults:
    r = WorkloadResults()
    for i, mid in enumerate(acked):
        r.acked[mid] = None
        r.acked_at[mid] = float(i)
        r.ack_times.append(float(i))
    for mid in handled:
        r.handled[mid] += 1
        r.first_handled.setdefault(mid, 10.0)
    r.started, r.producer_stopped, r.drained = 0.0, 10.0, True
    return r


def test_check_clean_run_passes() -> None:
    ids = [("k", 0), ("k", 1), ("j", 0)]
    log = {0: [(0, ("k", 0)), (1, ("k", 1))], 1: [(0, ("j", 0))]}
    result = check("clean", _results(ids, ids), log)
    assert result.passed
    assert (result.lost, result.duplicated, result.reordered, result.unhandled) == (0, 0, 0, 0)
    assert result.in_topic == 3


def test_check_counts_lost_duplicated_reordered_unhandled() -> None:
    acked = [("k", 0), ("k", 1), ("k", 2), ("k", 3)]
    log = {0: [(0, ("k", 0)), (1, ("k", 2)), (2, ("k", 1)), (3, ("k", 2)), (4, ("x", 9))]}
    result = check("bad", _results(acked, [("k", 0), ("k", 1), ("k", 2)]), log)
    assert result.lost == 1  # k/3
    assert result.duplicated == 1  # k/2 twice
    assert result.reordered == 1  # k/1 after k/2
    assert result.unhandled == 1  # x/9 is in the topic but never handled
    assert not result.passed
    assert result.examples["lost"] == [["k", 3]]


def test_check_transactional_output() -> None:
    ids = [("k", 0), ("k", 1)]
    log = {0: [(0, ("k", 0)), (1, ("k", 1))]}
    out = {0: [(0, ("k", 0)), (2, ("k", 0))]}
    result = check("tx", _results(ids, ids), log, out)
    assert (result.tx_missing, result.tx_duplicated) == (1, 1)
    assert not result.passed


def test_check_flags_misplaced_async_results() -> None:
    r = _results([("k", 0)], [("k", 0)])
    r.acked[("k", 0)] = (0, 5)
    result = check("po", r, {0: [(0, ("k", 0))]})
    assert result.misplaced == 1


def test_max_gap_counts_the_edges() -> None:
    assert max_gap([2.0, 3.0, 9.0], 0.0, 10.0) == 6.0
    assert max_gap([], 1.0, 4.0) == 3.0
    assert max_gap([5.0], 0.0, 5.5) == 5.0


def test_java_string_hash_and_coordinator_partition() -> None:
    assert java_string_hash("abc") == 96354  # "abc".hashCode() in Java
    assert java_string_hash("polygenelubricants") == -(1 << 31)
    assert internal_partition("polygenelubricants", 3) == 0  # Utils.abs(MIN_VALUE) is 0
    assert internal_partition("abc", 3) == 96354 % 3


def test_split_value() -> None:
    assert split_value(b"p0.s.k001|17|xxxx") == ("p0.s.k001", 17)
    assert split_value(b"no separator") is None
    assert split_value(None) is None


def test_reset_mode_validates() -> None:
    with pytest.raises(ValueError, match="apis"):
        ResetMidResponse(apis=("metadata",))
    with pytest.raises(ValueError, match="every"):
        ResetMidResponse(every=0)
    assert ResetMidResponse(apis=("produce", "fetch")).api_keys == frozenset({0, 1})
