"""Fixtures shared by the pure tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kaffe._loop import LoopThread


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    """A running :class:`kaffe._loop.LoopThread`, stopped after the test."""
    thread = LoopThread()
    try:
        yield thread
    finally:
        thread.stop()
