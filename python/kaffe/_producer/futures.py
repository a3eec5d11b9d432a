"""The future a synchronous ``produce_async`` returns: a :class:`concurrent.futures.Future`
that is cheap to make and to resolve in bulk.

A plain ``concurrent.futures.Future`` creates a ``threading.Condition`` of its own (about a
microsecond) and takes that lock again to be resolved: at one future per message that costs more
than everything else a message needs. :class:`DeliveryFuture` shares one condition per producer
instead, and the producer's event loop resolves every future of an acknowledged chunk under one
acquisition of it (:func:`resolve_all`).

It is a real ``concurrent.futures.Future`` (``result``, ``exception``, ``done``,
``add_done_callback``, ``cancel``, ``concurrent.futures.wait`` and ``as_completed`` all work);
because several futures share the condition, a wake-up may be for another future, so
:meth:`DeliveryFuture.result` and :meth:`DeliveryFuture.exception` wait in a loop until their
own deadline.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Iterable
from concurrent.futures._base import (  # the states every Future uses (stable since 3.2)
    CANCELLED,
    CANCELLED_AND_NOTIFIED,
    FINISHED,
    PENDING,
    RUNNING,
)
from typing import Any

__all__ = ["DeliveryFuture", "resolve_all"]

_OPEN = (PENDING, RUNNING)
_CANCELLED = (CANCELLED, CANCELLED_AND_NOTIFIED)


class DeliveryFuture(concurrent.futures.Future[Any]):
    """A ``concurrent.futures.Future`` sharing its producer's condition (see the module docs).

    It is also its own result target in the hand-off (the attributes and methods of
    :class:`kaffe._producer.handoff.Sink`), so a call that wants only a future allocates one
    object; its two lists (waiters, done-callbacks) are made on first use, since most futures
    never get either (fewer objects for the cycle collector to walk).
    """

    callback = None
    raises = False

    def __init__(self, condition: threading.Condition) -> None:
        """A pending future waking the waiters of ``condition``."""
        # Not Future.__init__: it would make a Condition of its own.
        self._condition = condition
        self._state = PENDING
        self._result = None
        self._exception = None

    def __getattr__(self, name: str) -> Any:
        # Future's own methods use these two lists; made when first asked for.
        if name in ("_waiters", "_done_callbacks"):
            made: list[Any] = []
            setattr(self, name, made)
            return made
        raise AttributeError(name)

    @property
    def future(self) -> DeliveryFuture:
        """The future itself (the ``Sink`` interface)."""
        return self

    def part_done(self, partition: int, offset: int) -> None:
        """No callback (the ``Sink`` interface)."""

    def succeed(self, result: Any) -> None:
        """Resolve (a future the caller cancelled is left alone)."""
        resolve_all(self._condition, [(self, result, None)])

    def fail(self, exc: BaseException) -> None:
        """Fail (a future the caller cancelled is left alone)."""
        resolve_all(self._condition, [(self, None, exc)])

    def _wait_done(self, timeout: float | None) -> None:
        """Wait (holding the condition) until done or ``timeout``; raises on the deadline."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._state in _OPEN:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise concurrent.futures.TimeoutError()
            self._condition.wait(left)

    def result(self, timeout: float | None = None) -> Any:
        """The result, waiting at most ``timeout`` seconds (see
        :meth:`concurrent.futures.Future.result`)."""
        with self._condition:
            self._wait_done(timeout)
            if self._state in _CANCELLED:
                raise concurrent.futures.CancelledError()
            if self._exception is not None:
                try:
                    raise self._exception
                finally:
                    self = None  # type: ignore[assignment]  # break the traceback cycle
            return self._result

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The error, or ``None``, waiting at most ``timeout`` seconds (see
        :meth:`concurrent.futures.Future.exception`)."""
        with self._condition:
            self._wait_done(timeout)
            if self._state in _CANCELLED:
                raise concurrent.futures.CancelledError()
            return self._exception


def resolve_all(
    condition: threading.Condition,
    outcomes: Iterable[tuple[DeliveryFuture, Any, BaseException | None]],
) -> None:
    """Resolve many futures sharing ``condition`` at once: ``(future, result, error)`` each
    (a future the caller cancelled is left alone); one lock acquisition, one wake-up, then the
    futures' done-callbacks."""
    done: list[DeliveryFuture] = []
    with condition:
        for fut, result, exc in outcomes:
            if fut._state not in _OPEN:
                continue
            fut._state = FINISHED
            attrs = fut.__dict__
            waiters = attrs.get("_waiters")
            if exc is None:
                fut._result = result
                if waiters:
                    for waiter in waiters:
                        waiter.add_result(fut)
            else:
                fut._exception = exc
                if waiters:
                    for waiter in waiters:
                        waiter.add_exception(fut)
            if attrs.get("_done_callbacks"):
                done.append(fut)
        condition.notify_all()
    for fut in done:
        fut._invoke_callbacks()
