"""``python -m wheelcheck``: build and check the release artifacts (see ``make help``).

Commands::

    build [--force]                the manylinux wheel in dist/ (reused while sources are unchanged)
    sdist                          the sdist in dist/, installed and imported in a fresh venv
    test [--no-suite] [-- ARGS]    build, then the installed-wheel checks (ARGS go to the suite)

``--target`` and ``--compatibility`` (default from ``WHEEL_TARGET`` / ``WHEEL_COMPAT``) pick
another platform; see DESIGN.md for which ones this machine can build.
"""

from __future__ import annotations

import argparse
import os
import sys

from .build import DEFAULT_COMPATIBILITY, DEFAULT_TARGET, ensure_wheel
from .run import check_sdist, test_wheel
from .venvs import CheckError


def main(argv: list[str]) -> int:
    """Parse the command line and run one command; failures print one line and exit 1."""
    parser = argparse.ArgumentParser(prog="python -m wheelcheck", description=__doc__)
    parser.add_argument("command", choices=["build", "sdist", "test"])
    parser.add_argument("--target", default=os.environ.get("WHEEL_TARGET") or DEFAULT_TARGET)
    parser.add_argument(
        "--compatibility", default=os.environ.get("WHEEL_COMPAT") or DEFAULT_COMPATIBILITY
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--no-suite", action="store_true", help="skip the whole-suite run")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for the suite run")
    args = parser.parse_args(argv)
    try:
        if args.command == "sdist":
            check_sdist()
            return 0
        wheel = ensure_wheel(args.target, args.compatibility, force=args.force)
        if args.command == "test":
            if args.target != DEFAULT_TARGET:
                raise CheckError(f"{args.target} wheels cannot run on this machine")
            test_wheel(wheel, suite=not args.no_suite, pytest_args=args.pytest_args)
    except (CheckError, AssertionError) as exc:
        print(f"wheelcheck {args.command}: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
