"""Command line: ``python -m codegen [--check] [--jar PATH] [--out DIR] [--py-out DIR]``."""

from __future__ import annotations

import argparse
import difflib
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

from . import KAFKA_VERSION, jar, jsonc
from .errors import parse_error_table
from .model import MessageSpec, SpecError, parse_message
from .python import render_python
from .rust import render_all

log = logging.getLogger("kaffe.codegen")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "rust" / "kaffe-core" / "src" / "protocol" / "generated"
DEFAULT_PY_OUT = REPO_ROOT / "python" / "kaffe" / "_protocol"


def load_messages(jar_path: Path) -> dict[str, MessageSpec]:
    """Parse every spec in the jar, keyed by file name."""
    messages: dict[str, MessageSpec] = {}
    for file_name, text in sorted(jar.read_specs(jar_path).items()):
        try:
            doc = jsonc.loads(text)
        except ValueError as exc:
            raise SpecError(f"{file_name}: {exc}") from exc
        messages[file_name] = parse_message(file_name, doc)
    return messages


def write_tree(out: Path, files: dict[str, str], pattern: str = "*.rs") -> None:
    """Replace the files of ``out`` that match ``pattern`` with ``files``."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(pattern):
        if stale.name not in files:
            stale.unlink()
    for name, content in files.items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")


def compare(committed: Path, fresh: dict[str, str], pattern: str = "*.rs") -> list[str]:
    """Describe how the ``pattern`` files of ``committed`` differ from ``fresh``; empty if equal."""
    problems: list[str] = []
    existing = {p.name for p in committed.glob(pattern)} if committed.is_dir() else set()
    for name in sorted(existing - set(fresh)):
        problems.append(f"extra file (not generated): {name}")
    for name in sorted(set(fresh) - existing):
        problems.append(f"missing file: {name}")
    for name in sorted(existing & set(fresh)):
        old = (committed / name).read_text(encoding="utf-8")
        if old != fresh[name]:
            diff = list(
                difflib.unified_diff(
                    old.splitlines(),
                    fresh[name].splitlines(),
                    f"committed/{name}",
                    f"generated/{name}",
                    lineterm="",
                    n=1,
                )
            )
            shown = diff[:12]
            more = f"\n    ... ({len(diff) - len(shown)} more diff lines)" if len(diff) > 12 else ""
            problems.append(f"differs: {name}\n    " + "\n    ".join(shown) + more)
    return problems


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary directory and fail if the committed output differs",
    )
    parser.add_argument("--jar", type=Path, help=f"kafka-clients-{KAFKA_VERSION}.jar to read")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output directory of the Rust tables"
    )
    parser.add_argument(
        "--py-out",
        type=Path,
        default=DEFAULT_PY_OUT,
        help="output directory of the Python protocol package (ApiKey, ErrorCode, error classes)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    try:
        jar_path = jar.find_jar(args.jar)
        messages = load_messages(jar_path)
        errors = parse_error_table(jar.read_error_table(jar_path))
        outputs = [
            (args.out, render_all(messages), "*.rs", "Rust protocol tables"),
            (args.py_out, render_python(messages, errors), "*.py", "Python protocol facts"),
        ]
    except (SpecError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
        log.error("%s", exc)
        return 2

    if args.check:
        failed = False
        for out, files, pattern, what in outputs:
            with tempfile.TemporaryDirectory(prefix="kaffe-codegen-") as tmp:
                write_tree(Path(tmp), files, pattern)
                fresh = {p.name: p.read_text(encoding="utf-8") for p in Path(tmp).glob(pattern)}
            problems = compare(out, fresh, pattern)
            if problems:
                failed = True
                log.error(
                    "generated %s in %s are out of date (%d problems); run `make codegen`",
                    what,
                    out,
                    len(problems),
                )
                for problem in problems:
                    sys.stderr.write(f"  {problem}\n")
            else:
                log.info(
                    "%d generated files in %s match kafka-clients %s",
                    len(files),
                    out,
                    KAFKA_VERSION,
                )
        return 1 if failed else 0

    for out, files, pattern, _ in outputs:
        write_tree(out, files, pattern)
        log.info("wrote %d files to %s from %s", len(files), out, jar_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
