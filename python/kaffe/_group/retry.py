"""How the group engine retries a step that failed (reading committed offsets, fetching a
partition's batches): :class:`FailureBudget`.

A retriable failure (Kafka marks it so: a coordinator or leader moving, loading or unreachable,
a request that timed out) is retried with capped backoff, uncounted: a failover takes as long as
it takes, and what bounds the wait is the membership, which loses the generation when no
heartbeat gets through for the session timeout (the step's task is then cancelled) or the member
stopping. An error retrying cannot fix (authorization, a corrupt batch) is retried at most
``subscriber_retries`` times, ``subscriber_retry_delay`` apart, and then stops the member.
"""

from __future__ import annotations

import logging

from kaffe._util import backoff_delay
from kaffe.errors import KafkaError

__all__ = ["FailureBudget"]

RETRY_FIRST_S = 0.1
RETRY_MAX_S = 2.0
"""A retriable failure is retried after 100 ms, doubling up to 2 s."""


class FailureBudget:
    """The failures in a row of one step, and the wait before its next try.

    Attributes:
        transient: retriable failures since the last success (or the last lasting failure).
        lasting: failures retrying cannot fix since the last success.
    """

    def __init__(self, limit: int, delay: float) -> None:
        """Allow ``limit`` retries of lasting failures, ``delay`` seconds apart."""
        self.limit = limit
        self.delay = delay
        self.transient = 0
        self.lasting = 0

    def after(self, exc: KafkaError) -> float | None:
        """Seconds to wait before trying again after ``exc``; ``None`` once ``exc`` is a lasting
        failure beyond the limit (the caller stops the member with it)."""
        if exc.retriable:
            self.transient += 1
            return backoff_delay(self.transient, RETRY_FIRST_S, RETRY_MAX_S)
        self.transient = 0
        self.lasting += 1
        return self.delay if self.lasting <= self.limit else None

    def succeeded(self) -> None:
        """The step worked: the next failure is the first again."""
        self.transient = 0
        self.lasting = 0

    def log_level(self) -> int:
        """How loudly to log the failure just counted: a lasting one, or the first retriable one
        of a run, as a warning; further retriable ones (a failover still going on) as info."""
        return logging.WARNING if self.transient <= 1 else logging.INFO

    def explain(self, delay: float) -> str:
        """``retry 2 of 5 in 5.0 s`` for a lasting failure; ``retrying in 0.4 s (failure 3 in a
        row)`` for a retriable one."""
        if self.transient:
            return f"retrying in {delay:.1f} s (failure {self.transient} in a row)"
        return f"retry {self.lasting} of {self.limit} in {delay:.1f} s"
