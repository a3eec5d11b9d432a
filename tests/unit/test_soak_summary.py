"""tools/soak/summary.py: the start / after warm-up / end / max values and the per-hour trend
on synthetic samples, the samples file reader, the rendered tables."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from soak.summary import (
    METRICS,
    SampleFileError,
    load_samples,
    render,
    slope_per_hour,
    summarize,
    summarize_metric,
    to_json,
)

T0 = 1_800_000_000.0
MIB = 1024 * 1024


def _samples(
    role: str, pid: int, minutes: int, *, rss_per_h: float, fds_per_h: float, t0: float = T0
) -> list[dict[str, Any]]:
    """One sample every 10 s for ``minutes``: RSS and FDs climbing linearly after 10 minutes
    (a warm-up step before that), threads flat, tasks with a gap (an unanswered loop)."""
    out = []
    for i in range(minutes * 6 + 1):
        t = t0 + 10 * i
        hours = (t - t0) / 3600
        warm = 1 if t - t0 >= 600 else 0
        out.append(
            {
                "t": t,
                "pid": pid,
                "role": role,
                "rss_bytes": 50 * MIB + warm * 20 * MIB + rss_per_h * hours,
                "fds": 10 + warm * 5 + fds_per_h * hours,
                "threads": 8,
                "asyncio_tasks": None if i == 70 else 12 + warm * 3,
            }
        )
    return out


def test_slope_of_a_line_is_exact_per_hour() -> None:
    points = [(T0 + 10 * i, 3.0 + 2.0 * (10 * i) / 3600) for i in range(100)]
    slope = slope_per_hour(points)
    assert slope is not None
    assert math.isclose(slope, 2.0, rel_tol=1e-9)


def test_slope_is_least_squares_through_noise() -> None:
    rng = random.Random(7)
    points = [(3600.0 * i / 360, 100 - 5.0 * i / 360 + rng.uniform(-1, 1)) for i in range(361)]
    slope = slope_per_hour(points)
    assert slope is not None
    assert abs(slope - -5.0) < 0.5


@pytest.mark.parametrize("points", [[], [(T0, 1.0)], [(T0, 1.0), (T0, 5.0)]])
def test_no_slope_without_two_distinct_times(points: list[tuple[float, float]]) -> None:
    assert slope_per_hour(points) is None


def test_metric_summary_values_and_gaps() -> None:
    series: list[tuple[float, float | None]] = [
        (T0, None),
        (T0 + 10, 4.0),
        (T0 + 20, 9.0),
        (T0 + 30, None),
        (T0 + 40, 6.0),
        (T0 + 50, 7.0),
    ]
    m = summarize_metric(series, warmup_end=T0 + 30)
    assert (m.start, m.after_warmup, m.end, m.max) == (4.0, 6.0, 7.0, 9.0)
    assert m.slope_per_hour is not None
    assert math.isclose(m.slope_per_hour, 1.0 / 10 * 3600)


def test_points_after_the_end_give_only_the_value_after_close() -> None:
    series: list[tuple[float, float | None]] = [
        (T0, 1.0),
        (T0 + 10, 2.0),
        (T0 + 20, 3.0),
        (T0 + 30, 50.0),  # drain, after the end
        (T0 + 40, 0.5),  # the clients closed
        (T0 + 50, None),
    ]
    m = summarize_metric(series, warmup_end=T0, end=T0 + 20)
    assert (m.start, m.after_warmup, m.end, m.max, m.after_close) == (1.0, 1.0, 3.0, 3.0, 0.5)
    assert m.slope_per_hour is not None
    assert math.isclose(m.slope_per_hour, 0.1 * 3600)
    assert summarize_metric(series[:3], warmup_end=T0, end=T0 + 20).after_close is None


def test_metric_summary_of_nothing() -> None:
    m = summarize_metric([(T0, None)], warmup_end=T0)
    assert (m.start, m.after_warmup, m.end, m.max, m.slope_per_hour) == (None,) * 5


def test_summary_per_process_with_the_trend_after_warm_up() -> None:
    samples = _samples("producer", 11, 40, rss_per_h=6 * MIB, fds_per_h=0)
    samples += _samples("member-1", 12, 40, rss_per_h=0, fds_per_h=30)
    random.Random(1).shuffle(samples)
    summaries = summarize(samples, start=T0, warmup_s=600)
    by = {s.process: s for s in summaries}
    assert set(by) == {"producer", "member-1"}
    producer = by["producer"]
    assert producer.samples == 40 * 6 + 1
    assert producer.pid == 11
    rss = producer.metrics["rss_bytes"]
    assert rss.start == 50 * MIB
    assert rss.after_warmup == 70 * MIB + 6 * MIB * 600 / 3600
    assert rss.end == 70 * MIB + 6 * MIB * 40 / 60
    assert rss.max == rss.end
    assert rss.slope_per_hour is not None
    assert math.isclose(rss.slope_per_hour, 6 * MIB)  # the warm-up step is left out
    assert producer.metrics["threads"].slope_per_hour == 0
    tasks = producer.metrics["asyncio_tasks"]
    assert (tasks.start, tasks.after_warmup, tasks.end, tasks.max) == (12, 15, 15, 15)
    member_fds = by["member-1"].metrics["fds"]
    assert member_fds.slope_per_hour is not None
    assert math.isclose(member_fds.slope_per_hour, 30)
    assert by["member-1"].metrics["rss_bytes"].slope_per_hour == 0


def test_a_role_that_ran_in_two_processes_is_told_apart_by_pid() -> None:
    samples = _samples("member-2", 21, 5, rss_per_h=0, fds_per_h=0)
    samples += _samples("member-2", 22, 5, rss_per_h=0, fds_per_h=0, t0=T0 + 400)
    labels = [s.process for s in summarize(samples, start=T0, warmup_s=60)]
    assert labels == ["member-2 (pid 21)", "member-2 (pid 22)"]


def test_samples_count_from_the_first_with_a_running_client() -> None:
    rows = _samples("producer", 11, 2, rss_per_h=0, fds_per_h=0)
    for i, row in enumerate(rows):
        row["loops"] = 0 if i < 3 or i == 8 else 1  # starting, then one unanswered sample
        if i < 3:
            row["fds"] = 4
    summary = summarize(rows, start=T0, warmup_s=0)[0]
    assert summary.samples == len(rows) - 3
    assert summary.metrics["fds"].start == 10
    no_loops = summarize(
        _samples("member-1", 12, 2, rss_per_h=0, fds_per_h=0), start=T0, warmup_s=0
    )
    assert no_loops[0].samples == 2 * 6 + 1


def test_render_has_every_process_metric_and_count() -> None:
    samples = _samples("producer", 11, 20, rss_per_h=12 * MIB, fds_per_h=0)
    summaries = summarize(samples, start=T0, warmup_s=600)
    counts = {"handled": 90, "lost": 0, "produced": 100, "acknowledged": 95, "duplicated": 2}
    text = render(summaries, counts, meta={"seed": 42, "duration": "20m"}, warmup_s=600)
    assert "- seed: 42" in text
    assert "after warm-up (10 min)" in text
    rows = [line for line in text.splitlines() if line.startswith("| producer |")]
    assert len(rows) == len(METRICS) + 1  # a row per metric, one trend row
    assert "| producer | RSS (MiB) | 50.0 | 72.0 | 74.0 | 74.0 | - |" in text
    assert "| producer | 121 | +12.00 | +0.00 | +0.00 | +0.00 |" in text
    count_rows = [line for line in text.splitlines() if line.startswith("| ") and "|" in line]
    order = [r.split("|")[1].strip() for r in count_rows[-5:]]
    assert order == ["produced", "acknowledged", "lost", "duplicated", "handled"]
    assert "Problems" not in text
    bare = render(summaries, None, meta={}, warmup_s=600, problems=["hang: member-1"])
    assert "(the checker did not run)" in bare
    assert bare.endswith("## Problems\n\n- hang: member-1\n")
    as_json = json.loads(json.dumps(to_json(summaries, counts, meta={"seed": 42})))
    assert as_json["checker"]["produced"] == 100
    assert as_json["processes"][0]["metrics"]["fds"]["start"] == 10


def test_load_samples_skips_only_a_torn_last_line(tmp_path: Path) -> None:
    good = _samples("producer", 11, 1, rss_per_h=0, fds_per_h=0)
    path = tmp_path / "producer.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in good) + '{"t": 1', encoding="utf-8")
    assert load_samples([path]) == good
    middle = tmp_path / "member.jsonl"
    middle.write_text(json.dumps(good[0]) + "\nnot json\n" + json.dumps(good[1]) + "\n")
    with pytest.raises(SampleFileError, match=r"member\.jsonl:2"):
        load_samples([middle])
    missing = tmp_path / "keys.jsonl"
    missing.write_text('{"t": 1.0, "pid": 3}\n{"t": 2.0, "pid": 3, "role": "x"}\n')
    with pytest.raises(SampleFileError, match=r"keys\.jsonl:1: .*role"):
        load_samples([missing])
