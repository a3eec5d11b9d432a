"""Dispatch: one subscriber task per assigned partition feeds the partition's batches to its
worker, and the rebalance callbacks run in the callback worker.

A subscriber takes the partition's batches from the fetcher in order, cuts them to the room of
the partition's delivery gate (if it has one: the asynchronous-ack consumer's
:class:`~kaffe._group.offsets.AckTracker`, waiting for acknowledgements when it is full), runs
:meth:`GroupHandler.handle <kaffe._group.handler.GroupHandler.handle>` in the partition's worker
(:mod:`kaffe._group.workers`; the worker key follows ``worker_strategy``) and hands the value to
``on_result`` on the loop. A failing handler gets the same batch again after
``subscriber_retry_delay``. A fetch error is retried as
:class:`~kaffe._group.retry.FailureBudget` says (the fetcher retries what it can itself, so what
reaches a subscriber is mostly an error retrying cannot fix: past ``subscriber_retries`` tries it
stops the member). The tasks run on the event loop; handlers never do (except plain functions in
:mod:`kaffe.aio`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
from collections.abc import Callable, Hashable
from typing import Any

from kaffe._fetch.fetcher import Fetcher, PartitionFetch
from kaffe._group.handler import GroupHandler
from kaffe._group.offsets import AckTracker
from kaffe._group.retry import FailureBudget
from kaffe._group.settings import GroupSettings
from kaffe._group.status import MemberStatus
from kaffe._group.watchdog import Watchdog
from kaffe._group.workers import AsyncWorker, AsyncWorkerPool, Worker, WorkerPool
from kaffe._util import WAIT_TIMEOUTS, TopicPartition
from kaffe.errors import KafkaError
from kaffe.message import Message

__all__ = ["Dispatcher"]

log = logging.getLogger("kaffe.group")


class Dispatcher:
    """The subscriber tasks of one member, its handler workers and its callback worker."""

    def __init__(
        self,
        owner: object,
        settings: GroupSettings,
        handler: GroupHandler,
        status: MemberStatus,
        watchdog: Watchdog,
        *,
        asynchronous: bool,
    ) -> None:
        """Workers are threads, or tasks on the caller's loop when ``asynchronous``
        (:mod:`kaffe.aio`); ``owner`` names the member in logs."""
        self._owner = owner
        self._settings = settings
        self._handler = handler
        self._status = status
        self._watchdog = watchdog
        self.workers: WorkerPool | AsyncWorkerPool
        self._callbacks: WorkerPool | AsyncWorkerPool
        if asynchronous:  # kaffe.aio: coroutine handlers, as tasks on the caller's loop
            self.workers = AsyncWorkerPool(f"kaffe-{settings.name}-worker")
            self._callbacks = AsyncWorkerPool(f"kaffe-{settings.name}-callbacks")
        else:
            self.workers = WorkerPool(f"kaffe-{settings.name}-worker")
            self._callbacks = WorkerPool(f"kaffe-{settings.name}-callbacks")
        self._subscribers: dict[TopicPartition, tuple[PartitionFetch, asyncio.Task[None]]] = {}

    # ------------------------------------------------------------------ subscribers

    def start(
        self, fetcher: Fetcher, tp: TopicPartition, state: PartitionFetch, gate: AckTracker | None
    ) -> None:
        """Start the subscriber of ``tp`` (fetch state ``state``, delivery gate ``gate``)."""
        task = asyncio.get_running_loop().create_task(self._subscriber(fetcher, tp, state, gate))
        self._subscribers[tp] = (state, task)

    async def finish(self, parts: list[TopicPartition]) -> None:
        """Wait (up to the rebalance timeout) for the subscribers of ``parts``, whose fetch
        states are no longer active, to finish their running batches; cancel the ones still
        running (reported by the watchdog) and forget them all."""
        tasks = [self._subscribers[tp][1] for tp in parts if tp in self._subscribers]
        if tasks:
            _, still = await asyncio.wait(tasks, timeout=self._settings.rebalance_timeout)
            for task in still:
                task.cancel()
            self._watchdog.report_revoked(parts)

    def forget(self, parts: list[TopicPartition]) -> None:
        """Drop the subscribers of ``parts`` (after :meth:`finish`)."""
        for tp in parts:
            self._subscribers.pop(tp, None)

    def _current(self, tp: TopicPartition, state: PartitionFetch) -> bool:
        entry = self._subscribers.get(tp)
        return state.active and entry is not None and entry[0] is state

    def _worker_key(self, tp: TopicPartition) -> Hashable:
        if self._settings.worker_strategy == "worker_per_topic_partition":
            return f"{tp[0]}-{tp[1]}"
        return tp[1]

    async def _subscriber(
        self,
        fetcher: Fetcher,
        tp: TopicPartition,
        state: PartitionFetch,
        gate: AckTracker | None,
    ) -> None:
        st = self._settings
        worker = self.workers.worker(self._worker_key(tp))
        budget = FailureBudget(st.subscriber_retries, st.subscriber_retry_delay)
        while self._current(tp, state):
            try:
                item = await fetcher.next_batch(state)
            except KafkaError as exc:
                delay = budget.after(exc)
                if delay is None:
                    self._status.fail(exc)
                    return
                log.log(
                    budget.log_level(),
                    "%s: fetching %s/%d failed (%s); %s",
                    self._owner,
                    tp[0],
                    tp[1],
                    exc,
                    budget.explain(delay),
                )
                await asyncio.sleep(delay)
                continue
            if item is None:
                return
            budget.succeeded()
            messages, nbytes = item
            count = len(messages)
            try:
                while messages:
                    if gate is None:
                        chunk, messages = messages, []
                    else:
                        room = gate.room()
                        if room is not None and room <= 0:
                            log.debug(
                                "%s: %s/%d: %d delivered messages wait for acknowledgement; "
                                "delivery waits",
                                self._owner,
                                tp[0],
                                tp[1],
                                gate.outstanding,
                            )
                            room = await gate.wait_for_room()
                            if room <= 0:
                                return  # revoked or stopping
                        if room is None or room >= len(messages):
                            chunk, messages = messages, []
                        else:
                            chunk, messages = messages[:room], messages[room:]
                    if not self._current(tp, state):
                        return
                    if not await self._run_batch(tp, state, worker, chunk):
                        return
            finally:
                self._watchdog.finished(tp)
                fetcher.ack(state, count, nbytes)

    async def _run_batch(
        self,
        tp: TopicPartition,
        state: PartitionFetch,
        worker: Worker | AsyncWorker,
        messages: list[Message],
    ) -> bool:
        """Run the handler on ``messages`` until it succeeds (a failure is retried after
        ``subscriber_retry_delay``); ``False`` if the partition went away meanwhile."""
        handler = self._handler
        delay = self._settings.subscriber_retry_delay
        while True:
            fut: concurrent.futures.Future[Any] | asyncio.Future[Any] = worker.submit(
                functools.partial(handler.handle, messages)
            )
            self._watchdog.started(tp, messages[0].offset)
            try:
                result = await asyncio.shield(asyncio.wrap_future(fut))
            except Exception as exc:
                log.error(
                    "%s: handler failed on %s/%d offsets %d..%d: %r; nothing committed, "
                    "the batch is delivered again in %.1f s",
                    self._owner,
                    tp[0],
                    tp[1],
                    messages[0].offset,
                    messages[-1].offset,
                    exc,
                    delay,
                    exc_info=exc,
                )
                self._watchdog.finished(tp)
                await asyncio.sleep(delay)
                if not self._current(tp, state):
                    return False
                continue
            self._watchdog.finished(tp)
            if self._current(tp, state):
                try:
                    handler.on_result(tp, messages, result)
                except TypeError as exc:
                    log.error("%s: %s; treated as a failure", self._owner, exc)
                    await asyncio.sleep(delay)
                    continue
            return True

    # ------------------------------------------------------------------ callbacks

    async def callback(
        self, fn: Callable[[list[TopicPartition]], Any], parts: list[TopicPartition], what: str
    ) -> None:
        """Run ``fn(parts)`` in the callback worker, waiting up to the rebalance timeout;
        failures and overruns are logged."""
        fut = self._callbacks.worker("cb").submit(lambda: fn(list(parts)))
        timeout = self._settings.rebalance_timeout
        try:
            await asyncio.wait_for(asyncio.wrap_future(fut), timeout)
        except WAIT_TIMEOUTS:
            log.error(
                "%s: the %s callback is still running after %.1f s (the rebalance timeout)",
                self._owner,
                what,
                timeout,
            )
        except Exception:
            log.exception("%s: %s callback failed", self._owner, what)

    async def stop_workers(self, timeout: float) -> None:
        """Stop the handler workers and the callback worker (after the member stopped)."""
        for pool in (self.workers, self._callbacks):
            if isinstance(pool, AsyncWorkerPool):
                await pool.stop(timeout)
            else:
                await asyncio.get_running_loop().run_in_executor(None, pool.stop, timeout)
