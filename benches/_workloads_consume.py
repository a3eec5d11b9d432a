"""Consume workloads (rows 9-14 of ``benches/workloads.py``): kaffe's group consumers against
confluent-kafka ``consume()``, aiokafka ``getmany()`` and kafka-python ``poll()`` loops, on topics
pre-loaded once; plus the consumer's memory over 1,000,000 messages (in a subprocess)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kaffe
from _workloads_common import (
    KEYS,
    POOL,
    THROUGHPUT,
    Bench,
    Client,
    Goal,
    Metric,
    Row,
    Sample,
    capped_note,
    payloads,
    progress,
    run_row,
)
from _workloads_counter import Counter

JOIN_TIMEOUT_S = 60.0
WITH_JOIN = Metric("msg/s incl. join", True)
BATCH = 10_000


def _backlog_settings() -> dict[str, Any]:
    settings: dict[str, Any] = {"start_with_earliest_message": True}
    try:  # CONSUMER_KEYS is kaffe.group_member's public table of keys and defaults
        from kaffe.group_member import CONSUMER_KEYS

        delay = CONSUMER_KEYS["rebalance_delay_ms"].default
    except (ImportError, KeyError, AttributeError):
        delay = None
    if delay != 0:
        settings["rebalance_delay_ms"] = 0
    return settings


KAFFE_NON_DEFAULTS = _backlog_settings()
"""What kaffe's consumers change from their defaults in the throughput rows: a new group must
read the pre-loaded backlog (``start_with_earliest_message``), and if kaffe still waits before
using its first assignment (``rebalance_delay_ms``, Kaffe's 10 s), that wait is set to 0: it only
costs wall time."""


def preload(bench: Bench, topic: str, messages: int, compression: str = "none") -> float:
    """Fill ``topic`` with keyed 100-byte messages through confluent-kafka; returns seconds."""
    import confluent_kafka

    vals = payloads(100)
    conf: dict[str, Any] = {"bootstrap.servers": bench.bootstrap, "linger.ms": 20}
    if compression != "none":
        conf["compression.type"] = compression
    p = confluent_kafka.Producer(conf)
    t0 = time.perf_counter()
    for i in range(messages):
        while True:
            try:
                p.produce(topic, vals[i % POOL], KEYS[i % POOL])
                break
            except BufferError:
                p.poll(0.05)
        if i % 1000 == 0:
            p.poll(0)
    if p.flush(300):
        raise RuntimeError(f"pre-loading {topic}: messages not delivered")
    return time.perf_counter() - t0


class Clock(Counter):
    """First-delivery-to-last-delivery timing (joining the group is timed only in 'incl.
    join'), with a budget counted from the first delivery."""

    def __init__(self, n: int, budget_s: float) -> None:
        super().__init__(n)
        self.budget_s = budget_s

    def finished(self) -> bool:
        """All messages arrived, or the budget is used up (raises if nothing ever came)."""
        if self.done.is_set():
            return True
        now = time.perf_counter()
        if self.first is None:
            if now - self.started > JOIN_TIMEOUT_S:
                raise TimeoutError(f"no message within {JOIN_TIMEOUT_S:.0f} s of starting")
            return False
        return now - self.first > self.budget_s

    def sample(self) -> Sample:
        """msg/s from the first delivery to the last, not counting the first delivery's
        messages (they were fetched before the clock started)."""
        with self.lock:
            if self.first is None or self.last <= self.first:
                raise RuntimeError(f"too few deliveries to time ({self.count} messages)")
            seconds = self.last - self.first
            note = "" if self.count >= self.n else capped_note(self.count, self.n, seconds, "read")
            values = {
                THROUGHPUT.name: (self.count - self.head) / seconds,
                WITH_JOIN.name: self.count / (self.last - self.started),
            }
            return Sample(values, note=note)


def _wait(clock: Clock) -> Sample:
    while not clock.finished():
        clock.done.wait(0.05)
    return clock.sample()


@contextlib.contextmanager
def kaffe_endpoints(bench: Bench, tls: bool) -> Iterator[dict[str, Any]]:
    """kaffe's connection keys: the PLAINTEXT bootstrap, or the Heroku variables for TLS."""
    if tls:
        with bench.heroku_env():
            yield {"heroku_kafka_env": True}
    else:
        yield {"endpoints": bench.bootstrap}


# ------------------------------------------------------------------ clients


def kaffe_gms(bench: Bench, topics: list[str], n: int, tls: bool, **extra: Any) -> Sample:
    """``kaffe.GroupMemberSupervisor`` with a handler that counts the messages."""
    clock = Clock(n, bench.budget_s)

    def handle(messages: list[kaffe.Message]) -> None:
        clock.add(len(messages))

    with kaffe_endpoints(bench, tls) as conn:
        sup = kaffe.GroupMemberSupervisor(
            **conn,
            topics=topics,
            consumer_group=bench.group(),
            message_handler=handle,
            **KAFFE_NON_DEFAULTS,
            **extra,
        )
        with sup:
            return _wait(clock)


def kaffe_aio_gms(bench: Bench, topics: list[str], n: int, tls: bool, **extra: Any) -> Sample:
    """``kaffe.aio.GroupMemberSupervisor`` with a coroutine handler that counts."""
    clock = Clock(n, bench.budget_s)

    async def handle(messages: list[kaffe.Message]) -> None:
        clock.add(len(messages))

    async def main(conn: dict[str, Any]) -> Sample:
        sup = kaffe.aio.GroupMemberSupervisor(
            **conn,
            topics=topics,
            consumer_group=bench.group(),
            message_handler=handle,
            **KAFFE_NON_DEFAULTS,
            **extra,
        )
        async with sup:
            while not clock.finished():
                await asyncio.sleep(0.05)
            return clock.sample()

    with kaffe_endpoints(bench, tls) as conn:
        return asyncio.run(main(conn))


def confluent_consume(bench: Bench, topics: list[str], n: int, tls: bool) -> Sample:
    """``Consumer.consume(num_messages=10000)`` in a loop, librdkafka's defaults."""
    import confluent_kafka

    conf: dict[str, Any] = bench.confluent_ssl() if tls else {"bootstrap.servers": bench.bootstrap}
    conf.update({"group.id": bench.group(), "auto.offset.reset": "earliest"})
    clock = Clock(n, bench.budget_s)
    c = confluent_kafka.Consumer(conf)
    try:
        c.subscribe(topics)
        while not clock.finished():
            msgs = c.consume(num_messages=BATCH, timeout=0.5)
            clock.add(sum(1 for m in msgs if m.error() is None))
        return clock.sample()
    finally:
        c.close()


def aiokafka_getmany(bench: Bench, topics: list[str], n: int, tls: bool) -> Sample:
    """``AIOKafkaConsumer.getmany(max_records=10000)`` in a loop, aiokafka's defaults."""
    import aiokafka  # type: ignore[import-untyped]

    async def main() -> Sample:
        clock = Clock(n, bench.budget_s)
        c = aiokafka.AIOKafkaConsumer(
            *topics,
            **bench.python_client_conn(tls),
            group_id=bench.group(),
            auto_offset_reset="earliest",
        )
        await c.start()
        try:
            while not clock.finished():
                batches = await c.getmany(timeout_ms=500, max_records=BATCH)
                clock.add(sum(len(v) for v in batches.values()))
            return clock.sample()
        finally:
            await c.stop()

    return asyncio.run(main())


def kafka_python_poll(bench: Bench, topics: list[str], n: int, tls: bool) -> Sample:
    """``KafkaConsumer.poll(max_records=10000)`` in a loop (reference)."""
    import kafka  # type: ignore[import-untyped]

    clock = Clock(n, bench.budget_s)
    c = kafka.KafkaConsumer(
        *topics,
        **bench.python_client_conn(tls),
        group_id=bench.group(),
        auto_offset_reset="earliest",
    )
    try:
        while not clock.finished():
            batches = c.poll(timeout_ms=500, max_records=BATCH)
            clock.add(sum(len(v) for v in batches.values()))
        return clock.sample()
    finally:
        c.close()


# ------------------------------------------------------------------ the rows

KG = "kaffe GroupMemberSupervisor"
KA = "kaffe.aio GroupMemberSupervisor"
CC = "confluent-kafka consume()"
AK = "aiokafka getmany()"
KP = "kafka-python poll()"

ConsumeFn = Callable[[Bench, list[str], int, bool], Sample]


@dataclass
class TopicPlan:
    """A pre-loaded topic: partitions, messages, compression; its name once created."""

    partitions: int
    messages: int
    compression: str = "none"
    name: str = ""


@dataclass
class ConsumeRow:
    """A consume row: the topics it reads and which function measures each client."""

    row: Row
    plans: list[TopicPlan]
    runs: dict[str, ConsumeFn] = field(default_factory=dict)
    tls: bool = False

    @property
    def messages(self) -> int:
        """Messages in the row's topics together."""
        return sum(p.messages for p in self.plans)


def _consume_row(
    rid: str,
    title: str,
    plans: list[TopicPlan],
    *,
    tls: bool = False,
    extra: dict[str, Any] | None = None,
    references: list[str] | None = None,
) -> ConsumeRow:
    kaffe_extra = extra or {}
    clients = [Client(KG, kaffe=True), Client(KA, kaffe=True), Client(CC), Client(AK)]
    clients.append(Client(KP, reference_only=True))
    goals = []
    for k in (KG, KA):
        goals.append(Goal((k, THROUGHPUT.name), (CC, THROUGHPUT.name), 1.5, True))
        goals.append(Goal((k, THROUGHPUT.name), (AK, THROUGHPUT.name), 3.0, True))
    total = sum(p.messages for p in plans)
    shape = (
        f"{len(plans)} topics x {plans[0].partitions} partitions"
        if len(plans) > 1
        else f"{plans[0].partitions} partition(s)"
    )
    settings = ", ".join(f"{k}={v!r}" for k, v in {**KAFFE_NON_DEFAULTS, **kaffe_extra}.items())
    details = [
        f"{total:,} keyed 100 B messages pre-loaded in {shape}; a fresh group per run reads "
        "them all; msg/s: from the first delivery to the last (the first delivery's messages "
        "not counted); 'incl. join': from creating the client to the last message",
        f"kaffe non-default settings: {settings}",
        "peers: auto.offset.reset earliest, otherwise their defaults; kafka-python is a "
        "reference (no goal)",
    ]
    if tls:
        details.append(
            "TLS with client certificates: kaffe heroku_kafka_env=True; peers security "
            "protocol SSL with the same CA and client certificate"
        )
    row = Row(rid, title, [THROUGHPUT, WITH_JOIN], clients, goals, details, references or [])
    runs: dict[str, ConsumeFn] = {
        KG: functools.partial(kaffe_gms, **kaffe_extra),
        KA: functools.partial(kaffe_aio_gms, **kaffe_extra),
        CC: confluent_consume,
        AK: aiokafka_getmany,
        KP: kafka_python_poll,
    }
    return ConsumeRow(row, plans, runs, tls)


def consume_rows(quick: bool) -> list[ConsumeRow]:
    """Rows 9-13 (throughput)."""
    n = 300_000 // (10 if quick else 1)
    return [
        _consume_row(
            "9",
            "GroupMemberSupervisor (kaffe defaults, counting handler), 8 partitions",
            [TopicPlan(8, n)],
            references=[
                "brod_group_subscriber_v2 consuming 8 partitions: 316k-340k msg/s",
                "earlier run: kaffe 22k-120k msg/s, confluent-kafka 137k-446k msg/s; "
                "vs aiokafka getmany(): kaffe 70k-121k, aiokafka 274k msg/s",
            ],
        ),
        _consume_row(
            "10",
            "the same, 1 partition",
            [TopicPlan(1, n)],
            references=["earlier run: kaffe ~1,000,000 msg/s, confluent-kafka ~237,000 msg/s"],
        ),
        _consume_row("11", "the same, 24 partitions", [TopicPlan(24, n)]),
        _consume_row(
            "12",
            "4 topics x 6 partitions, worker_allocation_strategy='worker_per_partition'",
            [TopicPlan(6, n // 4) for _ in range(4)],
            extra={"worker_allocation_strategy": "worker_per_partition"},
        ),
        _consume_row(
            "13",
            "GroupMemberSupervisor over TLS with client certificates (Heroku env), 6 partitions",
            [TopicPlan(6, n)],
            tls=True,
            references=[
                "earlier run: kaffe 8.8k-27k msg/s, confluent-kafka 215k msg/s "
                "(1 partition over TLS: kaffe 830k msg/s)"
            ],
        ),
    ]


def prepare(bench: Bench, plans: list[TopicPlan]) -> None:
    """Create and fill the topics of ``plans`` (once; repeats reuse them)."""
    for plan in plans:
        if plan.name:
            continue
        plan.name = bench.topic(plan.partitions)
        secs = preload(bench, plan.name, plan.messages, plan.compression)
        progress(
            f"pre-loaded {plan.name}: {plan.messages:,} messages, {plan.partitions} partitions, "
            f"{plan.compression}, {secs:.1f} s"
        )


def run_consume_row(bench: Bench, cr: ConsumeRow) -> None:
    """Every client ``bench.repeat`` times, interleaved, each run in a fresh group."""
    prepare(bench, cr.plans)
    topics = [p.name for p in cr.plans]
    try:
        run_row(
            cr.row, bench.repeat, lambda name: cr.runs[name](bench, topics, cr.messages, cr.tls)
        )
    finally:
        bench.delete(*topics)


# ------------------------------------------------------------------ row 14: memory

RSS_SCRIPT = Path(__file__).resolve().parent / "_workloads_rss.py"
FLAT_MB = 20.0
GROWTH_MB = 150.0
RSS_METRICS = [
    Metric("before MB", False),
    Metric("peak MB", False),
    Metric("growth MB", False),
    Metric("at 100k MB", False),
    Metric("end MB", False),
    Metric("growth after 100k MB", False),
    THROUGHPUT,
]


def rss_row(quick: bool) -> tuple[Row, TopicPlan]:
    """Row 14: peak RSS of a consumer process reading 1,000,000 lz4 messages, 8 partitions."""
    plan = TopicPlan(8, 1_000_000 // (10 if quick else 1), "lz4")
    kg = "kaffe GroupMemberSupervisor"
    cc = "confluent-kafka consume()"
    row = Row(
        "14",
        f"consumer RSS while a group consumes {plan.messages:,} messages in 8 partitions (lz4)",
        RSS_METRICS,
        [Client(kg, kaffe=True), Client(cc, reference_only=True)],
        [
            Goal(
                (kg, "growth MB"),
                GROWTH_MB,
                1.0,
                False,
                f"{kg} growth MB (peak - before) <= {GROWTH_MB:.0f} MB",
            ),
            Goal(
                (kg, "growth after 100k MB"),
                FLAT_MB,
                1.0,
                False,
                f"{kg} RSS at the end - RSS after 100k <= {FLAT_MB:.0f} MB (flat)",
            ),
        ],
        [
            "one fresh process per run (sys.executable benches/_workloads_rss.py): RSS before = "
            "after importing the client, before it starts; peak = VmHWM; 'growth after 100k' = "
            f"end - at 100k (flat means <= {FLAT_MB:.0f} MB)",
            f"kaffe non-default settings: {KAFFE_NON_DEFAULTS}; confluent-kafka (reference, "
            "consume(num_messages=10000) loop) for comparison",
        ],
        ["earlier run: kaffe +366 MB (83 -> 449 MB)"],
    )
    return row, plan


def rss_run(bench: Bench, client: str, topic: str, n: int) -> Sample:
    """One measurement in a fresh interpreter; parses its JSON line."""
    cmd = [
        sys.executable,
        str(RSS_SCRIPT),
        "--client",
        client,
        "--bootstrap",
        bench.bootstrap,
        "--topic",
        topic,
        "--messages",
        str(n),
        "--checkpoint",
        str(min(100_000, n // 10)),
        "--budget",
        str(max(60.0, bench.budget_s * 4)),
        "--kaffe-settings",
        json.dumps(KAFFE_NON_DEFAULTS),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"exit {proc.returncode}: {(proc.stderr or proc.stdout)[-300:]}")
    r = json.loads(lines[-1])
    mb = 1024 * 1024
    values = {
        "before MB": r["before"] / mb,
        "peak MB": r["peak"] / mb,
        "growth MB": (r["peak"] - r["before"]) / mb,
        "at 100k MB": r["checkpoint"] / mb,
        "end MB": r["end"] / mb,
        "growth after 100k MB": (r["end"] - r["checkpoint"]) / mb,
        THROUGHPUT.name: r["rate"],
    }
    note = "" if r["count"] >= n else capped_note(r["count"], n, r["seconds"], "read")
    return Sample(values, note=note)


def run_rss_row(bench: Bench, row: Row, plan: TopicPlan) -> None:
    """Row 14, ``bench.repeat`` runs per client, interleaved."""
    prepare(bench, [plan])
    which = {row.clients[0].name: "kaffe", row.clients[1].name: "confluent"}
    try:
        run_row(
            row, bench.repeat, lambda name: rss_run(bench, which[name], plan.name, plan.messages)
        )
    finally:
        bench.delete(plan.name)
