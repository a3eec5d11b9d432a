"""Command line: ``python -m golden [--out DIR] [--keep-run-dir]``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .generate import DEFAULT_OUT, generate


def main(argv: list[str] | None = None) -> int:
    """Regenerate the golden files; return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m golden", description="Regenerate tests/fixtures/golden."
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument(
        "--keep-run-dir", action="store_true", help="keep the broker's run dir (data, logs)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    doc = generate(args.out, keep_run_dir=args.keep_run_dir)
    total = sum(info["size"] for info in doc["files"].values())
    logging.getLogger("kaffe.golden").info(
        "wrote %d segment files (%d bytes) to %s", len(doc["files"]), total, args.out
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
