"""The message counter shared by the consume rows and the memory subprocess of
``benches/workloads.py`` (standard library only, so the subprocess measures little besides
the client)."""

from __future__ import annotations

import threading
import time


class Counter:
    """Counts messages delivered from any thread: when the first and the last delivery came,
    how many the first one carried, and ``done`` once ``n`` have arrived."""

    def __init__(self, n: int) -> None:
        self.started = time.perf_counter()  # made just before the client: joining counts here
        self.n = n
        self.count = 0
        self.first: float | None = None
        self.head = 0  # messages of the first delivery: they arrived before the clock started
        self.last = 0.0
        self.lock = threading.Lock()
        self.done = threading.Event()

    def add(self, k: int) -> None:
        """Count ``k`` messages that just arrived (thread-safe)."""
        if not k:
            return
        with self.lock:
            now = time.perf_counter()
            if self.first is None:
                self.first = now
                self.head = k
            before = self.count
            self.count += k
            self.last = now
            self.counted(before)
            if before < self.n <= self.count:
                self.done.set()

    def counted(self, before: int) -> None:
        """Called under the lock after each delivery (``before`` = the count before it)."""
