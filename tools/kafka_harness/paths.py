"""Where the harness keeps things: the download cache (outside the checkout) and run dirs.

* Cache: ``$KAFFE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/kaffe``, else ``~/.cache/kaffe``.
  Kafka jars live in ``<cache>/kafka/<version>/``.
* Run dirs (configs, data, logs of started brokers): ``<repo>/.kafka-local/`` (git-ignored),
  or ``$KAFFE_RUN_ROOT`` if set.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The kaffe checkout this package lives in (``tools/kafka_harness`` -> repo root)."""


def cache_root() -> Path:
    """Return the root of the kaffe download cache (never inside the checkout)."""
    explicit = os.environ.get("KAFFE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser().resolve() / "kaffe"
    return Path.home() / ".cache" / "kaffe"


def kafka_cache_dir(version: str) -> Path:
    """Return the cache directory for one Kafka version (``<cache>/kafka/<version>``)."""
    return cache_root() / "kafka" / version


def run_root() -> Path:
    """Return the directory that holds run dirs of locally started brokers."""
    explicit = os.environ.get("KAFFE_RUN_ROOT")
    if explicit:
        return Path(explicit).expanduser().resolve()
    return REPO_ROOT / ".kafka-local"


def new_run_dir(prefix: str) -> Path:
    """Create and return a fresh, uniquely named run dir under :func:`run_root`."""
    root = run_root()
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        candidate = root / f"{prefix}-{stamp}-{os.getpid()}-{attempt}"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise RuntimeError(f"could not create a unique run dir under {root}")


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed) for the ``with`` body."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
