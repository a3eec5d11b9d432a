"""One shape for every synchronous client: a facade over its :mod:`kaffe.aio` twin.

:class:`SyncFacade` owns the private event-loop thread (:class:`kaffe._loop.LoopThread`) the
asyncio client runs on, the margin a blocked caller waits beyond an operation's own deadline,
``close``/``stop``, the context manager, and finalisation: a client dropped without ``close()``
has its loop thread stopped by the garbage collector instead of leaking it.

Blocking calls go through :meth:`SyncFacade._call` (run one of the aio client's public
coroutines on the loop, wait with a deadline). Hot paths that must not wait for the loop at all
(the producer's hand-off) talk to thread-safe structures of the aio client directly and only
read :attr:`SyncFacade._loop`.
"""

from __future__ import annotations

import weakref
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from kaffe._loop import LoopThread
from kaffe.errors import KafkaError

__all__ = ["MARGIN_S", "SyncFacade"]

T = TypeVar("T")
Self = TypeVar("Self", bound="SyncFacade")

MARGIN_S = 10.0
"""Seconds a blocked caller waits beyond an operation's own deadline before giving up (the
operation itself always ends by its deadline; the margin only covers a loop that is slow to
report it)."""


def _stop_loop(loop: LoopThread) -> None:
    loop.stop()


class SyncFacade:
    """Base of the synchronous clients (see the module docs). Subclasses set ``_THREAD_NAME``
    and implement :meth:`_start_aio` and :meth:`_close_aio` with the aio client's coroutines."""

    _THREAD_NAME: ClassVar[str] = "kaffe-client"
    _START_TIMEOUT_S: ClassVar[float] = 30.0
    _CLOSE_TIMEOUT_S: ClassVar[float] = 10.0

    _loop: LoopThread | None = None
    _finalizer: weakref.finalize[Any, Any] | None = None

    # ------------------------------------------------------------------ for subclasses

    def _start_aio(self, timeout: float) -> Coroutine[Any, Any, Any]:
        """The aio client's start coroutine."""
        raise NotImplementedError

    def _close_aio(self, timeout: float) -> Coroutine[Any, Any, Any]:
        """The aio client's close coroutine."""
        raise NotImplementedError

    def _thread_name(self) -> str:
        """The name of the loop thread."""
        return self._THREAD_NAME

    def _close_timeout(self) -> float:
        """The default ``close`` deadline in seconds."""
        return self._CLOSE_TIMEOUT_S

    def _started(self) -> None:
        """Runs once the aio client has started."""

    def _after_close(self) -> None:
        """Runs once the loop thread has stopped (release thread pools, fail leftovers)."""

    # ------------------------------------------------------------------ the loop

    def _ensure_loop(self) -> LoopThread:
        loop = self._loop
        if loop is None or not loop.running:
            loop = self._loop = LoopThread(name=self._thread_name())
            self._finalizer = weakref.finalize(self, _stop_loop, loop)
        return loop

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and wait for it, at most ``timeout`` + the margin."""
        loop = self._loop
        if loop is None:
            coro.close()
            raise KafkaError(
                f"the {type(self).__name__} is not started: call start() first", retriable=False
            )
        return loop.run(coro, timeout + MARGIN_S)

    def _stop_loop(self) -> None:
        loop, self._loop = self._loop, None
        finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        if loop is not None:
            loop.stop()
        self._after_close()

    # ------------------------------------------------------------------ lifecycle

    def start(self: Self, *, timeout: float | None = None) -> Self:
        """Start the event-loop thread and the client (connect, fetch metadata, ...).
        Idempotent.

        Raises:
            kaffe.ConnectionError: no broker reachable.
            kaffe.KafkaTimeoutError: not done within ``timeout`` (default 30 s).
        """
        wait = self._START_TIMEOUT_S if timeout is None else timeout
        created = self._loop is None or not self._loop.running
        self._ensure_loop()
        try:
            self._call(self._start_aio(wait), wait)
        except BaseException:
            if created:
                self._stop_loop()
            raise
        self._started()
        return self

    def close(self, timeout: float | None = None) -> None:
        """Close the client (within ``timeout``), then stop its event-loop thread.
        Idempotent."""
        loop = self._loop
        if loop is None:
            return
        wait = self._close_timeout() if timeout is None else timeout
        try:
            if loop.running:
                loop.run(self._close_aio(wait), wait + MARGIN_S)
        finally:
            self._stop_loop()

    def stop(self, timeout: float | None = None) -> None:
        """The same as :meth:`close` (Kaffe's name)."""
        self.close(timeout)

    def __enter__(self: Self) -> Self:
        """Start and return the client."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client."""
        self.close()
