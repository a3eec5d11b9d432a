"""tools/soak/report.py: the samples merged in time order, the summary files, the plot (or,
without matplotlib, a summary all the same), the default warm-up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_soak_summary import MIB, T0, _samples

from soak.report import FaultRecord, default_warmup, write_report


def test_default_warmup_is_ten_minutes_or_half_a_short_run() -> None:
    assert default_warmup(3600) == 600
    assert default_warmup(1200) == 600
    assert default_warmup(300) == 150


def _write_samples(tmp_path: Path) -> list[Path]:
    files = []
    for role, pid in (("producer", 5), ("member-1", 6)):
        path = tmp_path / "samples" / f"{role}.jsonl"
        path.parent.mkdir(exist_ok=True)
        rows = _samples(role, pid, 4, rss_per_h=MIB, fds_per_h=0)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        files.append(path)
    return files


def test_report_writes_merged_samples_summary_and_plot(tmp_path: Path) -> None:
    files = _write_samples(tmp_path)
    faults = [
        FaultRecord(T0 + 30, T0 + 45, "kill", 2),
        FaultRecord(T0 + 80, T0 + 90, "pause", 1),
        FaultRecord(T0 + 120, T0 + 121, "kill", 3, error="restart failed"),
    ]
    counts = {"produced": 10, "acknowledged": 10, "lost": 0, "duplicated": 0, "handled": 10}
    report = write_report(
        tmp_path,
        files,
        start=T0,
        end=T0 + 200,
        warmup_s=120,
        faults=faults,
        counts=counts,
        meta={"seed": 9, "duration": "4m"},
        problems=["hang: producer"],
    )
    merged = [json.loads(x) for x in report.samples.read_text(encoding="utf-8").splitlines()]
    assert len(merged) == 2 * (4 * 6 + 1)
    assert [s["t"] for s in merged] == sorted(s["t"] for s in merged)
    text = report.summary_md.read_text(encoding="utf-8")
    assert text == report.text
    assert "- faults injected: kill 2, pause 1" in text
    assert "- faults that failed: 1" in text
    assert "| member-1 | RSS (MiB) |" in text
    assert "| member-1 | FDs | 10 | 10 | 10 | 10 | 10 |" in text  # after close: samples > end
    assert "- hang: producer" in text
    assert document_problems(report.summary_json) == ["hang: producer"]
    document = json.loads(report.summary_json.read_text(encoding="utf-8"))
    assert document["meta"]["seed"] == 9
    assert document["checker"] == counts
    assert [f["kind"] for f in document["faults"]] == ["kill", "pause", "kill"]
    assert {p["process"] for p in document["processes"]} == {"producer", "member-1"}
    assert report.plot is not None
    assert report.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.plot.stat().st_size > 20_000  # four panels of lines, not an empty canvas


def test_without_matplotlib_the_summary_is_written_all_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    files = _write_samples(tmp_path)
    report = write_report(
        tmp_path,
        files,
        start=T0,
        end=T0 + 240,
        warmup_s=60,
        faults=[],
        counts=None,
        meta={"seed": 1},
    )
    assert report.plot is None
    assert not (tmp_path / "plot.png").exists()
    assert "(the checker did not run)" in report.summary_md.read_text(encoding="utf-8")
    assert "- faults injected: none" in report.text


def document_problems(path: Path) -> list[str]:
    problems: list[str] = json.loads(path.read_text(encoding="utf-8"))["problems"]
    return problems
