"""``python -m faults``: run fault scenarios against kaffe on a 3-node cluster (``make faults``).

Prints a table (scenario, produced, acknowledged, failed, lost, duplicated, reordered, max
stall, handled at least once, exactly once, verdict) and why each failing scenario failed;
writes the results to ``.faults/results-<time>.json`` (and ``.faults/latest.json``) with the
workload processes' event files and logs under ``.faults/runs/<time>/``. Exits 1 if any
scenario failed, 2 if the cluster could not be set up.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

import kaffe
from kafka_harness.jars import fetch
from kafka_harness.paths import REPO_ROOT

from .check import ScenarioResult
from .cluster import start_cluster_with_proxies
from .report import details, table, write_json
from .scenarios import ALL, FULL, SHORT, Scenario, run_scenario

log = logging.getLogger("kaffe.faults")


def _pick(args: argparse.Namespace) -> list[Scenario]:
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in ALL]
        if unknown:
            raise SystemExit(f"unknown scenario(s) {unknown}; --list shows them")
        return [ALL[n] for n in names]
    return SHORT if args.short else FULL


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docs."""
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="the short set (make test's)")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--rate", type=float, default=1000.0, help="messages/s produced")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".faults", help="results dir")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="kaffe's INFO logs too (workload logs too)"
    )
    args = parser.parse_args(argv)
    if args.list:
        for s in FULL + SHORT:
            print(f"{s.name:<24} {'(short) ' if s in SHORT else ''}{s.about}")
        return 0
    scenarios = _pick(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        logging.getLogger("kaffe").setLevel(logging.WARNING)
        logging.getLogger("kaffe.faults").setLevel(logging.INFO)
        logging.getLogger("kaffe.harness").setLevel(logging.INFO)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs = args.out / "runs" / stamp
    t0 = time.monotonic()
    results: list[ScenarioResult] = []
    try:
        fc = start_cluster_with_proxies(fetch())
    except Exception as exc:
        print(f"could not start the cluster: {exc}", file=sys.stderr)
        return 2
    setup_s = time.monotonic() - t0
    path = args.out / f"results-{stamp}.json"

    def save(done: bool) -> None:
        ok = all(r.passed for r in results)
        meta = {
            "kaffe": kaffe.__version__,
            "kafka": fc.cluster.version,
            "complete": done,
            "setup_seconds": round(setup_s, 1),
            "total_seconds": round(time.monotonic() - t0, 1),
            "workload_logs": str(runs),
            "broker_logs": None if ok else str(fc.run_dir),
        }
        write_json(path, results, meta)
        shutil.copyfile(path, args.out / "latest.json")

    try:
        config = {"rate": args.rate, "log_level": "INFO" if args.verbose else "WARNING"}
        for s in scenarios:
            results.append(run_scenario(fc, s, runs, config=config))
            r = results[-1]
            log.info("scenario %s: %s in %.0f s", s.name, "PASS" if r.passed else "FAIL", r.seconds)
            save(False)  # a long run's results so far
    finally:
        fc.close()
    ok = all(r.passed for r in results)
    if ok:
        shutil.rmtree(fc.run_dir, ignore_errors=True)
    total = time.monotonic() - t0
    save(True)
    print()
    print(table(results))
    print()
    why = details(results)
    if why:
        print(why)
        print()
    print(f"{len(results)} scenario(s) in {total:.0f} s (cluster start {setup_s:.0f} s); {path}")
    if not ok:
        print(f"workload logs: {runs}; broker logs kept: {fc.run_dir}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
