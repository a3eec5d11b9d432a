"""``python -m soak`` (``make soak``): see :mod:`soak.run`."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from pathlib import Path

from soak.run import SoakSettings, run_soak
from soak.schedule import parse_duration


def main(argv: list[str] | None = None) -> int:
    """Run one soak; exit 0 when it ran the whole duration and the checker passed."""
    parser = argparse.ArgumentParser(
        prog="python -m soak",
        description="The fault workload for a set time under seeded random faults, sampling "
        "the client processes; a PNG and a summary at the end.",
    )
    parser.add_argument("--duration", default="10m", help="e.g. 90s, 10m, 1h (default 10m)")
    parser.add_argument("--seed", type=int, help="the fault plan's seed (default: random)")
    parser.add_argument("--out", type=Path, default=Path(".soak"), help="default .soak/")
    parser.add_argument(
        "--interval", type=float, default=10.0, help="seconds between samples (default 10)"
    )
    parser.add_argument(
        "--warmup", help="left out of the trend (default 10m, or half of a shorter run)"
    )
    parser.add_argument("--rate", type=float, help="messages/s (default: the fault workload's)")
    args = parser.parse_args(argv)
    try:
        duration_s = parse_duration(args.duration)
        warmup_s = None if args.warmup is None else parse_duration(args.warmup)
    except ValueError as exc:
        parser.error(str(exc))
    seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print(f"soak: {args.duration}, seed {seed} (SEED={seed} repeats this fault plan)", flush=True)
    report, passed = run_soak(
        SoakSettings(
            duration_s=duration_s,
            seed=seed,
            out_root=args.out,
            interval_s=args.interval,
            warmup_s=warmup_s,
            rate=args.rate,
            duration_text=args.duration,
        )
    )
    print(report.text)
    print(f"samples: {report.samples}")
    print(f"summary: {report.summary_md} ({report.summary_json.name})")
    print(f"plot:    {report.plot if report.plot is not None else '(not drawn, see the log)'}")
    print(f"soak: seed {seed}: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
