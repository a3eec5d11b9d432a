"""kaffe demo: real messages through a real broker, produced and consumed by kaffe.

1. Starts a single-node Kafka broker from the pinned Maven jars.
2. Creates the topic ``kaffe-demo`` with 6 partitions (``kaffe.AdminClient``).
3. Starts a consumer group of two ``kaffe.GroupMemberSupervisor`` members.
4. Produces a stream of messages with ``kaffe.Producer`` (Kaffe's md5 partitioner).
5. Shows progress while both run, then prints counts, throughput and per-partition lag.

Exit code 0 only if every produced message was consumed; non-zero with a clear message
otherwise (the broker's logs are then kept and their path printed).

Run with ``make demo`` or ``PYTHONPATH=tools .venv/bin/python examples/demo.py``; set
``KAFFE_DEMO_MESSAGES`` to change how many messages are sent (default 200000).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

_TOOLS = Path(__file__).resolve().parents[1] / "tools"
if str(_TOOLS) not in sys.path:
    sys.path.insert(0, str(_TOOLS))

import kaffe  # noqa: E402
from kaffe.admin import NewTopic  # noqa: E402
from kafka_harness.broker import LocalBroker  # noqa: E402
from kafka_harness.jars import fetch  # noqa: E402

TOPIC = "kaffe-demo"
GROUP = "kaffe-demo-group"
PARTITIONS = 6
MESSAGES = int(os.environ.get("KAFFE_DEMO_MESSAGES", "200000"))
BATCH = 2000
DEADLINE_S = 300.0


class Member:
    """One group member's handler: counts what it consumed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.seen: set[int] = set()
        self.messages = 0
        self.per_partition: Counter[int] = Counter()
        self.assigned: list[int] = []

    def handle_messages(self, messages: list[kaffe.Message]) -> None:
        """Record every message of the batch; returning None commits after the last one."""
        with self.lock:
            for m in messages:
                self.seen.add(int(m.value or b"-1"))
            self.messages += len(messages)
            self.per_partition[messages[0].partition] += len(messages)

    def on_assigned(self, partitions: list[tuple[str, int]]) -> None:
        """Remember which partitions the group gave this member."""
        self.assigned = sorted(p for _, p in partitions)
        print(f"  {self.name} was assigned partitions {self.assigned}", flush=True)


def _produce(bootstrap: str, sent: list[int], failure: list[BaseException]) -> None:
    try:
        with kaffe.Producer(endpoints=bootstrap, topics=[TOPIC]) as producer:
            for start in range(0, MESSAGES, BATCH):
                batch = [(f"key-{i}", str(i)) for i in range(start, min(MESSAGES, start + BATCH))]
                producer.produce_sync(TOPIC, batch)
                sent[0] += len(batch)
    except BaseException as exc:
        failure.append(exc)


def run() -> bool:
    """The whole demo; returns whether every message was consumed."""
    broker = LocalBroker(fetch())
    ok = False
    try:
        broker.start()
        bootstrap = broker.bootstrap
        print(f"Kafka {broker.version} is up at {bootstrap}")
        with kaffe.AdminClient(endpoints=bootstrap) as admin:
            admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
        print(f"created topic {TOPIC} with {PARTITIONS} partitions")

        members = [Member("member-a"), Member("member-b")]
        sups = [
            kaffe.GroupMemberSupervisor(
                endpoints=bootstrap,
                topics=[TOPIC],
                consumer_group=GROUP,
                message_handler=m,
                subscriber_name=m.name,
                start_with_earliest_message=True,
                rebalance_delay_ms=0,
                min_bytes=1,
                max_wait_time=500,
                session_timeout_seconds=10,
                heartbeat_rate_seconds=1,
                offset_commit_interval_seconds=1,
            )
            for m in members
        ]
        for sup in sups:
            sup.start()
        print("two group members started; waiting for the group to settle")
        settle = time.monotonic() + 60
        while sum(len(s.assignment()) for s in sups) < PARTITIONS:
            if time.monotonic() > settle:
                raise RuntimeError("the group did not assign all partitions within 60 s")
            time.sleep(0.1)

        sent = [0]
        failure: list[BaseException] = []
        t0 = time.monotonic()
        producer = threading.Thread(target=_produce, args=(bootstrap, sent, failure), daemon=True)
        producer.start()
        produced_at: float | None = None
        deadline = t0 + DEADLINE_S
        last_print = 0.0
        while True:
            consumed = sum(len(m.seen) for m in members)
            now = time.monotonic()
            if produced_at is None and not producer.is_alive():
                produced_at = now
            if now - last_print >= 0.5:
                last_print = now
                shares = ", ".join(f"{m.name} {m.messages}" for m in members)
                print(
                    f"  {now - t0:6.1f} s  produced {sent[0]:>8}  consumed {consumed:>8}  "
                    f"({shares})",
                    flush=True,
                )
            if failure:
                raise RuntimeError(f"producing failed: {failure[0]!r}")
            if produced_at is not None and consumed >= MESSAGES:
                break
            if now > deadline:
                break
            time.sleep(0.05)
        consumed_at = time.monotonic()
        for sup in sups:
            sup.stop()  # commits the final offsets

        with kaffe.AdminClient(endpoints=bootstrap) as admin:
            committed = admin.list_group_offsets(GROUP, [TOPIC])
            ends = admin.list_offsets(TOPIC)
        seen = set().union(*(m.seen for m in members))
        missing = MESSAGES - len(seen & set(range(MESSAGES)))
        produce_s = (produced_at or consumed_at) - t0
        consume_s = consumed_at - t0
        print()
        print(
            f"produced {sent[0]} messages in {produce_s:.2f} s ({sent[0] / produce_s:,.0f} msg/s)"
        )
        print(
            f"consumed {len(seen)} distinct messages in {consume_s:.2f} s "
            f"({len(seen) / consume_s:,.0f} msg/s)"
        )
        for m in members:
            print(f"  {m.name}: {m.messages} messages from partitions {m.assigned}")
        print("per-partition end offset, committed offset and lag:")
        for p in range(PARTITIONS):
            end = ends[p].offset
            com = committed[(TOPIC, p)].offset if (TOPIC, p) in committed else -1
            print(f"  partition {p}: end {end:>7}  committed {com:>7}  lag {end - max(com, 0):>5}")
        ok = missing == 0 and sent[0] == MESSAGES
        if not ok:
            print(f"MISSING {missing} of {MESSAGES} messages", file=sys.stderr)
        return ok
    finally:
        broker.stop()
        if ok:
            broker.remove_run_dir()
        else:
            print(f"broker logs kept in {broker.run_dir}", file=sys.stderr)


def main() -> int:
    """Entry point; returns the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        ok = run()
    except Exception as exc:
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if not ok:
        return 1
    print("demo finished: every message was consumed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
