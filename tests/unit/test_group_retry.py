"""The group engine's retry budget: retriable failures are never counted against
``subscriber_retries``; the others are, and exhaust it. And how long a heartbeat may go
unanswered before its connection is given up."""

from __future__ import annotations

import logging

from kaffe import errors
from kaffe._group.classic import heartbeat_response_timeout
from kaffe._group.retry import RETRY_FIRST_S, RETRY_MAX_S, FailureBudget
from kaffe._group.settings import GroupSettings


def test_retriable_failures_back_off_capped_and_never_run_out() -> None:
    budget = FailureBudget(limit=0, delay=5.0)
    delays: list[float] = []
    for _ in range(200):
        delay = budget.after(errors.NotCoordinatorError("moved"))
        assert delay is not None
        delays.append(delay)
    assert delays[0] <= RETRY_FIRST_S * 1.2
    assert max(delays) <= RETRY_MAX_S * 1.2
    assert min(delays[20:]) >= RETRY_MAX_S * 0.8
    # a timeout and a lost connection are retriable too
    assert budget.after(errors.KafkaTimeoutError("no answer")) is not None
    assert budget.after(errors.KafkaConnectionError("reset")) is not None
    assert budget.transient == 202
    assert budget.lasting == 0
    assert budget.log_level() == logging.INFO
    assert "failure 202 in a row" in budget.explain(1.0)


def test_lasting_failures_are_counted_up_to_the_limit() -> None:
    budget = FailureBudget(limit=2, delay=5.0)
    denied = errors.GroupAuthorizationFailedError("no")
    assert budget.after(errors.CoordinatorLoadInProgressError("loading")) is not None
    assert budget.after(denied) == 5.0
    assert budget.log_level() == logging.WARNING
    assert budget.explain(5.0) == "retry 1 of 2 in 5.0 s"
    assert budget.after(errors.CoordinatorNotAvailableError("gone")) is not None
    assert budget.after(denied) == 5.0
    assert budget.after(denied) is None


def test_success_starts_the_count_again() -> None:
    budget = FailureBudget(limit=1, delay=0.5)
    denied = errors.TopicAuthorizationFailedError("no")
    assert budget.after(denied) == 0.5
    budget.succeeded()
    assert budget.after(denied) == 0.5
    assert budget.after(denied) is None


def test_heartbeat_response_timeout_is_short_of_the_session() -> None:
    def timeout(session: float, interval: float) -> float:
        return heartbeat_response_timeout(
            GroupSettings("g", ("t",), session_timeout=session, heartbeat_interval=interval)
        )

    assert timeout(30.0, 0.5) == 5.0  # the defaults: ten heartbeat intervals
    assert timeout(45.0, 3.0) == 15.0  # a third of the session: two more heartbeats fit in it
    assert timeout(6.0, 0.1) == 2.0  # never below 2 s
