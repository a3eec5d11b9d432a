"""A private asyncio event loop on a daemon thread, one per synchronous client.

The synchronous API runs kaffe's asyncio code on this loop and blocks the calling thread on the
result with a deadline. Any thread may call :meth:`LoopThread.run`; calling it from the loop
thread itself (for example from a callback running on the loop) would deadlock, so it raises
instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from kaffe._util import WAIT_TIMEOUTS
from kaffe.errors import KafkaError, KafkaTimeoutError

__all__ = ["LoopClosedError", "LoopThread"]

log = logging.getLogger("kaffe.loop")

T = TypeVar("T")

_START_TIMEOUT_S = 10.0
_names = itertools.count(1)


class LoopClosedError(KafkaError):
    """The client's event-loop thread was stopped; the client is closed."""


class LoopThread:
    """One daemon thread running an asyncio event loop.

    ``run(coro, timeout)`` submits a coroutine and waits for its result at most ``timeout``
    seconds; on the deadline the coroutine is cancelled and :class:`kaffe.KafkaTimeoutError` is
    raised. :meth:`stop` cancels whatever is still pending, waits for it to unwind, closes the loop
    and joins the thread (each step with a deadline).
    """

    def __init__(self, name: str | None = None) -> None:
        """Start the thread and wait until its loop runs."""
        self.name = name or f"kaffe-loop-{next(_names)}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopping = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):  # pragma: no cover - needs a stuck OS
            raise KafkaTimeoutError(f"event loop thread {self.name} did not start")

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        try:
            self._loop.run_forever()
        finally:
            try:
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            except Exception as exc:  # pragma: no cover - best-effort cleanup
                log.debug("shutting down async generators: %s", exc)
            self._loop.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop (for code that must schedule callbacks on it)."""
        return self._loop

    @property
    def running(self) -> bool:
        """Whether the loop accepts work."""
        return not self._stopping and self._thread.is_alive()

    def in_loop_thread(self) -> bool:
        """Whether the caller is the loop's own thread."""
        return threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        """Run ``coro`` on the loop and return its result, waiting at most ``timeout`` seconds.

        Raises:
            KafkaTimeoutError: the deadline passed (the coroutine is cancelled).
            LoopClosedError: the loop was stopped.
            RuntimeError: called from the loop thread itself (it would wait for itself forever).
            Whatever ``coro`` raises.
        """
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError(
                f"a synchronous kaffe call was made on the client's own event-loop thread "
                f"{self.name}; it would wait for itself forever. Use kaffe.aio inside asyncio "
                "code, or call from another thread"
            )
        with self._lock:
            if not self.running:
                coro.close()
                raise LoopClosedError("the client is closed (its event loop was stopped)")
            future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except WAIT_TIMEOUTS:
            if future.done():
                # The coroutine's own timeout error (KafkaTimeoutError is a TimeoutError, and
                # so is concurrent.futures.TimeoutError from Python 3.11): keep its message.
                raise
            future.cancel()
            raise KafkaTimeoutError(
                f"operation did not complete within {timeout:.3f} s" if timeout else "timed out"
            ) from None
        except concurrent.futures.CancelledError:
            raise LoopClosedError("the operation was cancelled: the client is closing") from None

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel pending tasks, let them unwind (up to ``timeout``), stop and close the loop.

        Idempotent. Called from the loop thread itself it only schedules the stop.
        """
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        if not self._thread.is_alive():
            return
        if self.in_loop_thread():
            self._loop.call_soon(self._loop.stop)
            return
        done = asyncio.run_coroutine_threadsafe(self._cancel_all(timeout), self._loop)
        try:
            done.result(timeout + 1.0)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError) as exc:
            log.warning(
                "event loop %s: pending tasks did not finish cancelling: %r", self.name, exc
            )
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover - a task that blocks the loop
            log.warning("event loop thread %s did not stop within %.1f s", self.name, timeout)

    async def _cancel_all(self, timeout: float) -> None:
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            if pending:
                log.warning(
                    "event loop %s: %d task(s) ignored cancellation", self.name, len(pending)
                )
