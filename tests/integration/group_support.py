"""Helpers shared by the consumer-group tests against the real broker: group settings that
rebalance quickly, a polling wait with a deadline, unique group names, a thread-safe collector
of messages and partition callbacks, and the ``bootstrap`` and ``members`` fixtures.

A test module takes the fixtures by importing ``bootstrap_fixture`` and ``members_fixture``
(registered under the names ``bootstrap`` and ``members``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import kaffe

FAST: dict[str, Any] = {
    "rebalance_delay_ms": 0,
    "session_timeout_seconds": 6,
    "heartbeat_rate_seconds": 1,
    "rebalance_timeout_seconds": 10,
    "min_bytes": 1,
    "max_wait_time": 300,
    "offset_commit_interval_seconds": 1,
    "start_with_earliest_message": True,
}


def wait_until(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``cond`` until truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def group() -> str:
    """A consumer group name no other test uses."""
    return f"kaffe-it-{uuid.uuid4().hex[:10]}"


class Collect:
    """A message handler that keeps every value, and the partitions of each callback."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: list[bytes] = []
        self.assigned: list[list[tuple[str, int]]] = []
        self.revoked: list[list[tuple[str, int]]] = []

    def handle_messages(self, messages: list[kaffe.Message]) -> None:
        with self.lock:
            self.values.extend(m.value or b"" for m in messages)

    def on_assigned(self, partitions: list[tuple[str, int]]) -> None:
        with self.lock:
            self.assigned.append(partitions)

    def on_revoked(self, partitions: list[tuple[str, int]]) -> None:
        with self.lock:
            self.revoked.append(partitions)


@pytest.fixture(name="bootstrap")
def bootstrap_fixture(kafka_broker: Any) -> str:
    """The broker's bootstrap address as a string."""
    return str(kafka_broker.bootstrap)


@pytest.fixture(name="members")
def members_fixture() -> Iterator[list[Any]]:
    """A list to append started supervisors to; each is stopped after the test."""
    started: list[Any] = []
    yield started
    for m in started:
        m.stop()
