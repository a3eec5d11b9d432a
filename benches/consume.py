"""Consume throughput: kaffe's batch consumer against confluent-kafka, aiokafka, kafka-python and
the Java client's own ConsumerPerformance, on one real broker started by the harness.

The topic (one partition by default, ``--partitions``) is filled once with ``--messages``
messages (default 1,000,000) of ``--size`` bytes (default 100; random uppercase letters, no
key), written by kaffe's producer. Then every client, in a fresh consumer group, reads the
whole topic from the beginning. The clock runs from the first message received to the last one
(connecting, joining the group and the first fetch are not timed, as ConsumerPerformance's
``fetch.nMsg.sec`` excludes them too); the best of ``--repeat`` rounds is reported. Rows:

* ``kaffe batch``: ``GroupMemberSupervisor`` with a ``handle_messages`` handler that counts the
  messages (every message is a ``kaffe.Message``), Kaffe's default fetch settings except
  ``rebalance_delay_ms=0`` and ``min_bytes=1``;
* ``kaffe batch tuned``: the same with ``max_bytes`` 4 MB and a prefetch of 4 MB/100k messages;
* ``confluent-kafka``: ``Consumer.consume(num_messages=10000)`` in a loop;
* ``aiokafka``: ``AIOKafkaConsumer.getmany(max_records=10000)`` in a loop;
* ``kafka-python``: ``KafkaConsumer.poll(max_records=10000)`` in a loop;
* ``java ConsumerPerformance``: ``org.apache.kafka.tools.ConsumerPerformance`` (its
  ``fetch.nMsg.sec``; it runs in a JVM).

Prints msgs/s, MB/s (payload) and kaffe's ratios. Run: ``python benches/consume.py``
(``make build`` first); ``--only`` picks clients (comma-separated row prefixes).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import string
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import kaffe
from kafka_harness.broker import LocalBroker
from kafka_harness.jars import KafkaJars, fetch
from kafka_harness.node import java

TIMEOUT_S = 600.0


@dataclass
class Result:
    client: str
    messages: int
    seconds: float
    size: int

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def mbps(self) -> float:
        return self.messages * self.size / self.seconds / 1e6


def fill(bootstrap: str, topic: str, n: int, size: int, partitions: int) -> None:
    rnd = random.Random(size)
    pool = ["".join(rnd.choices(string.ascii_uppercase, k=size)).encode() for _ in range(1000)]
    with kaffe.Producer(endpoints=bootstrap, topics=[topic], max_batch_size=1_048_576) as p:
        chunk = 50_000
        for start in range(0, n, chunk):
            batch = [(None, pool[i % 1000]) for i in range(start, min(n, start + chunk))]
            p.produce_sync(topic, (start // chunk) % partitions, batch)


class _Clock:
    """First-message-to-last-message timing shared by the Python clients."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.first: float | None = None
        self.last = 0.0

    def add(self, k: int) -> bool:
        if k and self.first is None:
            self.first = time.perf_counter()
        self.count += k
        if self.count >= self.n:
            self.last = time.perf_counter()
            return True
        return False

    @property
    def seconds(self) -> float:
        assert self.first is not None
        return self.last - self.first


# ------------------------------------------------------------------ clients


def _kaffe(bootstrap: str, topic: str, n: int, **extra: Any) -> float:
    clock = _Clock(n)
    done = threading.Event()
    lock = threading.Lock()

    def handle(messages: list[kaffe.Message]) -> None:
        with lock:
            if clock.add(len(messages)):
                done.set()

    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=f"bench-{uuid.uuid4().hex[:8]}",
        message_handler=handle,
        start_with_earliest_message=True,
        rebalance_delay_ms=0,
        min_bytes=1,
        **extra,
    )
    with sup:
        if not done.wait(TIMEOUT_S):
            raise RuntimeError(f"kaffe consumed {clock.count} of {n}")
    return clock.seconds


def kaffe_batch(bootstrap: str, topic: str, n: int) -> float:
    return _kaffe(bootstrap, topic, n)


def kaffe_tuned(bootstrap: str, topic: str, n: int) -> float:
    return _kaffe(
        bootstrap,
        topic,
        n,
        max_bytes=4_194_304,
        prefetch_bytes=4_194_304,
        prefetch_count=100_000,
    )


def confluent(bootstrap: str, topic: str, n: int) -> float:
    import confluent_kafka

    c = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
        }
    )
    clock = _Clock(n)
    try:
        c.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            msgs = c.consume(num_messages=10000, timeout=1.0)
            if clock.add(sum(1 for m in msgs if m.error() is None)):
                return clock.seconds
        raise RuntimeError(f"confluent-kafka consumed {clock.count} of {n}")
    finally:
        c.close()


def aiokafka_run(bootstrap: str, topic: str, n: int) -> float:
    import aiokafka

    async def main() -> float:
        c = aiokafka.AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"bench-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
        )
        await c.start()
        clock = _Clock(n)
        try:
            deadline = time.monotonic() + TIMEOUT_S
            while time.monotonic() < deadline:
                batches = await c.getmany(timeout_ms=1000, max_records=10000)
                if clock.add(sum(len(v) for v in batches.values())):
                    return clock.seconds
            raise RuntimeError(f"aiokafka consumed {clock.count} of {n}")
        finally:
            await c.stop()

    return asyncio.run(main())


def kafka_python_run(bootstrap: str, topic: str, n: int) -> float:
    import kafka

    c = kafka.KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    clock = _Clock(n)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            batches = c.poll(timeout_ms=1000, max_records=10000)
            if clock.add(sum(len(v) for v in batches.values())):
                return clock.seconds
        raise RuntimeError(f"kafka-python consumed {clock.count} of {n}")
    finally:
        c.close()


def java_perf(jars: KafkaJars, bootstrap: str, topic: str, n: int) -> float:
    cmd = [
        java(),
        "-Xmx1g",
        "-cp",
        jars.classpath,
        "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--messages",
        str(n),
        "--group",
        f"bench-{uuid.uuid4().hex[:8]}",
        "--timeout",
        "60000",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=True).stdout
    lines = [ln for ln in out.splitlines() if ln.strip()]
    header = next((i for i, ln in enumerate(lines) if "fetch.nMsg.sec" in ln), None)
    if header is None or header + 1 >= len(lines):
        raise RuntimeError(f"no result in ConsumerPerformance output: {out[-500:]}")
    names = [h.strip() for h in lines[header].split(",")]
    row = dict(zip(names, (v.strip() for v in lines[header + 1].split(",")), strict=False))
    consumed = int(row["data.consumed.in.nMsg"])
    return consumed / float(row["fetch.nMsg.sec"])


CLIENTS: dict[str, Callable[[str, str, int], float]] = {
    "kaffe batch": kaffe_batch,
    "kaffe batch tuned": kaffe_tuned,
    "confluent-kafka": confluent,
    "aiokafka": aiokafka_run,
    "kafka-python": kafka_python_run,
}
JAVA = "java ConsumerPerformance"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2, help="rounds; the best is reported")
    ap.add_argument("--only", default="", help="comma-separated client name prefixes")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    only = [o.strip() for o in args.only.split(",") if o.strip()]
    names = [c for c in [*CLIENTS, JAVA] if not only or any(c.startswith(o) for o in only)]

    jars = fetch()
    broker = LocalBroker(jars)
    broker.start()
    best: dict[str, Result] = {}
    try:
        bootstrap = broker.bootstrap
        topic = f"bench-{uuid.uuid4().hex[:8]}"
        broker.admin.create_topic(topic, args.partitions, 1, None)
        t0 = time.perf_counter()
        fill(bootstrap, topic, args.messages, args.size, args.partitions)
        print(
            f"filled {topic} with {args.messages:,} messages in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
        for _round in range(args.repeat):
            for name in names:
                if name == JAVA:
                    secs = java_perf(jars, bootstrap, topic, args.messages)
                else:
                    secs = CLIENTS[name](bootstrap, topic, args.messages)
                r = Result(name, args.messages, secs, args.size)
                print(f"  {name:<26} {r.rate:>12,.0f} msg/s", file=sys.stderr, flush=True)
                if name not in best or r.seconds < best[name].seconds:
                    best[name] = r
    finally:
        broker.stop()
    print_table([best[n] for n in names if n in best], args)


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    print(
        f"\nconsume throughput, {args.messages:,} messages of {args.size} B, "
        f"{args.partitions} partition(s), one local broker, best of {args.repeat}"
    )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, kaffe {kaffe.__version__}\n")
    kb = next((r for r in results if r.client == "kaffe batch"), None)
    kt = next((r for r in results if r.client == "kaffe batch tuned"), None)
    header = f"{'client':<26} {'msgs/s':>12} {'MB/s':>8}  kaffe batch / kaffe tuned vs this"
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = ""
        if kb is not None and kt is not None:
            ratio = f"{kb.rate / r.rate:>6.2f}x / {kt.rate / r.rate:>6.2f}x"
        print(f"{r.client:<26} {r.rate:>12,.0f} {r.mbps:>8.1f}  {ratio}")


if __name__ == "__main__":
    main()
