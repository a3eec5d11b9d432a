"""The results table and the JSON report."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .check import ScenarioResult

COLUMNS = (
    ("scenario", "<"),
    ("produced", ">"),
    ("acked", ">"),
    ("failed", ">"),
    ("lost", ">"),
    ("dup", ">"),
    ("reord", ">"),
    ("max stall ack/e2e", ">"),
    ("handled>=1", "^"),
    ("exactly-once", "^"),
    ("verdict", "<"),
)


def _row(r: ScenarioResult) -> list[str]:
    return [
        r.scenario,
        str(r.produced),
        str(r.acknowledged),
        str(r.failed),
        str(r.lost),
        str(r.duplicated),
        str(r.reordered + r.misplaced),
        f"{r.max_ack_stall:.1f} s / {r.max_e2e:.1f} s",
        "yes" if r.handled_all else "no",
        ("yes" if not (r.tx_missing or r.tx_duplicated) else "no") if r.tx_checked else "-",
        "PASS" if r.passed else "FAIL",
    ]


def table(results: Sequence[ScenarioResult]) -> str:
    """The table: one row per scenario (``reord`` includes misplaced async results)."""
    rows = [[c for c, _ in COLUMNS], *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for n, row in enumerate(rows):
        cells = [f"{cell:{COLUMNS[i][1]}{widths[i]}}" for i, cell in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def details(results: Sequence[ScenarioResult], *, top: int = 4) -> str:
    """Why each failing scenario failed: errors, problems, examples."""
    out: list[str] = []
    for r in results:
        if r.passed:
            continue
        out.append(f"{r.scenario}: FAIL")
        if r.unhandled:
            out.append(f"  {r.unhandled} of {r.in_topic} messages in the topic never handled")
        if r.tx_missing or r.tx_duplicated:
            out.append(
                f"  output topic (read_committed): {r.tx_missing} inputs missing, "
                f"{r.tx_duplicated} extra copies ({r.tx_commits} transactions committed)"
            )
        if r.failed:
            out.append(
                f"  {r.failed} messages failed to produce ({r.failed_written} of them are in "
                f"the topic all the same)"
            )
        for err, n in list(r.errors.items())[:top]:
            out.append(f"  produce failed ({n} messages): {err[:300]}")
        if len(r.errors) > top:
            out.append(f"  ... {len(r.errors) - top} more produce errors (see the JSON)")
        for err, n in list(r.tx_errors.items())[:top]:
            out.append(f"  transaction step failed ({n}x): {err[:300]}")
        for p in r.problems[:top]:
            out.append(f"  {p[:400]}")
        if len(r.problems) > top:
            out.append(f"  ... {len(r.problems) - top} more problems (see the JSON)")
        for kind, ex in r.examples.items():
            out.append(f"  e.g. {kind}: {ex}")
    return "\n".join(out)


def write_json(
    path: Path, results: Sequence[ScenarioResult], meta: dict[str, Any] | None = None
) -> None:
    """Write the results (and ``meta``: versions, durations, where the logs are) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **(meta or {}),
        "passed": all(r.passed for r in results),
        "scenarios": [r.to_json() for r in results],
    }
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
