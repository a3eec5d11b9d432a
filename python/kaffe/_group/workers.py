"""Worker threads: user handlers run here, never on the event loop.

A :class:`WorkerPool` keeps one thread per worker key (``partition`` for
``worker_per_partition``, ``(topic, partition)`` for ``worker_per_topic_partition``). A worker
runs its jobs one after another in submission order; different workers run concurrently.
:class:`AsyncWorkerPool` does the same with asyncio tasks for :mod:`kaffe.aio` (coroutine
handlers on the caller's loop).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from kaffe._util import WAIT_TIMEOUTS

__all__ = ["AsyncWorker", "AsyncWorkerPool", "Worker", "WorkerPool"]

log = logging.getLogger("kaffe.group")

_STOP = object()


class Worker:
    """One thread running jobs in order."""

    def __init__(self, name: str) -> None:
        """Start the thread."""
        self.name = name
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.busy_since: float | None = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Queue ``fn``; the future gets its result or exception."""
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._jobs.put((fn, fut))
        return fut

    def _main(self) -> None:
        while True:
            item = self._jobs.get()
            if item is _STOP:
                return
            fn, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            self.busy_since = time.monotonic()
            try:
                result = fn()
            except BaseException as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(result)
            finally:
                self.busy_since = None

    def stop(self, timeout: float) -> bool:
        """Ask the thread to end after its queued jobs; ``False`` if it is still running after
        ``timeout`` seconds (a handler that does not return)."""
        self._jobs.put(_STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive()


class WorkerPool:
    """Workers by key, created on first use."""

    def __init__(self, prefix: str) -> None:
        """``prefix`` names the threads."""
        self.prefix = prefix
        self._workers: dict[Hashable, Worker] = {}
        self._lock = threading.Lock()

    def worker(self, key: Hashable) -> Worker:
        """The worker for ``key``."""
        with self._lock:
            w = self._workers.get(key)
            if w is None:
                w = Worker(f"{self.prefix}-{key}")
                self._workers[key] = w
            return w

    def stop(self, timeout: float) -> None:
        """Stop every worker (sharing ``timeout``); stuck ones are reported and abandoned."""
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        deadline = time.monotonic() + timeout
        for w in workers:
            if not w.stop(max(0.0, deadline - time.monotonic())):
                log.error(
                    "worker %s is still running a handler after %.1f s; abandoning it",
                    w.name,
                    timeout,
                )


class AsyncWorker:
    """The asyncio counterpart of :class:`Worker` (``kaffe.aio``): one task on the caller's
    loop awaiting its jobs (coroutines) one after another, in submission order."""

    def __init__(self, name: str) -> None:
        """Start the task on the running loop."""
        self.name = name
        self._jobs: asyncio.Queue[Any] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._main(), name=name)

    def submit(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        """Queue ``fn`` (returning a coroutine or a plain value); the future gets the result."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._jobs.put_nowait((fn, fut))
        return fut

    async def _main(self) -> None:
        while True:
            item = await self._jobs.get()
            if item is _STOP:
                return
            fn, fut = item
            if fut.cancelled():
                continue
            try:
                result = fn()
                if inspect.isawaitable(result):
                    result = await result
            except asyncio.CancelledError:
                fut.cancel()
                raise
            except BaseException as exc:
                if not fut.done():
                    fut.set_exception(exc)
            else:
                if not fut.done():
                    fut.set_result(result)

    async def stop(self, timeout: float) -> bool:
        """End after the queued jobs, cancelling after ``timeout``; ``False`` if cancelled."""
        self._jobs.put_nowait(_STOP)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
            return True
        except WAIT_TIMEOUTS:
            self._task.cancel()
            return False


class AsyncWorkerPool:
    """:class:`AsyncWorker` by key, created on first use (on the running loop)."""

    def __init__(self, prefix: str) -> None:
        """``prefix`` names the tasks."""
        self.prefix = prefix
        self._workers: dict[Hashable, AsyncWorker] = {}

    def worker(self, key: Hashable) -> AsyncWorker:
        """The worker for ``key``."""
        w = self._workers.get(key)
        if w is None:
            w = AsyncWorker(f"{self.prefix}-{key}")
            self._workers[key] = w
        return w

    async def stop(self, timeout: float) -> None:
        """Stop every worker; ones still running a handler after ``timeout`` are cancelled."""
        workers = list(self._workers.values())
        self._workers.clear()
        for w in workers:
            if not await w.stop(timeout):
                log.error("async worker %s was still running a handler; cancelled it", w.name)
