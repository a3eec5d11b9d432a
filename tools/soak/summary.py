"""The soak run's numbers: per process and metric the value at the start, after the warm-up, at
the end and the maximum, and the trend (least-squares slope per hour) after the warm-up; plus
the checker's message counts. Pure arithmetic on the samples :mod:`soak.sampler` writes."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "METRICS",
    "MetricSummary",
    "ProcessSummary",
    "SampleFileError",
    "from_first_live",
    "group_by_process",
    "load_samples",
    "render",
    "slope_per_hour",
    "summarize",
    "summarize_metric",
    "to_json",
]

log = logging.getLogger("kaffe.soak")

METRICS: tuple[str, ...] = ("rss_bytes", "fds", "threads", "asyncio_tasks")
"""The sampled metrics, in table order."""

_LABELS = {
    "rss_bytes": ("RSS", "MiB"),
    "fds": ("FDs", ""),
    "threads": ("threads", ""),
    "asyncio_tasks": ("asyncio tasks", ""),
}
_SCALE = {"rss_bytes": 1 / (1024 * 1024)}

COUNT_ORDER: tuple[str, ...] = ("produced", "acknowledged", "lost", "duplicated", "handled")
"""The checker counts shown first, in this order (any others follow, sorted)."""


class SampleFileError(ValueError):
    """A samples file holds a line that is not a sample."""


@dataclass(frozen=True)
class MetricSummary:
    """One metric of one process over the run's window (its start to its end), and
    ``after_close``: the process's last value after the window (its sampler's last sample,
    written after its clients closed). Values are ``None`` when no sample had the metric; the
    slope also when fewer than two samples at different times after the warm-up did."""

    start: float | None
    after_warmup: float | None
    end: float | None
    max: float | None
    slope_per_hour: float | None
    after_close: float | None = None


@dataclass(frozen=True)
class ProcessSummary:
    """One client process: its label (role, plus the pid if the role ran in several), pid,
    sample count and a :class:`MetricSummary` per metric of :data:`METRICS`."""

    process: str
    role: str
    pid: int
    samples: int
    metrics: dict[str, MetricSummary]


_REQUIRED = ("t", "pid", "role")


def load_samples(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every sample in the JSON-lines files ``paths``. A torn last line (a process killed while
    writing) is skipped with a warning; any other bad line raises :class:`SampleFileError`
    naming the file and line."""
    samples: list[dict[str, Any]] = []
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                sample = json.loads(line)
                if not isinstance(sample, dict) or any(k not in sample for k in _REQUIRED):
                    raise ValueError(f"a sample needs {', '.join(_REQUIRED)}")
            except ValueError as exc:
                if number == len(lines):
                    log.warning("%s:%d: skipping a torn last line (%s)", path, number, exc)
                    continue
                raise SampleFileError(f"{path}:{number}: not a sample: {exc}") from None
            samples.append(sample)
    return samples


def group_by_process(samples: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], list[Any]]:
    """Samples per ``(role, pid)``, each list in time order, keys in order of first sample."""
    groups: dict[tuple[str, int], list[Any]] = {}
    for sample in sorted(samples, key=lambda s: float(s["t"])):
        groups.setdefault((str(sample["role"]), int(sample["pid"])), []).append(sample)
    return groups


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, value)`` points, in value per hour; ``None`` with
    fewer than two distinct times."""
    n = len(points)
    if n < 2:
        return None
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var_t = sum((t - mean_t) ** 2 for t, _ in points)
    if var_t == 0:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var_t * 3600.0


def summarize_metric(
    series: Sequence[tuple[float, float | None]], warmup_end: float, end: float = math.inf
) -> MetricSummary:
    """Summarise ``(t, value)`` points in time order (``None`` values are gaps). Points after
    ``end`` only give ``after_close`` (the last of them). The value "after warm-up" is the
    first at or after ``warmup_end``; the slope uses every point from there to ``end``."""
    known = [(t, v) for t, v in series if v is not None and t <= end]
    after = [(t, v) for t, v in known if t >= warmup_end]
    closed = [v for t, v in series if v is not None and t > end]
    return MetricSummary(
        start=known[0][1] if known else None,
        after_warmup=after[0][1] if after else None,
        end=known[-1][1] if known else None,
        max=max(v for _, v in known) if known else None,
        slope_per_hour=slope_per_hour(after),
        after_close=closed[-1] if closed else None,
    )


def summarize(
    samples: Iterable[Mapping[str, Any]],
    *,
    start: float,
    warmup_s: float,
    end: float = math.inf,
) -> list[ProcessSummary]:
    """A :class:`ProcessSummary` per ``(role, pid)`` over the window ``start`` to ``end``
    (the run's, wall-clock seconds); the warm-up ends ``warmup_s`` seconds after ``start``,
    the same moment for every process. A process's samples count from the first one taken
    while its kaffe client ran (the values before are the bare interpreter's)."""
    groups = group_by_process(samples)
    roles = [role for role, _ in groups]
    summaries = []
    for (role, pid), rows in groups.items():
        label = role if roles.count(role) == 1 else f"{role} (pid {pid})"
        rows = from_first_live(rows)
        metrics = {
            name: summarize_metric(
                [(float(r["t"]), _number(r.get(name))) for r in rows], start + warmup_s, end
            )
            for name in METRICS
        }
        summaries.append(ProcessSummary(label, role, pid, len(rows), metrics))
    return summaries


def from_first_live(rows: list[Any]) -> list[Any]:
    """The samples from the first taken while a kaffe client of the process ran (``loops``
    above 0) on: before it the process was still starting. All of them if none says so."""
    for i, row in enumerate(rows):
        if row.get("loops"):
            return rows[i:]
    return rows


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _fmt(value: float | None, name: str, *, signed: bool = False) -> str:
    if value is None:
        return "-"
    scaled = value * _SCALE.get(name, 1.0)
    if signed:
        return f"{scaled:+.2f}"
    return f"{scaled:.1f}" if name in _SCALE else f"{scaled:.0f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _metric_label(name: str, *, per_hour: bool = False) -> str:
    label, unit = _LABELS[name]
    if per_hour:
        unit = f"{unit}/h" if unit else "/h"
    return f"{label} ({unit})" if unit else label


def render(
    summaries: Sequence[ProcessSummary],
    counts: Mapping[str, Any] | None,
    *,
    meta: Mapping[str, Any],
    warmup_s: float,
    problems: Sequence[str] = (),
) -> str:
    """The summary as Markdown: the run's settings (``meta``), one table of start / after
    warm-up / end / max / after close per process and metric, the trend table, the checker's
    counts and the ``problems`` it (or the run) reported."""
    out = ["# Soak summary", ""]
    out += [f"- {key}: {value}" for key, value in meta.items()]
    out += ["", "## Client processes", ""]
    rows = []
    for s in summaries:
        for name in METRICS:
            m = s.metrics[name]
            rows.append(
                [
                    s.process,
                    _metric_label(name),
                    *(
                        _fmt(v, name)
                        for v in (m.start, m.after_warmup, m.end, m.max, m.after_close)
                    ),
                ]
            )
    warm = f"after warm-up ({warmup_s / 60:g} min)"
    out += _table(["process", "metric", "start", warm, "end", "max", "after close"], rows)
    out += ["", f"## Trend after the first {warmup_s / 60:g} min (least-squares slope)", ""]
    header = ["process", "samples", *(_metric_label(n, per_hour=True) for n in METRICS)]
    trend = [
        [
            s.process,
            str(s.samples),
            *(_fmt(s.metrics[n].slope_per_hour, n, signed=True) for n in METRICS),
        ]
        for s in summaries
    ]
    out += _table(header, trend)
    out += ["", "## Messages (checker)", ""]
    if counts is None:
        out.append("(the checker did not run)")
    else:
        keys = [k for k in COUNT_ORDER if k in counts]
        keys += sorted(k for k in counts if k not in COUNT_ORDER)
        out += _table(["count", "value"], [[k, str(counts[k])] for k in keys])
    if problems:
        out += ["", "## Problems", ""]
        out += [f"- {p}" for p in problems]
    return "\n".join(out) + "\n"


def to_json(
    summaries: Sequence[ProcessSummary],
    counts: Mapping[str, Any] | None,
    *,
    meta: Mapping[str, Any],
) -> dict[str, Any]:
    """The same summary as a JSON-ready dict."""
    return {
        "meta": dict(meta),
        "processes": [asdict(s) for s in summaries],
        "checker": None if counts is None else dict(counts),
    }
