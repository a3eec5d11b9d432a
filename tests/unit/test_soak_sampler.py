"""tools/soak/sampler.py: /proc readings, asyncio tasks counted on a kaffe loop thread (and a
blocked loop never stalling the sampler), the JSON lines the sampler thread writes."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from kaffe._loop import LoopThread
from kaffe._sync import SyncFacade
from soak.sampler import (
    ProcessSampler,
    client_loops,
    count_fds,
    count_tasks,
    count_threads,
    rss_bytes,
    sampler_from_env,
)

WAIT_S = 10.0


def _park(loop: LoopThread, n: int) -> asyncio.Event:
    """Start ``n`` tasks on ``loop`` that wait for the returned event."""
    release = asyncio.Event()

    async def spawn() -> None:
        for _ in range(n):
            asyncio.get_running_loop().create_task(release.wait())

    loop.run(spawn(), WAIT_S)
    return release


def _tasks(loop: LoopThread) -> int:
    counted = count_tasks(loop.loop, WAIT_S)
    assert counted is not None
    return counted[0]


def test_fds_count_a_newly_opened_file(tmp_path: Path) -> None:
    before = count_fds()
    with open(tmp_path / "x", "w", encoding="utf-8"):
        assert count_fds() == before + 1
    assert count_fds() == before


def test_threads_count_a_new_thread() -> None:
    before = count_threads()
    release = threading.Event()
    thread = threading.Thread(target=release.wait, args=(WAIT_S,))
    thread.start()
    try:
        assert count_threads() == before + 1
    finally:
        release.set()
        thread.join(WAIT_S)


def test_rss_grows_by_what_is_touched() -> None:
    before = rss_bytes()
    block = b"x" * (64 * 1024 * 1024)  # written, so resident
    assert rss_bytes() - before >= 48 * 1024 * 1024
    assert len(block) > 0


def test_tasks_are_counted_on_the_loop(loop: LoopThread) -> None:
    idle = _tasks(loop)
    release = _park(loop, 7)
    counted = count_tasks(loop.loop, WAIT_S)
    assert counted is not None
    assert counted[0] == idle + 7
    assert 0 <= counted[1] < WAIT_S
    loop.loop.call_soon_threadsafe(release.set)


def test_a_blocked_loop_answers_none_within_the_deadline(loop: LoopThread) -> None:
    unblock = threading.Event()
    blocked = threading.Event()

    def block() -> None:
        blocked.set()
        unblock.wait(WAIT_S)

    loop.loop.call_soon_threadsafe(block)
    assert blocked.wait(WAIT_S)
    asked = time.monotonic()
    try:
        assert count_tasks(loop.loop, 0.3) is None
        assert time.monotonic() - asked < 0.3 + 2.0
    finally:
        unblock.set()
    # the abandoned probe, run late, must not break the loop
    assert count_tasks(loop.loop, WAIT_S) is not None


def test_a_closed_loop_answers_none() -> None:
    thread = LoopThread()
    event_loop = thread.loop
    thread.stop()
    assert count_tasks(event_loop, 0.5) is None


class _Idle(SyncFacade):
    """A synchronous kaffe client with nothing to start: the real SyncFacade loop handling."""

    def _start_aio(self, timeout: float) -> Coroutine[Any, Any, Any]:
        return asyncio.sleep(0)

    def _close_aio(self, timeout: float) -> Coroutine[Any, Any, Any]:
        return asyncio.sleep(0)


def test_client_loops_follow_the_clients_loop_threads() -> None:
    a, b = _Idle(), _Idle()
    clients: list[SyncFacade] = [a]
    loops = client_loops(clients)
    assert list(loops()) == []
    a.start()
    try:
        assert a._loop is not None
        assert list(loops()) == [a._loop.loop]
        clients.append(b)
        assert list(loops()) == [a._loop.loop]  # b not started yet
        b.start()
        try:
            assert b._loop is not None
            assert list(loops()) == [a._loop.loop, b._loop.loop]
        finally:
            b.close()
        assert list(loops()) == [a._loop.loop]
    finally:
        a.close()
    assert list(loops()) == []


def test_sampler_writes_json_lines_and_sums_the_loops_tasks(
    tmp_path: Path, loop: LoopThread
) -> None:
    other = LoopThread()
    try:
        idle = _tasks(loop) + _tasks(other)
        releases = [_park(loop, 3), _park(other, 2)]
        path = tmp_path / "s" / "member.jsonl"
        sampler = ProcessSampler(
            path, "member-1", lambda: [loop.loop, other.loop], interval=0.2, task_timeout=0.1
        )
        with sampler:
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                if len(path.read_text(encoding="utf-8").splitlines()) >= 3:
                    break
                threading.Event().wait(0.05)
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert len(lines) >= 4  # first at start, at least two from the thread, last at stop
        for sample in lines:
            assert sample["role"] == "member-1"
            assert sample["pid"] > 0
            assert sample["rss_bytes"] > 0
            assert sample["fds"] > 0
            assert sample["threads"] >= 3  # this one, two loop threads
            assert sample["asyncio_tasks"] == idle + 5
            assert sample["loops"] == 2
            assert sample["loop_lag_s"] >= 0
        assert [s["t"] for s in lines] == sorted(s["t"] for s in lines)
        for lp, release in zip((loop, other), releases, strict=True):
            lp.loop.call_soon_threadsafe(release.set)
    finally:
        other.stop()


def test_sampler_without_loops_reports_no_tasks(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    with ProcessSampler(path, "producer", interval=5.0, task_timeout=1.0):
        pass
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2
    assert lines[0]["asyncio_tasks"] is None
    assert lines[0]["loops"] == 0


@pytest.mark.parametrize(("interval", "task_timeout"), [(0, 0.1), (1.0, 0), (1.0, 1.0)])
def test_bad_timing_is_rejected(tmp_path: Path, interval: float, task_timeout: float) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        ProcessSampler(tmp_path / "x", "r", interval=interval, task_timeout=task_timeout)


def test_sampler_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFFE_SOAK_SAMPLES", raising=False)
    assert sampler_from_env("producer", list) is None
    monkeypatch.setenv("KAFFE_SOAK_SAMPLES", str(tmp_path / "samples"))
    monkeypatch.setenv("KAFFE_SOAK_INTERVAL", "0.5")
    sampler = sampler_from_env("member-2", list)
    assert sampler is not None
    try:
        assert sampler.interval == 0.5
        assert sampler.task_timeout == 0.25
    finally:
        sampler.stop()
    lines = (tmp_path / "samples" / "member-2.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["role"] for line in lines] == ["member-2", "member-2"]
