"""kaffe._loop.LoopThread: results, deadlines, cancellation, misuse from the loop thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

import kaffe
from kaffe._loop import LoopClosedError, LoopThread

WAIT_S = 10.0


def test_run_returns_the_result_and_runs_on_the_loop_thread(loop: LoopThread) -> None:
    async def where() -> str:
        await asyncio.sleep(0)
        return threading.current_thread().name

    assert loop.run(where(), timeout=WAIT_S) == loop.name
    assert loop.name != threading.current_thread().name


def test_run_raises_what_the_coroutine_raises(loop: LoopThread) -> None:
    async def fail() -> None:
        raise kaffe.ConfigError("nope")

    with pytest.raises(kaffe.ConfigError, match="nope"):
        loop.run(fail(), timeout=WAIT_S)


def test_deadline_cancels_the_coroutine(loop: LoopThread) -> None:
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(kaffe.KafkaTimeoutError):
        loop.run(forever(), timeout=0.2)
    assert cancelled.wait(WAIT_S)


def test_calling_from_the_loop_thread_raises_instead_of_deadlocking(loop: LoopThread) -> None:
    async def nested() -> str:
        async def inner() -> int:
            return 1

        try:
            loop.run(inner(), timeout=WAIT_S)
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    message = loop.run(nested(), timeout=WAIT_S)

    assert "own event-loop thread" in message


def test_usable_from_many_threads(loop: LoopThread) -> None:
    results: list[int] = []
    lock = threading.Lock()

    async def square(n: int) -> int:
        await asyncio.sleep(0)
        return n * n

    def worker(n: int) -> None:
        value = loop.run(square(n), timeout=WAIT_S)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S)

    assert sorted(results) == [n * n for n in range(8)]


def test_stop_cancels_pending_tasks_and_closes() -> None:
    thread = LoopThread()
    cancelled = threading.Event()
    started = threading.Event()

    async def background() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def spawn() -> None:
        asyncio.get_running_loop().create_task(background())

    thread.run(spawn(), timeout=WAIT_S)
    assert started.wait(WAIT_S)

    thread.stop()

    assert cancelled.is_set()
    assert not thread.running
    assert thread.loop.is_closed()
    thread.stop()  # idempotent

    async def anything() -> int:
        return 1

    with pytest.raises(LoopClosedError):
        thread.run(anything(), timeout=WAIT_S)


def test_a_timeout_error_of_the_coroutine_itself_keeps_its_message(loop: LoopThread) -> None:
    # KafkaTimeoutError is a TimeoutError, as concurrent.futures.TimeoutError is from 3.11:
    # the coroutine's own must not be taken for the wait running out.
    async def fail() -> None:
        raise kaffe.KafkaTimeoutError("the coordinator did not answer in 3 s")

    with pytest.raises(kaffe.KafkaTimeoutError, match="coordinator did not answer"):
        loop.run(fail(), timeout=WAIT_S)
