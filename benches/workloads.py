"""Workloads: what applications do with a Kafka client, kaffe against its peers, one broker.

Every application workload, throughput and latency, in one run (``make bench``):

* produce (rows 1-8): per-message ``produce_async`` (sync and ``kaffe.aio``), 100-message and
  one big keyed list, 1 KB values, lz4, TLS with client certificates (Heroku env), and the
  one-message ``produce_sync`` latency;
* consume (rows 9-13): ``GroupMemberSupervisor`` and ``kaffe.aio.GroupMemberSupervisor`` reading
  300,000 pre-loaded messages from 8, 1 and 24 partitions, 4 topics x 6 partitions, and over TLS;
* memory (row 14): a consumer process's peak RSS over 1,000,000 lz4 messages in 8 partitions;
* latency (rows 15-17): a live stream of 500 messages/s over 6 partitions, produce -> handler,
  steady, while a member joins and while one stops.

Peers, each used as its documentation recommends and at its defaults: confluent-kafka
(``produce()`` + ``poll(0)`` per message then ``flush()``; ``consume(num_messages=...)``
loops), aiokafka (``send()`` per message, futures awaited at the end; ``getmany()`` loops),
kafka-python (``send()`` per message + ``flush()``; ``poll()`` loops, reference only). kaffe
runs with its defaults except where a row says otherwise (printed). Every row runs ``--repeat``
times (clients interleaved) and prints min / median / max, kaffe's ratio to each peer (median
over median), the goal and PASS/MISS; a row that misses is printed like any other. A client
that has not finished within ``--budget`` seconds of a run stops there and its rate counts what
it did (the row notes it).

Run: ``make bench`` or ``python benches/workloads.py [--only 1,9-13,latency] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import kaffe
from _workloads_common import Bench, Row, Verdict, print_row, progress, verdict_word
from _workloads_consume import consume_rows, rss_row, run_consume_row, run_rss_row
from _workloads_latency import latency_rows, run_latency
from _workloads_produce import produce_rows, run_produce_row, sync_future_kw, warm_up
from kafka_harness.broker import LocalBroker
from kafka_harness.jars import fetch
from kafka_harness.topics import TopicFactory

ROW_IDS = ["1", "1b", "2", "2b", *(str(i) for i in range(3, 18))]
SECTIONS = {
    "produce": ROW_IDS[0:10],
    "consume": ROW_IDS[10:15],
    "rss": ["14"],
    "latency": ROW_IDS[16:19],
}


def selected(only: str) -> list[str]:
    """Row ids picked by ``--only``: ids (``7``), ranges (``9-13``), id prefixes (``1*``) and
    section names (``produce``, ``consume``, ``rss``, ``latency``), comma-separated."""
    if not only.strip():
        return list(ROW_IDS)
    picked: set[str] = set()
    for token in (t.strip() for t in only.split(",")):
        if not token:
            continue
        if token in SECTIONS:
            picked.update(SECTIONS[token])
        elif "-" in token:
            lo, _, hi = token.partition("-")
            picked.update(r for r in ROW_IDS if int(lo) <= int(r.rstrip("b")) <= int(hi))
        elif token.endswith("*"):
            picked.update(r for r in ROW_IDS if r.startswith(token[:-1]))
        elif token in ROW_IDS:
            picked.add(token)
        else:
            raise SystemExit(f"--only: unknown row or section {token!r}")
    return [r for r in ROW_IDS if r in picked]


def header(broker: LocalBroker, args: argparse.Namespace) -> None:
    import aiokafka  # type: ignore[import-untyped]
    import confluent_kafka
    import kafka  # type: ignore[import-untyped]

    lib, _ = confluent_kafka.libversion()
    ck_version: object = confluent_kafka.version()  # a str in 2.16 (a tuple in older ones)
    ck = ck_version[0] if isinstance(ck_version, tuple) else ck_version
    print("kaffe workloads bench (benches/workloads.py)")
    print(
        f"  kaffe {kaffe.__version__} | confluent-kafka {ck} "
        f"(librdkafka {lib}) | aiokafka {aiokafka.__version__} | kafka-python {kafka.__version__}"
    )
    print(
        f"  Kafka broker {broker.version} (line {broker.line}, one local KRaft node, "
        f"tools/kafka_harness) | python {platform.python_version()} | "
        f"{os.cpu_count()} cores | {platform.machine()} | load average at start "
        + "/".join(f"{x:.1f}" for x in os.getloadavg())
    )
    print(
        f"  {args.repeat} run(s) per row, clients interleaved; per-run budget {args.budget:.0f} s"
        + (" | --quick: counts / 10" if args.quick else "")
    )
    print(
        "  sync Producer.produce_async variant: "
        + ("future=False (no per-call future)" if sync_future_kw() else "future per call")
    )
    print(
        "  acks: kaffe required_acks=-1 (default), confluent-kafka all (default), "
        "aiokafka 1 (default; all in row 8), kafka-python all (default)"
    )
    sys.stdout.flush()


@dataclass
class Section:
    """A section's rows and how to run them."""

    name: str
    rows: list[Row]
    run: Callable[[], None]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--only", default="", help=selected.__doc__)
    ap.add_argument("--repeat", type=int, default=3, help="runs per row (default 3)")
    ap.add_argument(
        "--budget", type=float, default=6.0, help="seconds a client may take per run (default 6)"
    )
    ap.add_argument("--quick", action="store_true", help="divide message counts by 10")
    args = ap.parse_args()
    if args.repeat < 1:
        raise SystemExit("--repeat must be >= 1")
    logging.basicConfig(level=logging.WARNING)
    wanted = set(selected(args.only))
    wall0 = time.perf_counter()

    broker = LocalBroker(fetch())
    broker.start()
    failed = False
    sections: list[Section] = []
    timings: list[tuple[str, float]] = []
    try:
        bench = Bench(broker, TopicFactory(broker.admin), args.repeat, args.budget, args.quick)
        header(broker, args)

        prows = [pr for pr in produce_rows(args.quick) if pr.row.rid in wanted]
        crows = [cr for cr in consume_rows(args.quick) if cr.row.rid in wanted]
        mrow, mplan = rss_row(args.quick)
        lrows = [r for r in latency_rows() if r.rid in wanted]

        def run_produce() -> None:
            warm_up(bench, 20_000 if args.quick else 200_000)
            for pr in prows:
                run_produce_row(bench, pr)
                print_row(pr.row)

        def run_consume() -> None:
            for cr in crows:
                run_consume_row(bench, cr)
                print_row(cr.row)

        def run_memory() -> None:
            run_rss_row(bench, mrow, mplan)
            print_row(mrow)

        def run_lat() -> None:
            run_latency(bench, lrows)
            for r in lrows:
                print_row(r)

        if prows:
            sections.append(Section("produce (rows 1-8)", [p.row for p in prows], run_produce))
        if crows:
            sections.append(Section("consume (rows 9-13)", [c.row for c in crows], run_consume))
        if "14" in wanted:
            sections.append(Section("memory (row 14)", [mrow], run_memory))
        if lrows:
            sections.append(Section("latency (rows 15-17)", lrows, run_lat))
        for section in sections:
            print(f"\n=== {section.name}", flush=True)
            t0 = time.perf_counter()
            section.run()
            timings.append((section.name, time.perf_counter() - t0))
    except BaseException:
        failed = True
        raise
    finally:
        broker.stop()
        if not failed:
            shutil.rmtree(broker.run_dir, ignore_errors=True)  # kept with its logs on failure
    summary([r for s in sections for r in s.rows], timings, time.perf_counter() - wall0)


def summary(rows: list[Row], timings: list[tuple[str, float]], wall: float) -> None:
    """Every goal of every row in one table, then the wall time."""
    from _workloads_common import judge

    verdicts: list[Verdict] = [judge(r, g) for r in rows for g in r.goals]
    print("\n=== summary: every goal (median over median)")
    for v in verdicts:
        ratio = "-" if v.ratio != v.ratio else f"{v.ratio:.2f}x"
        print(f"  [{v.rid:>2}] {v.text:<86} {ratio:>9}  {verdict_word(v.passed)}")
    counts = {w: sum(1 for v in verdicts if verdict_word(v.passed) == w) for w in ("PASS", "MISS")}
    na = len(verdicts) - counts["PASS"] - counts["MISS"]
    print(f"  {counts['PASS']} PASS, {counts['MISS']} MISS, {na} n/a of {len(verdicts)} goals")
    for name, secs in timings:
        print(f"  {name}: {secs:.0f} s")
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  wall time: {wall:.0f} s ({wall / 60:.1f} min); load average at the end {load}")
    sys.stdout.flush()
    progress(f"done in {wall:.0f} s")


if __name__ == "__main__":
    main()
