"""Produce workloads (rows 1-8 of ``benches/workloads.py``): kaffe's public producer API against
confluent-kafka, aiokafka and kafka-python, each used as its documentation recommends."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import kaffe
from _workloads_common import (
    KEYS,
    POOL,
    THROUGHPUT,
    Bench,
    Budget,
    Client,
    Goal,
    Metric,
    Row,
    Sample,
    accepts_keyword,
    capped_note,
    payloads,
    percentile,
    run_row,
)

CHECK_EVERY = 512  # messages between two looks at the clock


@dataclass(frozen=True)
class Spec:
    """What one produce row sends."""

    partitions: int
    messages: int
    size: int = 100
    compression: str = "none"
    tls: bool = False


RunFn = Callable[[Bench, str, Spec], Sample]


def _rate(sent: int, wanted: int, seconds: float, budget: Budget) -> Sample:
    note = capped_note(sent, wanted, seconds, "sent") if sent < wanted else ""
    return Sample({THROUGHPUT.name: sent / seconds}, note=note)


# ------------------------------------------------------------------ kaffe


@contextlib.contextmanager
def kaffe_producer(bench: Bench, topic: str, spec: Spec, **extra: Any) -> Iterator[kaffe.Producer]:
    """A started sync producer with kaffe's defaults (plus the row's compression / TLS)."""
    cfg: dict[str, Any] = {"topics": [topic], **extra}
    if spec.compression != "none":
        cfg["compression"] = spec.compression
    if spec.tls:
        with bench.heroku_env(), kaffe.Producer(heroku_kafka_env=True, **cfg) as p:
            yield p
    else:
        with kaffe.Producer(endpoints=bench.bootstrap, **cfg) as p:
            yield p


def sync_future_kw() -> bool:
    """Whether the sync ``Producer.produce_async`` takes ``future=False``."""
    return accepts_keyword(kaffe.Producer.produce_async, "future")


def aio_future_kw() -> bool:
    """Whether ``kaffe.aio.Producer.produce_async`` takes ``future=False``."""
    return accepts_keyword(kaffe.aio.Producer.produce_async, "future")


def kaffe_per_message(bench: Bench, topic: str, spec: Spec, with_future: bool = False) -> Sample:
    """``produce_async(topic, key, value[, future=False])`` per message, then ``flush()``;
    ``with_future``: the default call, one future per message."""
    vals = payloads(spec.size)
    n = spec.messages
    no_future = sync_future_kw() and not with_future
    with kaffe_producer(bench, topic, spec) as p:
        send = p.produce_async
        budget = Budget(bench.budget_s)
        t0 = time.perf_counter()
        i = 0
        while i < n and not budget.over():
            end = min(n, i + CHECK_EVERY)
            if no_future:
                for j in range(i, end):
                    send(topic, KEYS[j % POOL], vals[j % POOL], future=False)
            else:
                for j in range(i, end):
                    send(topic, KEYS[j % POOL], vals[j % POOL])
            i = end
        p.flush()
        return _rate(i, n, time.perf_counter() - t0, budget)


def kaffe_lists(bench: Bench, topic: str, spec: Spec, per_call: int | None) -> Sample:
    """``produce_sync(topic, list)`` with lists of ``per_call`` keyed messages (``None``: one
    list of them all)."""
    vals = payloads(spec.size)
    n = spec.messages
    per_call = per_call or n
    with kaffe_producer(bench, topic, spec) as p:
        lists = [
            [(KEYS[j % POOL], vals[j % POOL]) for j in range(i, min(n, i + per_call))]
            for i in range(0, n, per_call)
        ]
        budget = Budget(bench.budget_s)
        t0 = time.perf_counter()
        sent = 0
        for messages in lists:
            p.produce_sync(topic, messages)
            sent += len(messages)
            if budget.over():
                break
        return _rate(sent, n, time.perf_counter() - t0, budget)


def kaffe_aio_per_message(
    bench: Bench, topic: str, spec: Spec, with_future: bool = False
) -> Sample:
    """``await kaffe.aio.Producer.produce_async(topic, key, value[, future=False])`` per
    message, then ``await flush()``; ``with_future``: the default call, futures kept."""
    vals = payloads(spec.size)
    n = spec.messages
    no_future = aio_future_kw() and not with_future

    async def main() -> Sample:
        async with kaffe.aio.Producer(endpoints=bench.bootstrap, topics=[topic]) as p:
            send = p.produce_async
            budget = Budget(bench.budget_s)
            t0 = time.perf_counter()
            i = 0
            futures: list[Any] = []
            while i < n and not budget.over():
                end = min(n, i + CHECK_EVERY)
                if no_future:
                    for j in range(i, end):
                        await send(topic, KEYS[j % POOL], vals[j % POOL], future=False)
                else:
                    for j in range(i, end):
                        futures.append(await send(topic, KEYS[j % POOL], vals[j % POOL]))
                i = end
            await p.flush()
            if futures:
                await asyncio.gather(*futures)
            return _rate(i, n, time.perf_counter() - t0, budget)

    return asyncio.run(main())


# ------------------------------------------------------------------ peers


def confluent_conf(bench: Bench, spec: Spec) -> dict[str, Any]:
    """librdkafka's defaults plus the row's compression / TLS."""
    conf: dict[str, Any] = (
        bench.confluent_ssl() if spec.tls else {"bootstrap.servers": bench.bootstrap}
    )
    if spec.compression != "none":
        conf["compression.type"] = spec.compression
    return conf


def confluent_per_message(bench: Bench, topic: str, spec: Spec) -> Sample:
    """``produce()`` + ``poll(0)`` per message, then ``flush()`` (librdkafka's documented
    loop; a full local queue is served with ``poll``)."""
    import confluent_kafka

    vals = payloads(spec.size)
    n = spec.messages
    p = confluent_kafka.Producer(confluent_conf(bench, spec))
    p.list_topics(topic, timeout=30)
    produce, poll = p.produce, p.poll
    budget = Budget(bench.budget_s)
    t0 = time.perf_counter()
    i = 0
    while i < n and not budget.over():
        for j in range(i, min(n, i + CHECK_EVERY)):
            while True:
                try:
                    produce(topic, vals[j % POOL], KEYS[j % POOL])
                    break
                except BufferError:
                    poll(0.01)
            poll(0)
        i = min(n, i + CHECK_EVERY)
    left = p.flush(120)
    elapsed = time.perf_counter() - t0
    if left:
        raise RuntimeError(f"confluent-kafka: {left} messages not delivered")
    return _rate(i, n, elapsed, budget)


def confluent_lists_flushed(bench: Bench, topic: str, spec: Spec) -> Sample:
    """For reference beside ``produce_sync`` of lists: ``produce()`` 100 messages, then
    ``flush()``, list after list (the same wait-for-acknowledgement pattern)."""
    import confluent_kafka

    vals = payloads(spec.size)
    n = spec.messages
    p = confluent_kafka.Producer(confluent_conf(bench, spec))
    p.list_topics(topic, timeout=30)
    produce, flush = p.produce, p.flush
    budget = Budget(bench.budget_s)
    t0 = time.perf_counter()
    i = 0
    while i < n and not budget.over():
        for j in range(i, min(n, i + 100)):
            produce(topic, vals[j % POOL], KEYS[j % POOL])
        if flush(60):
            raise RuntimeError("confluent-kafka: messages not delivered")
        i = min(n, i + 100)
    return _rate(i, n, time.perf_counter() - t0, budget)


def aiokafka_per_message(bench: Bench, topic: str, spec: Spec) -> Sample:
    """``await send()`` per message, the returned futures awaited at the end."""
    import aiokafka  # type: ignore[import-untyped]

    vals = payloads(spec.size)
    n = spec.messages

    async def main() -> Sample:
        p = aiokafka.AIOKafkaProducer(bootstrap_servers=bench.bootstrap)
        await p.start()
        try:
            await p.partitions_for(topic)
            budget = Budget(bench.budget_s)
            t0 = time.perf_counter()
            futures = []
            i = 0
            while i < n and not budget.over():
                for j in range(i, min(n, i + CHECK_EVERY)):
                    futures.append(await p.send(topic, vals[j % POOL], key=KEYS[j % POOL]))
                i = min(n, i + CHECK_EVERY)
            await asyncio.gather(*futures)
            return _rate(i, n, time.perf_counter() - t0, budget)
        finally:
            await p.stop()

    return asyncio.run(main())


def kafka_python_per_message(bench: Bench, topic: str, spec: Spec) -> Sample:
    """``send()`` per message, then ``flush()``."""
    import kafka  # type: ignore[import-untyped]

    vals = payloads(spec.size)
    n = spec.messages
    p = kafka.KafkaProducer(bootstrap_servers=bench.bootstrap)
    try:
        p.partitions_for(topic)
        budget = Budget(bench.budget_s)
        t0 = time.perf_counter()
        i = 0
        while i < n and not budget.over():
            for j in range(i, min(n, i + CHECK_EVERY)):
                p.send(topic, value=vals[j % POOL], key=KEYS[j % POOL])
            i = min(n, i + CHECK_EVERY)
        p.flush(120)
        return _rate(i, n, time.perf_counter() - t0, budget)
    finally:
        p.close(10)


# ------------------------------------------------------------------ latency (row 8)

LAT_P50 = Metric("p50 ms", False)
LAT_P99 = Metric("p99 ms", False)
LAT_MAX = Metric("max ms", False)


def _latency_sample(times: list[float], wanted: int, budget: Budget) -> Sample:
    ms = [t * 1000 for t in times]
    note = capped_note(len(ms), wanted, sum(times), "calls") if len(ms) < wanted else ""
    return Sample(
        {
            LAT_P50.name: percentile(ms, 0.50),
            LAT_P99.name: percentile(ms, 0.99),
            LAT_MAX.name: max(ms),
        },
        note=note,
    )


def _timed_calls(call: Callable[[int], Any], n: int, budget_s: float) -> Sample:
    """Time ``call(i)`` for i in 0..n-1 (within the budget) one by one."""
    budget = Budget(budget_s)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - t0)
        if budget.over():
            break
    return _latency_sample(times, n, budget)


def kaffe_one_sync(bench: Bench, topic: str, spec: Spec) -> Sample:
    """``produce_sync(topic, key, value)``: one message per call, acks=all (the default)."""
    vals = payloads(spec.size)
    with kaffe_producer(bench, topic, spec) as p:
        p.produce_sync(topic, KEYS[0], vals[0])  # connect to the leader outside the clock
        return _timed_calls(
            lambda i: p.produce_sync(topic, KEYS[i % POOL], vals[i % POOL]),
            spec.messages,
            bench.budget_s,
        )


def confluent_one_flush(bench: Bench, topic: str, spec: Spec) -> Sample:
    """``produce()`` + ``flush()`` per message (acks=all is librdkafka's default)."""
    import confluent_kafka

    vals = payloads(spec.size)
    p = confluent_kafka.Producer(confluent_conf(bench, spec))
    p.list_topics(topic, timeout=30)

    def one(i: int) -> None:
        p.produce(topic, vals[i % POOL], KEYS[i % POOL])
        if p.flush(30):
            raise RuntimeError("confluent-kafka: a message was not delivered within 30 s")

    one(0)  # connect to the leader outside the clock
    return _timed_calls(one, spec.messages, bench.budget_s)


def aiokafka_send_and_wait(bench: Bench, topic: str, spec: Spec) -> Sample:
    """``await send_and_wait()`` per message with ``acks="all"`` (aiokafka's default is 1)."""
    import aiokafka

    vals = payloads(spec.size)

    async def main() -> Sample:
        p = aiokafka.AIOKafkaProducer(bootstrap_servers=bench.bootstrap, acks="all")
        await p.start()
        try:
            await p.send_and_wait(topic, vals[0], key=KEYS[0])
            budget = Budget(bench.budget_s)
            times = []
            for i in range(spec.messages):
                t0 = time.perf_counter()
                await p.send_and_wait(topic, vals[i % POOL], key=KEYS[i % POOL])
                times.append(time.perf_counter() - t0)
                if budget.over():
                    break
            return _latency_sample(times, spec.messages, budget)
        finally:
            await p.stop()

    return asyncio.run(main())


# ------------------------------------------------------------------ the rows

CONFLUENT = "confluent-kafka produce()+poll(0)"
KAFKA_PYTHON = "kafka-python send()"
AIOKAFKA = "aiokafka send()"


@dataclass
class ProduceRow:
    """A produce row: what it sends and which function measures each client."""

    row: Row
    spec: Spec
    runs: dict[str, RunFn]


def _per_message_name() -> str:
    return (
        "kaffe produce_async(future=False)" if sync_future_kw() else "kaffe produce_async (future)"
    )


def _aio_name() -> str:
    return (
        "kaffe.aio produce_async(future=False)"
        if aio_future_kw()
        else "kaffe.aio produce_async (future)"
    )


def _throughput_row(
    rid: str,
    title: str,
    spec: Spec,
    runs: dict[str, RunFn],
    factor: float = 1.0,
    details: tuple[str, ...] = (),
    references: tuple[str, ...] = (),
) -> ProduceRow:
    """A msg/s row; the first client is kaffe, the goal is kaffe >= ``factor`` x the second."""
    names = list(runs)
    line = (
        f"{spec.messages:,} messages x {spec.size} B per run, keys b'key-%d' % (i % 1000), "
        f"{spec.partitions} partitions, compression {spec.compression}"
        + (", TLS with client certificates" if spec.tls else "")
    )
    row = Row(
        rid,
        title,
        [THROUGHPUT],
        [Client(names[0], kaffe=True), *(Client(n) for n in names[1:])],
        [Goal((names[0], THROUGHPUT.name), (names[1], THROUGHPUT.name), factor, True)],
        [line, *details],
        list(references),
    )
    return ProduceRow(row, spec, runs)


def produce_rows(quick: bool) -> list[ProduceRow]:
    """Rows 1-8. ``quick`` shrinks the counts (for trying the bench out)."""
    scale = 10 if quick else 1
    n100 = 200_000 // scale
    per = _per_message_name()
    aio = _aio_name()
    sync_variant = (
        "kaffe row: produce_async(topic, key, value, future=False) (no per-call future; "
        "errors surface in flush())"
        if sync_future_kw()
        else "kaffe row: produce_async(topic, key, value) returning a future per call "
        "(this kaffe has no future=False)"
    )
    aio_variant = (
        "kaffe.aio row: await produce_async(topic, key, value, future=False)"
        if aio_future_kw()
        else "kaffe.aio row: await produce_async(topic, key, value), futures kept"
    )
    per_message: dict[str, RunFn] = {per: kaffe_per_message, CONFLUENT: confluent_per_message}
    lists = "kaffe produce_sync(100-msg lists)"
    big = "kaffe produce_sync(one big list)"
    rows = [
        _throughput_row(
            "1",
            "sync produce_async, one message per call, keyed, 8 partitions, then flush()",
            Spec(8, n100),
            {**per_message, KAFKA_PYTHON: kafka_python_per_message},
            details=(sync_variant,),
            references=(
                "brod:produce per message: 94k-108k msg/s (8 partitions, 100 B, 300,000 messages)",
                "earlier run: kaffe 773-856 msg/s, confluent-kafka 287k-460k msg/s",
            ),
        ),
        _throughput_row(
            "2",
            "kaffe.aio.Producer.produce_async, one message per call, keyed, 8 partitions, "
            "then flush",
            Spec(8, n100),
            {aio: kaffe_aio_per_message, AIOKAFKA: aiokafka_per_message},
            factor=3.0,
            details=(
                aio_variant,
                "aiokafka: its defaults (acks=1), futures of send() awaited at the end",
            ),
            references=("earlier run: kaffe.aio 12k-25k msg/s, aiokafka 44k-45k msg/s",),
        ),
        _throughput_row(
            "1b",
            "the same as row 1 with the default call: produce_async returns a future per message",
            Spec(8, n100),
            {
                "kaffe produce_async (future)": functools.partial(
                    kaffe_per_message, with_future=True
                ),
                CONFLUENT: confluent_per_message,
            },
        ),
        _throughput_row(
            "2b",
            "the same as row 2 with the default call: a future per message, all awaited",
            Spec(8, n100),
            {
                "kaffe.aio produce_async (future)": functools.partial(
                    kaffe_aio_per_message, with_future=True
                ),
                AIOKAFKA: aiokafka_per_message,
            },
            factor=3.0,
        ),
        _throughput_row(
            "3",
            "produce_sync of 100-message keyed lists, 16 partitions",
            Spec(16, n100),
            {
                lists: functools.partial(kaffe_lists, per_call=100),
                CONFLUENT: confluent_per_message,
                "confluent-kafka 100 x produce()+flush()": confluent_lists_flushed,
            },
            details=(
                "reference: confluent-kafka waiting for each list's acknowledgements as "
                "produce_sync does (produce() x 100, then flush())",
            ),
            references=("earlier run: kaffe 42k-46k msg/s, confluent-kafka 287k-429k msg/s",),
        ),
        _throughput_row(
            "4",
            "keyed produce over 16 partitions with one big list: produce_sync(topic, big_list)",
            Spec(16, 300_000 // scale),
            {big: functools.partial(kaffe_lists, per_call=None), CONFLUENT: confluent_per_message},
            references=(
                "Kaffe.Producer.produce_sync of 10,000-message lists: 440k msg/s "
                "(kaffe then: 322k-544k)",
            ),
        ),
        _throughput_row(
            "5",
            "1 KB values, one message per call, keyed, 8 partitions",
            Spec(8, 100_000 // scale, size=1000),
            per_message,
        ),
        _throughput_row(
            "6",
            "lz4, one message per call, keyed, 8 partitions",
            Spec(8, n100, compression="lz4"),
            per_message,
            details=("kaffe compression='lz4'; confluent compression.type=lz4 (non-default)",),
        ),
        _throughput_row(
            "7",
            "TLS with client certificates (Heroku env), one message per call, keyed, 8 partitions",
            Spec(8, n100, tls=True),
            per_message,
            details=(
                "kaffe heroku_kafka_env=True (KAFKA_URL kafka+ssl://, KAFKA_CLIENT_CERT, "
                "KAFKA_CLIENT_CERT_KEY, KAFKA_TRUSTED_CERT); confluent security.protocol=SSL with "
                "the same CA and client certificate; both on the broker's SSL listener",
            ),
        ),
    ]

    s8 = Spec(8, 2_000 // scale)
    k8 = "kaffe produce_sync(one message)"
    c8 = "confluent-kafka produce()+flush()"
    a8 = "aiokafka send_and_wait (acks=all)"
    r8 = Row(
        "8",
        "latency: one-message produce_sync, acks=all (required_acks=-1, kaffe's default)",
        [LAT_P50, LAT_P99, LAT_MAX],
        [Client(k8, kaffe=True), Client(c8), Client(a8, reference_only=True)],
        [
            Goal((k8, LAT_P50.name), (c8, LAT_P50.name), 1.0, False),
            Goal((k8, LAT_P99.name), (c8, LAT_P99.name), 1.0, False),
        ],
        [
            f"{s8.messages:,} calls per run, 100 B keyed, 8 partitions; p50/p99/max of the "
            "calls' wall time; aiokafka (acks='all', non-default) for reference, one run"
        ],
        [
            "brod:produce_sync per message: ~0.21 ms a call (4.5k-4.7k msg/s)",
            "earlier run: kaffe 1.06-1.27 / 1.82-4.93 ms, confluent 0.26-0.28 / 0.51-2.91 ms",
        ],
    )
    runs8: dict[str, RunFn] = {
        k8: kaffe_one_sync,
        c8: confluent_one_flush,
        a8: aiokafka_send_and_wait,
    }
    rows.append(ProduceRow(r8, s8, runs8))
    return rows


def warm_up(bench: Bench, messages: int) -> None:
    """Warm the broker's JIT before anything is timed (whatever runs first would pay it)."""
    topic = bench.topic(8)
    try:
        confluent_per_message(bench, topic, Spec(8, messages))
    finally:
        bench.delete(topic)


def run_produce_row(bench: Bench, pr: ProduceRow) -> None:
    """Every client of the row ``bench.repeat`` times, interleaved, on one topic of the row."""
    topic = bench.topic(pr.spec.partitions)
    try:
        run_row(pr.row, bench.repeat, lambda name: pr.runs[name](bench, topic, pr.spec))
    finally:
        bench.delete(topic)
