"""The handler watchdog: which batch each partition's handler is running since when, and the
reports of handlers that run longer than the rebalance timeout (a rebalance would revoke their
partition and discard their result). Runs on the event loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass

from kaffe._util import TopicPartition

__all__ = ["Watchdog"]

log = logging.getLogger("kaffe.group")


@dataclass
class _Running:
    tp: TopicPartition
    first_offset: int
    started: float
    reported: bool = False


class Watchdog:
    """Handler calls in flight, per partition, and their reports."""

    def __init__(self, owner: object, limit: float) -> None:
        """Report handlers running longer than ``limit`` seconds; ``owner`` names the member."""
        self._owner = owner
        self._limit = limit
        self._running: dict[TopicPartition, _Running] = {}

    def started(self, tp: TopicPartition, first_offset: int) -> None:
        """The handler of ``tp`` started on the batch from ``first_offset``."""
        self._running[tp] = _Running(tp, first_offset, time.monotonic())

    def finished(self, tp: TopicPartition) -> None:
        """The handler of ``tp`` returned (or its batch was abandoned)."""
        self._running.pop(tp, None)

    def report_revoked(self, parts: Collection[TopicPartition]) -> None:
        """``parts`` are revoked although their handlers still run: say so."""
        for tp, run in list(self._running.items()):
            if tp in parts:
                log.error(
                    "%s: the handler for %s/%d (batch from offset %d) is still running after "
                    "%.1f s, past the rebalance timeout (%.1f s); the partition is revoked "
                    "and the batch's result will not be committed",
                    self._owner,
                    tp[0],
                    tp[1],
                    run.first_offset,
                    time.monotonic() - run.started,
                    self._limit,
                )

    async def run(self) -> None:
        """Once a second, report (once each) handlers running longer than the limit."""
        limit = self._limit
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for run in list(self._running.values()):
                if not run.reported and now - run.started > limit:
                    run.reported = True
                    log.error(
                        "%s: the handler for %s/%d (batch from offset %d) has run for %.1f s, "
                        "longer than the rebalance timeout (%.1f s); during a rebalance its "
                        "partition would be revoked and its result discarded",
                        self._owner,
                        run.tp[0],
                        run.tp[1],
                        run.first_offset,
                        now - run.started,
                        limit,
                    )
