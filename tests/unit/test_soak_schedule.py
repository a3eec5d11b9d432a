"""tools/soak/schedule.py: durations, and the seeded fault plan (same seed, same plan; every
fault inside the run's window; the gaps and holds within their ranges)."""

from __future__ import annotations

import pytest

from soak.schedule import KINDS, ROLLING_RESTART_S, parse_duration, plan


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10m", 600),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2m30s", 150),
        ("45", 45),
        ("0.5m", 30),
        (" 60M ", 3600),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "10x", "ten minutes", "0m", "0", "-5m", "5m 3s"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_the_seed_names_the_plan() -> None:
    assert plan(42, 3600) == plan(42, 3600)
    assert plan(42, 3600) != plan(43, 3600)


def test_faults_stay_inside_the_window_with_gaps_and_holds_in_range() -> None:
    faults = plan(7, 3600, quiet_start_s=30, quiet_end_s=60, gap_s=(20, 60), hold_s=(5, 30))
    assert len(faults) > 20
    assert faults[0].at_s == 30
    assert {f.kind for f in faults} == set(KINDS)
    end = 0.0
    for f in faults:
        takes = ROLLING_RESTART_S if f.kind == "rolling-restart" else f.hold_s
        if f.kind == "rolling-restart":
            assert (f.node, f.hold_s) == (None, 0.0)
        else:
            assert f.node in (1, 2, 3)
            assert 5 <= f.hold_s <= 30
        if end:
            assert 20 <= f.at_s - end <= 60 + 0.01
        end = f.at_s + takes
        assert end <= 3600 - 60


def test_a_run_too_short_for_a_fault_plans_none() -> None:
    assert plan(1, 60, quiet_start_s=30, quiet_end_s=30) == []


def test_only_the_chosen_kinds() -> None:
    faults = plan(3, 1800, kinds=("pause", "blackhole"))
    assert faults
    assert {f.kind for f in faults} <= {"pause", "blackhole"}
    with pytest.raises(ValueError, match="fault kinds"):
        plan(3, 1800, kinds=("meteor",))
