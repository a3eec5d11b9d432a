"""The end of a soak run: the client processes' samples merged into ``samples.jsonl``, the
summary (``summary.md``, ``summary.json``) and the PNG (``plot.png``) in the run's directory."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soak.summary import load_samples, render, summarize, to_json

__all__ = ["FaultRecord", "Report", "default_warmup", "write_report"]

log = logging.getLogger("kaffe.soak")

WARMUP_S = 600.0


def default_warmup(duration_s: float) -> float:
    """The warm-up left out of the trend: 10 minutes, or half the run if that is shorter."""
    return min(WARMUP_S, duration_s / 2)


@dataclass(frozen=True)
class FaultRecord:
    """A fault as it ran: wall-clock start and end, kind, broker (``None``: every broker)
    and the error that stopped it, if one did."""

    start: float
    end: float
    kind: str
    node: int | None
    error: str | None = None


@dataclass(frozen=True)
class Report:
    """Where :func:`write_report` put things, and the Markdown summary."""

    samples: Path
    summary_md: Path
    summary_json: Path
    plot: Path | None
    text: str


def write_report(
    out: Path,
    sample_files: Sequence[Path],
    *,
    start: float,
    end: float,
    warmup_s: float,
    faults: Sequence[FaultRecord],
    counts: Mapping[str, Any] | None,
    meta: Mapping[str, Any],
    problems: Sequence[str] = (),
) -> Report:
    """Merge ``sample_files`` into ``out/samples.jsonl`` (time order) and write the summary
    of the window ``start`` to ``end`` and the plot. A plot that cannot be drawn (matplotlib
    missing) is logged, not fatal: the summary is the part that must not be lost."""
    samples = sorted(load_samples(sample_files), key=lambda s: float(s["t"]))
    merged = out / "samples.jsonl"
    merged.write_text("".join(json.dumps(s) + "\n" for s in samples), encoding="utf-8")
    summaries = summarize(samples, start=start, warmup_s=warmup_s, end=end)
    by_kind: dict[str, int] = {}
    for f in faults:
        by_kind[f.kind] = by_kind.get(f.kind, 0) + 1
    failed = sum(f.error is not None for f in faults)
    full_meta = {
        **meta,
        "faults injected": ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())) or "none",
        "faults that failed": failed,
        "samples": len(samples),
    }
    text = render(summaries, counts, meta=full_meta, warmup_s=warmup_s, problems=problems)
    summary_md = out / "summary.md"
    summary_md.write_text(text, encoding="utf-8")
    summary_json = out / "summary.json"
    document = to_json(summaries, counts, meta=full_meta)
    document["faults"] = [f.__dict__ for f in faults]
    document["problems"] = list(problems)
    summary_json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    png: Path | None = out / "plot.png"
    try:
        from soak.plot import plot

        plot(
            samples,
            out / "plot.png",
            start=start,
            end=end,
            warmup_s=warmup_s,
            faults=[(f.start, f.end, f.kind) for f in faults],
            title=f"kaffe soak: {meta.get('duration', '')} seed {meta.get('seed', '')}",
        )
    except ImportError as exc:
        log.error("no plot: %s (matplotlib is pinned in requirements-dev.txt)", exc)
        png = None
    return Report(merged, summary_md, summary_json, png, text)
