"""Fresh virtualenvs from the pyenv interpreters, and the environment the checks run in."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_ROOT = REPO / ".venv-wheel"
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")


class CheckError(RuntimeError):
    """A build or check command failed; the message names it."""


def run(
    cmd: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    capture: bool = False,
) -> str:
    """Run ``cmd`` (printed first); raise :class:`CheckError` when it exits non-zero."""
    args = [str(c) for c in cmd]
    print("+ " + " ".join(args), flush=True)
    result = subprocess.run(
        args,
        env=None if env is None else dict(env),
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        check=False,
    )
    if capture:
        print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        raise CheckError(f"exit {result.returncode}: {' '.join(args)}")
    return result.stdout if capture else ""


def find_python(minor: str) -> Path | None:
    """The newest pyenv CPython ``minor`` (e.g. ``"3.12"``), or ``None`` when there is none."""
    pattern = re.compile(rf"^{re.escape(minor)}\.(\d+)$")
    found: list[tuple[int, Path]] = []
    if PYENV_VERSIONS.is_dir():
        for entry in PYENV_VERSIONS.iterdir():
            match = pattern.match(entry.name)
            exe = entry / "bin" / f"python{minor}"
            if match and exe.exists():
                found.append((int(match.group(1)), exe))
    return max(found)[1] if found else None


def default_minor() -> str:
    """The Python that runs this tool (the project's .venv): the one the whole suite uses."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def env_without_rust(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with no ``cargo``/``rustc`` on ``PATH``, no ``PYTHONPATH``
    and no active virtualenv: what a user who only ran ``pip install kaffe`` has."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    kept = [
        entry
        for entry in env.get("PATH", "").split(os.pathsep)
        if entry and not any((Path(entry) / tool).exists() for tool in ("cargo", "rustc"))
    ]
    env["PATH"] = os.pathsep.join(kept)
    env.update(extra or {})
    return env


def fresh_venv(python: Path, name: str) -> Path:
    """Remove and recreate ``.venv-wheel/<name>`` from ``python``; return its interpreter."""
    where = VENV_ROOT / name
    shutil.rmtree(where, ignore_errors=True)
    run([python, "-m", "venv", where])
    return where / "bin" / "python"


def pip_install(venv_python: Path, *args: str | Path, env: Mapping[str, str] | None = None) -> None:
    """``pip install`` into the venv of ``venv_python`` (quietly, no version nag)."""
    run([venv_python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args], env=env)


def pinned(*names: str) -> list[str]:
    """The ``name==version`` lines of requirements-dev.txt for ``names`` (one pin, one place)."""
    pins: dict[str, str] = {}
    for line in (REPO / "requirements-dev.txt").read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if "==" in spec:
            pins[spec.split("==", 1)[0].strip().lower()] = spec
    missing = [n for n in names if n.lower() not in pins]
    if missing:
        raise CheckError(f"requirements-dev.txt pins none of {missing}")
    return [pins[n.lower()] for n in names]


def pins_except(*excluded: str) -> list[str]:
    """Every pin of requirements-dev.txt but ``excluded`` (the build-only tools)."""
    skip = {n.lower() for n in excluded}
    out: list[str] = []
    for line in (REPO / "requirements-dev.txt").read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if spec and spec.split("==", 1)[0].strip().lower() not in skip:
            out.append(spec)
    return out


class Clock:
    """Wall-clock timings of the steps, printed at the end."""

    def __init__(self) -> None:
        """Start the overall clock."""
        self.start = time.monotonic()
        self.steps: list[tuple[str, float]] = []

    def step(self, label: str, since: float) -> None:
        """Record ``label`` as taking the time from ``since`` to now."""
        self.steps.append((label, time.monotonic() - since))

    def report(self) -> None:
        """Print each step and the total."""
        print("\nwheelcheck timings:")
        for label, seconds in self.steps:
            print(f"  {seconds:7.1f} s  {label}")
        print(f"  {time.monotonic() - self.start:7.1f} s  total", flush=True)
