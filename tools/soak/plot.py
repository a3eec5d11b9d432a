"""The soak run's PNG: RSS, open FDs, threads and asyncio tasks of every client process over
time, the warm-up shaded and each injected fault marked. Needs matplotlib (pinned in
requirements-dev.txt), imported only when a plot is drawn."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from soak.summary import METRICS, from_first_live, group_by_process

__all__ = ["plot"]

_TITLES = {
    "rss_bytes": "RSS (MiB)",
    "fds": "open file descriptors",
    "threads": "threads",
    "asyncio_tasks": "asyncio tasks",
}
_SCALE = {"rss_bytes": 1 / (1024 * 1024)}


def plot(
    samples: Iterable[Mapping[str, Any]],
    out: Path,
    *,
    start: float,
    end: float | None = None,
    warmup_s: float,
    faults: Sequence[tuple[float, float, str]] = (),
    title: str = "kaffe soak",
) -> None:
    """Draw the four metrics of every ``(role, pid)`` (from its first sample with a kaffe client
    running, as the summary counts them) against minutes since ``start`` into the
    PNG ``out``; shade the warm-up grey and each ``(start, end, kind)`` of ``faults`` in the
    kind's colour (from a dashed line at its start), mark the run's ``end`` (then the workload
    drains and closes) with a black line."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    groups = group_by_process(samples)
    fig, axes = pyplot.subplots(len(METRICS), 1, sharex=True, figsize=(13, 11), squeeze=False)
    try:
        kinds = sorted({kind for _, _, kind in faults})
        colours = {kind: pyplot.get_cmap("Dark2")(i % 8) for i, kind in enumerate(kinds)}
        for row, name in enumerate(METRICS):
            ax = axes[row][0]
            scale = _SCALE.get(name, 1.0)
            for (role, pid), rows in groups.items():
                points = [
                    ((float(r["t"]) - start) / 60, float(r[name]) * scale)
                    for r in from_first_live(rows)
                    if r.get(name) is not None
                ]
                if points:
                    xs, ys = zip(*points, strict=True)
                    ax.plot(xs, ys, label=f"{role} ({pid})", linewidth=1.2)
            ax.axvspan(0, warmup_s / 60, color="0.92", zorder=0)
            if end is not None:
                ax.axvline((end - start) / 60, color="black", linewidth=1.0)
            for t0, t1, kind in faults:
                x0, x1 = (t0 - start) / 60, (t1 - start) / 60
                ax.axvspan(x0, x1, color=colours[kind], alpha=0.15, linewidth=0)
                ax.axvline(x0, color=colours[kind], linewidth=0.8, linestyle="--")
            ax.set_ylabel(_TITLES[name])
            if name not in _SCALE:
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3)
        outside: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1)}
        if groups:
            axes[0][0].legend(fontsize="small", title="process (pid)", **outside)
        if kinds:
            handles = [Line2D([], [], color=colours[k], linestyle="--", label=k) for k in kinds]
            axes[-1][0].legend(handles=handles, fontsize="small", title="faults", **outside)
        axes[-1][0].set_xlabel(
            "minutes since start (grey: warm-up; black line: end, then drain and close)"
        )
        fig.suptitle(title)
        fig.tight_layout()
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=100)
    finally:
        pyplot.close(fig)
