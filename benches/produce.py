"""Produce throughput: kaffe against confluent-kafka, aiokafka, kafka-python and the Java
client's own ProducerPerformance, on one real broker started by the harness.

For every message size (``--sizes``, default 100 B and 1 KB) and codec (``--codecs``, default
none and lz4), each client sends ``--messages`` messages (default 1,000,000) with acks=all to a
fresh one-partition topic; the clock runs from the first send until the last acknowledgement
(connecting is not timed); the best of ``--repeat`` interleaved rounds is reported, after a
warm-up of the broker's JIT. Values are random uppercase letters (as ProducerPerformance makes
them), keys are ``None``. Rows:

* ``kaffe sync list``: one ``Producer.produce_sync(topic, 0, messages)`` call with the whole list;
* ``kaffe async``: ``Producer.produce_async`` per ``--chunk`` messages, then ``flush()``;
* ``confluent-kafka``: ``produce()`` per message (``poll(0)`` on a full queue), then ``flush()``;
* ``aiokafka``: ``send()`` per message, awaiting the futures every ``--chunk`` messages;
* ``kafka-python``: ``send()`` per message, then ``flush()``;
* ``java ProducerPerformance``: ``org.apache.kafka.tools.ProducerPerformance`` from the
  kafka-tools jar (its own figure; it runs in a JVM).

Every client keeps its own defaults except acks=all and the codec; kaffe and the Java client are
idempotent by default, the others as their versions default. The table prints msgs/s, MB/s
(payload bytes) and kaffe's ratio to each peer. Run: ``python benches/produce.py [--messages N]``
(``make build`` first). ``--only`` picks clients (comma-separated row prefixes).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import re
import shutil
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import kaffe
from kafka_harness.broker import LocalBroker
from kafka_harness.jars import KafkaJars, fetch
from kafka_harness.node import java

POOL = 1000


@dataclass
class Result:
    client: str
    size: int
    codec: str
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def mbps(self) -> float:
        return self.messages * self.size / self.seconds / 1e6


def values(size: int, count: int) -> list[bytes]:
    rnd = random.Random(size)
    pool = ["".join(rnd.choices(string.ascii_uppercase, k=size)).encode() for _ in range(POOL)]
    return [pool[i % POOL] for i in range(count)]


# ------------------------------------------------------------------ clients


def kaffe_sync(bootstrap: str, topic: str, vals: list[bytes], codec: str, chunk: int) -> float:
    messages = [(None, v) for v in vals]
    with kaffe.Producer(
        endpoints=bootstrap, compression=codec, partition_onwire_limit=5, ack_timeout=30000
    ) as p:
        t0 = time.perf_counter()
        p.produce_sync(topic, 0, messages)
        return time.perf_counter() - t0


def kaffe_async(bootstrap: str, topic: str, vals: list[bytes], codec: str, chunk: int) -> float:
    with kaffe.Producer(
        endpoints=bootstrap, compression=codec, partition_onwire_limit=5, ack_timeout=30000
    ) as p:
        t0 = time.perf_counter()
        for i in range(0, len(vals), chunk):
            p.produce_async(topic, 0, [(None, v) for v in vals[i : i + chunk]])
        p.flush()
        return time.perf_counter() - t0


def confluent(bootstrap: str, topic: str, vals: list[bytes], codec: str, chunk: int) -> float:
    import confluent_kafka

    p = confluent_kafka.Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec}
    )
    p.list_topics(topic, timeout=30)
    produce = p.produce
    t0 = time.perf_counter()
    for v in vals:
        while True:
            try:
                produce(topic, v, partition=0)
                break
            except BufferError:  # the local queue is full: serve delivery reports
                p.poll(0.01)
    left = p.flush(300)
    elapsed = time.perf_counter() - t0
    if left:
        raise RuntimeError(f"confluent-kafka: {left} messages not delivered")
    return elapsed


def aiokafka_run(bootstrap: str, topic: str, vals: list[bytes], codec: str, chunk: int) -> float:
    import aiokafka

    async def main() -> float:
        p = aiokafka.AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            compression_type=None if codec == "none" else codec,
        )
        await p.start()
        try:
            await p.partitions_for(topic)
            t0 = time.perf_counter()
            futs = []
            for v in vals:
                futs.append(await p.send(topic, v, partition=0))
                if len(futs) >= chunk:
                    await asyncio.gather(*futs)
                    futs = []
            await asyncio.gather(*futs)
            return time.perf_counter() - t0
        finally:
            await p.stop()

    return asyncio.run(main())


def kafka_python_run(
    bootstrap: str, topic: str, vals: list[bytes], codec: str, chunk: int
) -> float:
    import kafka

    p = kafka.KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        compression_type=None if codec == "none" else codec,
    )
    try:
        p.partitions_for(topic)
        t0 = time.perf_counter()
        for v in vals:
            p.send(topic, v, partition=0)
        p.flush(300)
        return time.perf_counter() - t0
    finally:
        p.close(10)


_JAVA_LINE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec")


def java_perf(jars: KafkaJars, bootstrap: str, topic: str, n: int, size: int, codec: str) -> float:
    cmd = [
        java(),
        "-Xmx1g",
        "-cp",
        jars.classpath,
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        str(n),
        "--record-size",
        str(size),
        "--throughput",
        "-1",
        "--producer-props",
        f"bootstrap.servers={bootstrap}",
        "acks=all",
        f"compression.type={codec}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=True).stdout
    last = _JAVA_LINE.findall(out)
    if not last:
        raise RuntimeError(f"no result line in ProducerPerformance output: {out[-500:]}")
    sent, rate = last[-1]
    return int(sent) / float(rate)


# ------------------------------------------------------------------ main


CLIENTS: dict[str, Callable[[str, str, list[bytes], str, int], float]] = {
    "kaffe sync list": kaffe_sync,
    "kaffe async": kaffe_async,
    "confluent-kafka": confluent,
    "aiokafka": aiokafka_run,
    "kafka-python": kafka_python_run,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--codecs", default="none,lz4")
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the best is reported")
    ap.add_argument("--warmup", type=int, default=300_000, help="messages sent before timing")
    ap.add_argument("--only", default="", help="comma-separated client name prefixes")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    only = [o.strip() for o in args.only.split(",") if o.strip()]
    names = [
        c
        for c in [*CLIENTS, "java ProducerPerformance"]
        if not only or any(c.startswith(o) for o in only)
    ]

    jars = fetch()
    broker = LocalBroker(jars)
    broker.start()
    results: list[Result] = []
    try:
        bootstrap = broker.bootstrap
        # The broker's JIT warms up on whatever runs first: warm it before timing anything.
        warm = f"bench-warmup-{uuid.uuid4().hex[:8]}"
        broker.admin.create_topic(warm, 1, 1, None)
        time.sleep(0.5)  # let the leader settle
        for codec in args.codecs.split(","):
            confluent(bootstrap, warm, values(100, args.warmup), codec, args.chunk)
        broker.admin.delete_topic(warm)
        for size in (int(s) for s in args.sizes.split(",")):
            vals = values(size, args.messages)
            for codec in args.codecs.split(","):
                best: dict[str, float] = {}
                for _ in range(args.repeat):  # clients interleaved; the best round counts
                    for name in names:
                        topic = f"bench-{uuid.uuid4().hex[:8]}"
                        broker.admin.create_topic(topic, 1, 1, None)
                        time.sleep(0.5)  # let the leader settle before timing
                        if name == "java ProducerPerformance":
                            secs = java_perf(jars, bootstrap, topic, args.messages, size, codec)
                        else:
                            secs = CLIENTS[name](bootstrap, topic, vals, codec, args.chunk)
                        broker.admin.delete_topic(topic)
                        print(
                            f"  {name:<26} {size:>5} B {codec:<5} "
                            f"{args.messages / secs:>12,.0f} msg/s",
                            file=sys.stderr,
                            flush=True,
                        )
                        best[name] = min(secs, best.get(name, secs))
                for name in names:
                    results.append(Result(name, size, codec, args.messages, best[name]))
    finally:
        broker.stop()
    shutil.rmtree(broker.run_dir, ignore_errors=True)  # kept (with its logs) after a failure
    print_table(results, args.messages)


def print_table(results: list[Result], n: int) -> None:
    print(f"\nproduce throughput, {n:,} messages, acks=all, one partition, one local broker")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, kaffe {kaffe.__version__}\n")
    groups: dict[tuple[int, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.size, r.codec), []).append(r)
    header = (
        f"{'client':<26} {'size':>6} {'codec':<5} {'msgs/s':>12} {'MB/s':>8}  "
        "kaffe sync / kaffe async vs this"
    )
    print(header)
    print("-" * len(header))
    for (size, codec), rows in groups.items():
        ks = next((r for r in rows if r.client == "kaffe sync list"), None)
        ka = next((r for r in rows if r.client == "kaffe async"), None)
        for r in rows:
            ratio = ""
            if ks is not None and ka is not None:
                ratio = f"{ks.rate / r.rate:>6.2f}x / {ka.rate / r.rate:>6.2f}x"
            print(f"{r.client:<26} {size:>5}B {codec:<5} {r.rate:>12,.0f} {r.mbps:>8.1f}  {ratio}")
        print()


if __name__ == "__main__":
    main()
