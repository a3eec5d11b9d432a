"""kaffe._producer.futures.DeliveryFuture: a real concurrent.futures.Future sharing one
condition with its siblings, resolved in bulk by resolve_all."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Any

import pytest

import kaffe
import kaffe.aio
from kaffe._producer.futures import DeliveryFuture, resolve_all

DEADLINE_S = 10.0


def test_result_waits_past_wakeups_meant_for_siblings() -> None:
    cond = threading.Condition()
    mine, other = DeliveryFuture(cond), DeliveryFuture(cond)
    started = threading.Event()

    def resolve_later() -> None:
        started.wait(DEADLINE_S)
        resolve_all(cond, [(other, "other", None)])  # wakes every waiter of the condition
        resolve_all(cond, [(mine, "mine", None)])

    t = threading.Thread(target=resolve_later)
    t.start()
    started.set()
    assert mine.result(DEADLINE_S) == "mine"
    assert other.result(0) == "other"
    t.join(DEADLINE_S)


def test_timeout_is_its_own_deadline_not_a_siblings_wakeup() -> None:
    cond = threading.Condition()
    mine, other = DeliveryFuture(cond), DeliveryFuture(cond)
    timer = threading.Timer(0.05, lambda: resolve_all(cond, [(other, 1, None)]))
    timer.start()
    begun = time.monotonic()
    with pytest.raises(concurrent.futures.TimeoutError):  # what Future.result raises on 3.10 too
        mine.result(0.5)
    assert time.monotonic() - begun >= 0.45  # not cut short by the sibling's wake-up
    timer.join(DEADLINE_S)


def test_exception_callbacks_and_cancel() -> None:
    cond = threading.Condition()
    ok, bad, cancelled = DeliveryFuture(cond), DeliveryFuture(cond), DeliveryFuture(cond)
    seen: list[object] = []
    ok.add_done_callback(lambda f: seen.append(f.result()))
    bad.add_done_callback(lambda f: seen.append(type(f.exception()).__name__))
    assert cancelled.cancel()
    err = ValueError("boom")
    resolve_all(cond, [(ok, [(0, 5)], None), (bad, None, err), (cancelled, "ignored", None)])
    assert ok.result(0) == [(0, 5)]
    assert bad.exception(0) is err
    with pytest.raises(ValueError, match="boom"):
        bad.result(0)
    assert cancelled.cancelled()
    with pytest.raises(concurrent.futures.CancelledError):
        cancelled.result(0)
    assert seen == [[(0, 5)], "ValueError"]
    ok.add_done_callback(lambda f: seen.append("late"))  # done already: runs at once
    assert seen[-1] == "late"


def test_works_with_wait_and_as_completed() -> None:
    cond = threading.Condition()
    futures = [DeliveryFuture(cond) for _ in range(5)]
    timer = threading.Timer(
        0.05, lambda: resolve_all(cond, [(f, i, None) for i, f in enumerate(futures)])
    )
    timer.start()
    done, not_done = concurrent.futures.wait(futures, timeout=DEADLINE_S)
    assert len(done) == 5
    assert not not_done
    assert sorted(f.result() for f in concurrent.futures.as_completed(futures, DEADLINE_S)) == [
        0,
        1,
        2,
        3,
        4,
    ]
    timer.join(DEADLINE_S)


def test_set_result_still_works_one_by_one() -> None:
    cond = threading.Condition()
    f = DeliveryFuture(cond)
    f.set_result("x")
    assert f.done()
    assert f.result(0) == "x"
    with pytest.raises(concurrent.futures.InvalidStateError):
        f.set_result("again")


def test_a_produce_that_failed_with_a_timeout_error_keeps_its_message() -> None:
    # The producers wait for a call's future with a deadline of their own; a call that failed
    # with a KafkaTimeoutError (a TimeoutError) must raise that error, at once, not a generic
    # "not acknowledged within the delivery deadline".
    err = kaffe.KafkaTimeoutError("delivery deadline reached for t/3 (12 records)")
    sync = kaffe.Producer(endpoints="127.0.0.1:9")
    fut = DeliveryFuture(threading.Condition())
    fut.fail(err)
    begun = time.monotonic()
    with pytest.raises(kaffe.KafkaTimeoutError, match="t/3"):
        sync._wait(fut)
    assert time.monotonic() - begun < DEADLINE_S

    async def aio() -> None:
        producer = kaffe.aio.Producer(endpoints="127.0.0.1:9")
        afut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        afut.set_exception(err)
        with pytest.raises(kaffe.KafkaTimeoutError, match="t/3"):
            await producer._wait(afut)

    asyncio.run(aio())
