"""Small helpers every layer shares: deadlines, the backoff formula, the (topic, partition) pair.

A leaf module: it imports nothing of kaffe but :mod:`kaffe.errors`, so the connection, cluster and
engine layers can all use it without importing each other.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import time

from kaffe.errors import KafkaTimeoutError

__all__ = ["WAIT_TIMEOUTS", "Deadline", "TopicPartition", "backoff", "backoff_delay"]

TopicPartition = tuple[str, int]
"""A ``(topic, partition)`` pair, the key of per-partition state in the engines. The admin
client's public :class:`kaffe.admin.TopicPartition` (a ``NamedTuple`` with ``.topic`` and
``.partition``) is one of these too."""


WAIT_TIMEOUTS: tuple[type[BaseException], ...] = (
    TimeoutError,
    asyncio.TimeoutError,
    concurrent.futures.TimeoutError,
)
"""What a wait that hit its deadline raises, for ``except WAIT_TIMEOUTS``: ``asyncio.wait_for``
raises :class:`asyncio.TimeoutError` and ``Future.result`` :class:`concurrent.futures.TimeoutError`,
and on Python 3.10 neither is the builtin :class:`TimeoutError` (they are from 3.11), so a bare
``except TimeoutError`` misses them there. Like ``except TimeoutError`` on 3.11, the tuple also
matches a :class:`kaffe.KafkaTimeoutError` raised by the awaited call itself; code that must tell
the two apart checks whether the awaited future is done. (``asyncio.timeout`` is 3.11+ only:
kaffe uses ``asyncio.wait_for``.)"""


class Deadline:
    """A point in (monotonic) time by which an operation must finish."""

    def __init__(self, timeout: float) -> None:
        """Start the clock: ``timeout`` seconds from now."""
        self.timeout = timeout
        self.at = time.monotonic() + timeout

    def remaining(self) -> float:
        """Seconds left, ``0.0`` when expired."""
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.monotonic() >= self.at

    def timeout_error(self, what: str, last: BaseException | None = None) -> KafkaTimeoutError:
        """The error for ``what`` not finishing in time (with the last failure, if any)."""
        tail = f"; last error: {last}" if last is not None else ""
        return KafkaTimeoutError(f"{what}: not done within {self.timeout:.1f} s{tail}")


def backoff_delay(
    failures: int,
    base: float,
    cap: float,
    *,
    retriable: bool = True,
    jitter: float = 0.2,
    max_doublings: int = 30,
) -> float:
    """Seconds to wait after ``failures`` failures in a row (``failures >= 1``).

    The one backoff formula of kaffe: ``base`` after the first failure, doubled after each
    further one (at most ``max_doublings`` times), at most ``cap``, then multiplied by a random
    factor in ``[1 - jitter, 1 + jitter]`` so that clients do not retry in lockstep. After a
    failure that retrying soon cannot fix (``retriable=False``: an authentication failure,
    say) the wait is at least ``cap``.
    """
    doublings = min(max(failures - 1, 0), max_doublings)
    delay = min(cap, base * 2.0**doublings)
    if jitter:
        delay *= random.uniform(1.0 - jitter, 1.0 + jitter)
    if not retriable:
        delay = max(delay, cap)
    return delay


REQUEST_RETRY_BASE_S = 0.05
"""First wait before retrying a request (metadata, coordinator, admin and producer-state calls)."""
REQUEST_RETRY_CAP_S = 1.0
"""Longest wait between two tries of such a request."""


def backoff(attempt: int, deadline: Deadline) -> float:
    """Seconds to wait before retrying a request whose try ``attempt`` (0-based) failed:
    :func:`backoff_delay` from 50 ms up to 1 s, and never past ``deadline``."""
    delay = backoff_delay(attempt + 1, REQUEST_RETRY_BASE_S, REQUEST_RETRY_CAP_S)
    return min(deadline.remaining(), delay)
