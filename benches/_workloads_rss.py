"""Row 14 of ``benches/workloads.py``, run in a fresh interpreter so no other row's memory counts:
one consumer reads ``--messages`` messages from the beginning of ``--topic`` in a new group and
this prints one JSON line with the process's resident memory (bytes) before the consumer starts,
after ``--checkpoint`` messages, at the end, and its peak (``VmHWM``).

Clients: ``kaffe`` (``kaffe.GroupMemberSupervisor``, counting handler, kaffe's defaults except
the keys given as JSON in ``--kaffe-settings``) or ``confluent`` (reference:
``consume(num_messages=10000)`` loop).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

from _workloads_counter import Counter


def status(field: str) -> int:
    """A ``/proc/self/status`` memory field in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


class Meter(Counter):
    """Counts messages and notes RSS at the checkpoint and at the end."""

    def __init__(self, n: int, checkpoint: int) -> None:
        super().__init__(n)
        self.checkpoint = checkpoint
        self.at_checkpoint = 0
        self.at_end = 0

    def counted(self, before: int) -> None:
        """Read RSS when the checkpoint or the end is crossed."""
        if before < self.checkpoint <= self.count:
            self.at_checkpoint = status("VmRSS")
        if before < self.n <= self.count:
            self.at_end = status("VmRSS")


def run_kaffe(args: argparse.Namespace, meter: Meter) -> None:
    import kaffe

    def handle(messages: list[kaffe.Message]) -> None:
        meter.add(len(messages))

    sup = kaffe.GroupMemberSupervisor(
        endpoints=args.bootstrap,
        topics=[args.topic],
        consumer_group=f"bench-rss-{uuid.uuid4().hex[:8]}",
        message_handler=handle,
        **json.loads(args.kaffe_settings),
    )
    with sup:
        deadline = time.monotonic() + args.budget
        while not meter.done.wait(0.1) and time.monotonic() < deadline:
            pass


def run_confluent(args: argparse.Namespace, meter: Meter) -> None:
    import confluent_kafka

    c = confluent_kafka.Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": f"bench-rss-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        c.subscribe([args.topic])
        deadline = time.monotonic() + args.budget
        while not meter.done.is_set() and time.monotonic() < deadline:
            msgs = c.consume(num_messages=10_000, timeout=0.5)
            meter.add(sum(1 for m in msgs if m.error() is None))
    finally:
        c.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--client", choices=("kaffe", "confluent"), required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--checkpoint", type=int, default=100_000)
    ap.add_argument("--kaffe-settings", default='{"start_with_earliest_message": true}')
    ap.add_argument("--budget", type=float, default=120.0, help="seconds before giving up")
    args = ap.parse_args()
    if args.client == "kaffe":
        import kaffe  # noqa: F401  (imported before 'before' is read, as an application would)
    else:
        import confluent_kafka  # noqa: F401
    before = status("VmRSS")
    meter = Meter(args.messages, args.checkpoint)
    run: Any = run_kaffe if args.client == "kaffe" else run_confluent
    run(args, meter)
    with meter.lock:
        end = meter.at_end or status("VmRSS")
        seconds = meter.last - meter.first if meter.first is not None else 0.0
        timed = meter.count - meter.head  # the first delivery came before the clock started
        result = {
            "before": before,
            "checkpoint": meter.at_checkpoint or end,
            "end": end,
            "peak": status("VmHWM"),
            "count": meter.count,
            "seconds": seconds,
            "rate": timed / seconds if seconds > 0 else float("nan"),
        }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
