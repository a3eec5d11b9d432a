"""An in-process resource sampler for the soak run's client processes.

The number of asyncio tasks can only be read inside the process that owns the event loop, so
each workload process (the producer, each group member) starts a :class:`ProcessSampler`. A
daemon thread writes one JSON line every ``interval`` seconds::

    {"t": 1767225600.0, "pid": 4242, "role": "member-1", "rss_bytes": 61865984, "fds": 23,
     "threads": 9, "asyncio_tasks": 14, "loops": 1, "loop_lag_s": 0.0004}

``rss_bytes``, ``fds`` and ``threads`` come from ``/proc/self`` (Linux). ``asyncio_tasks`` is the
sum of the unfinished tasks of the event loops the ``loops`` callable returns (for kaffe's
synchronous clients, the loop each one runs on its private thread: :func:`client_loops`).
Tasks are counted on each loop's own thread (``call_soon_threadsafe``), and the sampler waits
for the answer at most ``task_timeout`` seconds: a loop that does not answer is left out of the
sum (``loops`` counts the loops that answered; ``asyncio_tasks`` is ``None`` if none did), so a
blocked loop never stalls the sampler. ``loop_lag_s`` is the longest time a loop took to run the
probe, a measure of how busy (or stuck) it was.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = [
    "ProcessSampler",
    "client_loops",
    "count_fds",
    "count_tasks",
    "count_threads",
    "rss_bytes",
    "sampler_from_env",
]

log = logging.getLogger("kaffe.soak")

DEFAULT_INTERVAL_S = 10.0
ENV_SAMPLES = "KAFFE_SOAK_SAMPLES"
ENV_INTERVAL = "KAFFE_SOAK_INTERVAL"
DEFAULT_TASK_TIMEOUT_S = 2.0

LoopSource = Callable[[], Iterable[asyncio.AbstractEventLoop]]


def _no_loops() -> list[asyncio.AbstractEventLoop]:
    return []


def rss_bytes() -> int:
    """This process's resident set size in bytes (``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def count_fds() -> int:
    """Open file descriptors of this process (``/proc/self/fd``, less the one used to list it)."""
    return len(os.listdir("/proc/self/fd")) - 1


def count_threads() -> int:
    """OS threads of this process (``Threads:`` in ``/proc/self/status``; native ones too)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no Threads: line")


def count_tasks(loop: asyncio.AbstractEventLoop, timeout: float) -> tuple[int, float] | None:
    """``(unfinished tasks, seconds the loop took to answer)`` of ``loop``, counted on its own
    thread; ``None`` if the loop is closed or did not answer within ``timeout`` seconds."""
    answer: concurrent.futures.Future[tuple[int, float]] = concurrent.futures.Future()
    asked = time.monotonic()

    def probe() -> None:
        if answer.set_running_or_notify_cancel():
            answer.set_result((len(asyncio.all_tasks(loop)), time.monotonic() - asked))

    try:
        loop.call_soon_threadsafe(probe)
    except RuntimeError:  # the loop is closed
        return None
    try:
        return answer.result(timeout)
    except concurrent.futures.TimeoutError:
        answer.cancel()
        return None


def client_loops(clients: Sequence[Any]) -> LoopSource:
    """A ``loops`` callable for kaffe's synchronous clients (``kaffe.Producer``,
    ``kaffe.GroupMemberSupervisor``, ...): the event loop each client in ``clients`` currently
    runs on its private thread (``SyncFacade._loop``, a :class:`kaffe._loop.LoopThread`).
    ``clients`` is read at every sample, so clients added later and clients restarted on a new
    loop are followed; a client that is not running adds none."""

    def loops() -> list[asyncio.AbstractEventLoop]:
        found: list[asyncio.AbstractEventLoop] = []
        for client in list(clients):
            thread = getattr(client, "_loop", None)
            if thread is not None and thread.running:
                found.append(thread.loop)
        return found

    return loops


def sampler_from_env(role: str, loops: LoopSource) -> ProcessSampler | None:
    """The soak run's hook for a workload process: if the environment variable
    ``KAFFE_SOAK_SAMPLES`` names a directory, a started :class:`ProcessSampler` writing
    ``<directory>/<role>.jsonl`` every ``KAFFE_SOAK_INTERVAL`` seconds (default 10);
    ``None`` otherwise."""
    directory = os.environ.get(ENV_SAMPLES)
    if not directory:
        return None
    interval = float(os.environ.get(ENV_INTERVAL) or DEFAULT_INTERVAL_S)
    return ProcessSampler(
        Path(directory) / f"{role}.jsonl",
        role,
        loops,
        interval=interval,
        task_timeout=min(DEFAULT_TASK_TIMEOUT_S, interval / 2),
    ).start()


class ProcessSampler:
    """A daemon thread appending one JSON sample of this process to ``path`` every
    ``interval`` seconds (see the module docs), the first at :meth:`start` and the last at
    :meth:`stop`."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        role: str,
        loops: LoopSource = _no_loops,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        task_timeout: float = DEFAULT_TASK_TIMEOUT_S,
    ) -> None:
        """Sample into ``path`` (appended to) as ``role``; ``loops`` returns the event loops
        whose tasks are counted (none by default)."""
        if interval <= 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        if task_timeout <= 0 or task_timeout >= interval:
            raise ValueError(
                f"task_timeout must be > 0 and below the interval ({interval} s), "
                f"got {task_timeout!r}"
            )
        self.path = Path(path)
        self.role = role
        self.interval = interval
        self.task_timeout = task_timeout
        self._loops = loops
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._out: IO[str] | None = None
        self._write_lock = threading.Lock()

    def sample(self) -> dict[str, Any]:
        """Take one sample now (from any thread except a sampled loop's own)."""
        tasks: int | None = None
        answered = 0
        lag: float | None = None
        for loop in self._loops():
            counted = count_tasks(loop, self.task_timeout)
            if counted is None:
                continue
            n, took = counted
            answered += 1
            tasks = n if tasks is None else tasks + n
            lag = took if lag is None else max(lag, took)
        return {
            "t": time.time(),
            "pid": os.getpid(),
            "role": self.role,
            "rss_bytes": rss_bytes(),
            "fds": count_fds(),
            "threads": count_threads(),
            "asyncio_tasks": tasks,
            "loops": answered,
            "loop_lag_s": lag,
        }

    def _write(self) -> None:
        try:
            line = json.dumps(self.sample())
        except Exception:  # a sampler must never take the workload down
            log.exception("soak sampler %s: sampling failed", self.role)
            return
        with self._write_lock:
            if self._out is not None:
                self._out.write(line + "\n")
                self._out.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._write()

    def start(self) -> ProcessSampler:
        """Open the file, write the first sample and start the thread. Returns ``self``."""
        if self._thread is not None:
            raise RuntimeError("the sampler was already started")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._out = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._write()
        self._thread = threading.Thread(
            target=self._run, name=f"soak-sampler-{self.role}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Write a last sample, stop the thread (waiting at most ``timeout`` seconds) and close
        the file. Idempotent."""
        thread = self._thread
        if thread is None or self._stop.is_set():
            return
        self._stop.set()
        thread.join(timeout)
        if thread.is_alive():
            log.warning("soak sampler %s did not stop within %.1f s", self.role, timeout)
        self._write()
        with self._write_lock:
            out, self._out = self._out, None
        if out is not None:
            out.close()

    def __enter__(self) -> ProcessSampler:
        """Start and return the sampler."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop the sampler."""
        self.stop()
