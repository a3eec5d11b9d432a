"""Latency workloads (rows 15-17 of ``benches/workloads.py``): a producer sends 500
keyed messages a second over 6 partitions, stamping the send time into the value; a consumer
group times every message from the producer call to the handler.

One scenario per client (and ``--repeat`` cycles in it): member A joins and the stream settles;
then a cycle is: a steady window (row 15), a second member B joins (row 16), B stops cleanly
(row 17). Each client talks to itself (kaffe -> kaffe, confluent -> confluent, aiokafka ->
aiokafka), with its defaults, on a fresh topic and group.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import kaffe
from _workloads_common import (
    KEYS,
    POOL,
    Bench,
    Client,
    Goal,
    Metric,
    Row,
    Sample,
    percentile,
    progress,
)
from _workloads_produce import sync_future_kw

RATE = 500  # messages per second
PARTITIONS = 6
STEADY_S = 4.0  # the steady window: RATE x STEADY_S messages per cycle
SETTLE_S = 1.0  # quiet time after a change before the next phase starts
CHANGE_CAP_S = 45.0  # a join or a leave that has not settled by then is cut off (and noted)
START_CAP_S = 60.0
_STAMP = struct.Struct("<dq")  # send time (perf_counter), sequence number
_PAD = b"x" * (100 - _STAMP.size)

P50 = Metric("p50 ms", False)
P99 = Metric("p99 ms", False)
MAX = Metric("max ms", False)
LONGEST = Metric("longest wait ms", False)
STAYED = Metric("stayed max ms", False)
STEADY_P99 = Metric("steady p99 ms", False)


class Track:
    """Send and receive times of every message of a scenario (first receipt counts)."""

    def __init__(self, seconds: float) -> None:
        capacity = int(RATE * seconds)
        self.sent = [0.0] * capacity
        self.recv = [0.0] * capacity
        self.member = [-1] * capacity
        self.partition = [-1] * capacity
        self.count = 0  # messages sent so far
        self.flow: list[dict[int, float]] = [{}, {}]  # member -> partition -> newest send time
        self.error: BaseException | None = None

    def stamp(self) -> tuple[int, bytes]:
        """The next message's sequence number and value, stamped now."""
        seq = self.count
        if seq >= len(self.sent):
            raise RuntimeError("scenario ran longer than planned")
        now = time.perf_counter()
        self.sent[seq] = now
        self.count = seq + 1
        return seq, _STAMP.pack(now, seq) + _PAD

    def receive(self, member: int, partition: int, value: bytes) -> None:
        """A handler got ``value`` (called from any thread)."""
        now = time.perf_counter()
        sent, seq = _STAMP.unpack_from(value)
        if self.recv[seq] == 0.0:
            self.recv[seq] = now
            self.member[seq] = member
            self.partition[seq] = partition
        flow = self.flow[member]
        if sent > flow.get(partition, 0.0):
            flow[partition] = sent

    def flowing(self, member: int | None, since: float) -> bool:
        """Every partition delivered (to ``member``, or to anyone) a message sent after
        ``since``."""
        newest: dict[int, float] = {}
        for m, flow in enumerate(self.flow):
            if member is None or m == member:
                for p, t in list(flow.items()):
                    newest[p] = max(newest.get(p, 0.0), t)
        return len(newest) == PARTITIONS and all(t > since for t in newest.values())

    def window(self, start: float, end: float) -> range:
        """Sequence numbers of the messages sent in [start, end]."""
        first = next((i for i in range(self.count) if self.sent[i] >= start), self.count)
        last = first
        while last < self.count and self.sent[last] <= end:
            last += 1
        return range(first, last)

    def waits(self, seqs: range, until: float) -> tuple[list[float], int]:
        """Each message's wait in ms (until ``until`` for one never received) and how many
        were never received."""
        out, lost = [], 0
        for i in seqs:
            if self.recv[i]:
                out.append((self.recv[i] - self.sent[i]) * 1000)
            else:
                out.append((until - self.sent[i]) * 1000)
                lost += 1
        return out, lost


def wait_until(cond: Callable[[], bool], timeout: float) -> bool:
    """Poll ``cond`` every 5 ms until it holds or ``timeout`` passes."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


# ------------------------------------------------------------------ clients


class LatencyClient:
    """One client's producer and group members; ``send`` paces the stream."""

    name = ""
    settings = ""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.stop_sending = threading.Event()
        self.sender: threading.Thread | None = None

    def start_stream(self, topic: str, track: Track) -> None:
        """Start the paced producer (RATE messages/s until :meth:`stop_stream`)."""
        raise NotImplementedError

    def stop_stream(self) -> None:
        """Stop the producer."""
        raise NotImplementedError

    def start_member(self, index: int, group: str, topic: str, track: Track) -> Any:
        """Start a group member whose handler reports to ``track`` as ``index``."""
        raise NotImplementedError

    def stop_member(self, member: Any) -> None:
        """Stop a member cleanly (it leaves the group); blocks until done."""
        raise NotImplementedError

    def _pace(self, track: Track, send: Callable[[bytes, bytes], None]) -> None:
        t0 = time.perf_counter()
        i = 0
        try:
            while not self.stop_sending.is_set():
                delay = t0 + i / RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                seq, value = track.stamp()
                send(KEYS[seq % POOL], value)
                i += 1
        except BaseException as exc:
            track.error = exc


class KaffeLatency(LatencyClient):
    """kaffe.Producer ``produce_async`` per message -> kaffe.GroupMemberSupervisor."""

    def __init__(self, bench: Bench, name: str, **member_cfg: Any) -> None:
        super().__init__(bench)
        self.name = name
        self.member_cfg = member_cfg
        variant = "produce_async(future=False)" if sync_future_kw() else "produce_async()"
        extra = ", ".join(f"{k}={v!r}" for k, v in member_cfg.items())
        self.settings = f"kaffe.Producer {variant} per message -> GroupMemberSupervisor" + (
            f" with {extra}" if extra else " with kaffe's defaults"
        )
        self.producer: kaffe.Producer | None = None

    def start_stream(self, topic: str, track: Track) -> None:
        p = kaffe.Producer(endpoints=self.bench.bootstrap, topics=[topic])
        p.start()
        self.producer = p
        no_future = sync_future_kw()

        def send(key: bytes, value: bytes) -> None:
            if no_future:
                p.produce_async(topic, key, value, future=False)
            else:
                p.produce_async(topic, key, value)

        self.sender = threading.Thread(target=self._pace, args=(track, send), daemon=True)
        self.sender.start()

    def stop_stream(self) -> None:
        self.stop_sending.set()
        if self.sender is not None:
            self.sender.join(10)
        if self.producer is not None:
            self.producer.close()

    def start_member(self, index: int, group: str, topic: str, track: Track) -> Any:
        def handle(messages: list[kaffe.Message]) -> None:
            for m in messages:
                value = m.value
                if value is not None:
                    track.receive(index, m.partition, value)

        sup = kaffe.GroupMemberSupervisor(
            endpoints=self.bench.bootstrap,
            topics=[topic],
            consumer_group=group,
            message_handler=handle,
            **self.member_cfg,
        )
        sup.start()
        return sup

    def stop_member(self, member: Any) -> None:
        member.stop()


class ConfluentLatency(LatencyClient):
    """confluent-kafka ``produce()`` + ``poll(0)`` -> ``Consumer.poll()`` loop, defaults."""

    name = "confluent-kafka defaults"
    settings = "confluent-kafka produce()+poll(0) per message -> Consumer.poll() loop, defaults"

    def start_stream(self, topic: str, track: Track) -> None:
        import confluent_kafka

        p = confluent_kafka.Producer({"bootstrap.servers": self.bench.bootstrap})
        p.list_topics(topic, timeout=30)

        def send(key: bytes, value: bytes) -> None:
            p.produce(topic, value, key)
            p.poll(0)

        def run() -> None:
            self._pace(track, send)
            p.flush(10)

        self.sender = threading.Thread(target=run, daemon=True)
        self.sender.start()

    def stop_stream(self) -> None:
        self.stop_sending.set()
        if self.sender is not None:
            self.sender.join(20)

    def start_member(self, index: int, group: str, topic: str, track: Track) -> Any:
        import confluent_kafka

        stop = threading.Event()

        def run() -> None:
            c = confluent_kafka.Consumer(
                {"bootstrap.servers": self.bench.bootstrap, "group.id": group}
            )
            try:
                c.subscribe([topic])
                while not stop.is_set():
                    m = c.poll(0.1)
                    if m is not None and m.error() is None:
                        value, partition = m.value(), m.partition()
                        if value is not None and partition is not None:
                            track.receive(index, partition, value)
            except BaseException as exc:
                track.error = exc
            finally:
                c.close()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return stop, t

    def stop_member(self, member: Any) -> None:
        stop, t = member
        stop.set()
        t.join(30)


class AiokafkaLatency(LatencyClient):
    """aiokafka ``send()`` per message -> ``async for`` over ``AIOKafkaConsumer``, defaults;
    producer and members share one event loop in a thread of their own."""

    name = "aiokafka defaults"
    settings = "aiokafka send() per message -> async for msg in AIOKafkaConsumer, defaults"

    def __init__(self, bench: Bench) -> None:
        super().__init__(bench)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.producer: Any = None
        self.pacer: Future[Any] | None = None

    def _run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start_stream(self, topic: str, track: Track) -> None:
        import aiokafka  # type: ignore[import-untyped]

        async def start() -> Any:
            p = aiokafka.AIOKafkaProducer(bootstrap_servers=self.bench.bootstrap)
            await p.start()
            await p.partitions_for(topic)
            return p

        self.producer = self._run(start())

        async def pace() -> None:
            t0 = time.perf_counter()
            i = 0
            try:
                while not self.stop_sending.is_set():
                    delay = t0 + i / RATE - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    seq, value = track.stamp()
                    await self.producer.send(topic, value, key=KEYS[seq % POOL])
                    i += 1
            except BaseException as exc:
                track.error = exc

        self.pacer = asyncio.run_coroutine_threadsafe(pace(), self.loop)

    def stop_stream(self) -> None:
        self.stop_sending.set()
        if self.pacer is not None:
            self.pacer.result(10)
        if self.producer is not None:
            self._run(self.producer.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def start_member(self, index: int, group: str, topic: str, track: Track) -> Any:
        import aiokafka

        async def start() -> Any:
            c = aiokafka.AIOKafkaConsumer(
                topic, bootstrap_servers=self.bench.bootstrap, group_id=group
            )
            await c.start()
            return c

        consumer = self._run(start())

        async def consume() -> None:
            try:
                async for m in consumer:
                    if m.value is not None:
                        track.receive(index, m.partition, m.value)
            except BaseException as exc:
                track.error = exc

        task = asyncio.run_coroutine_threadsafe(consume(), self.loop)
        return consumer, task

    def stop_member(self, member: Any) -> None:
        consumer, task = member
        self._run(consumer.stop())
        task.result(10)


# ------------------------------------------------------------------ the scenario

KE = "kaffe defaults (eager roundrobin)"
KC = "kaffe cooperative-sticky"
CK = ConfluentLatency.name
AK = AiokafkaLatency.name


def make_clients(bench: Bench) -> list[LatencyClient]:
    """The four clients of rows 15-17."""
    return [
        KaffeLatency(bench, KE),
        KaffeLatency(bench, KC, partition_assignment_strategy="cooperative-sticky"),
        ConfluentLatency(bench),
        AiokafkaLatency(bench),
    ]


def _change(
    client: LatencyClient,
    track: Track,
    act: Callable[[], float],
    flowing_member: int | None,
) -> tuple[float, float, float, float, str]:
    """Run a membership change (``act`` returns the moment the stream should flow again
    from), wait until every partition delivers messages sent after it, then settle.

    Returns (change start, flowing-again moment, phase end, newest send time that counts,
    note)."""
    start = time.perf_counter()
    resumed_from = act()
    note = ""
    if not wait_until(
        lambda: track.flowing(flowing_member, resumed_from),
        max(1.0, CHANGE_CAP_S - (time.perf_counter() - start)),
    ):
        note = f"not all partitions flowing {CHANGE_CAP_S:.0f} s after the change (cut off)"
    time.sleep(SETTLE_S)
    end = time.perf_counter()
    return start, resumed_from, end, end - SETTLE_S, note


def scenario(bench: Bench, client: LatencyClient, cycles: int) -> list[dict[str, Sample]]:
    """Member A joins; then ``cycles`` x (steady window, B joins, B stops)."""
    topic = bench.topic(PARTITIONS)
    group = bench.group()
    per_cycle = STEADY_S + 2 * (CHANGE_CAP_S + SETTLE_S) + 10
    track = Track(START_CAP_S + cycles * per_cycle + 30)
    results: list[dict[str, Sample]] = []
    member_a: Any = None
    try:
        client.start_stream(topic, track)
        t_start = time.perf_counter()
        member_a = client.start_member(0, group, topic, track)
        if not wait_until(lambda: track.flowing(0, t_start), START_CAP_S):
            raise TimeoutError(f"member A not consuming every partition after {START_CAP_S} s")
        time.sleep(SETTLE_S)
        for cycle in range(cycles):
            results.append(_cycle(client, track, group, topic))
            progress(
                f"[15-17] {client.name} cycle {cycle + 1}: "
                + "; ".join(
                    f"{rid}: " + ", ".join(f"{k} {v:,.1f}" for k, v in s.values.items())
                    for rid, s in results[-1].items()
                )
            )
            if track.error is not None:
                raise RuntimeError(f"the stream failed: {track.error!r}")
    finally:
        if member_a is not None:
            client.stop_member(member_a)
        client.stop_stream()
        bench.delete(topic)
    return results


def _cycle(client: LatencyClient, track: Track, group: str, topic: str) -> dict[str, Sample]:
    # row 15: a steady window
    t0 = time.perf_counter()
    time.sleep(STEADY_S)
    t1 = time.perf_counter()
    seqs = track.window(t0, t1)
    wait_until(lambda: all(track.recv[i] for i in seqs), 5.0)
    steady, lost = track.waits(seqs, time.perf_counter())
    s15 = Sample(
        {
            P50.name: percentile(steady, 0.5),
            P99.name: percentile(steady, 0.99),
            MAX.name: max(steady),
        },
        note=f"{lost} message(s) of a steady window never arrived" if lost else "",
    )
    steady_p99 = s15.values[P99.name]

    # row 16: B joins
    member_b: list[Any] = []
    track.flow[1] = {}

    def join() -> float:
        member_b.append(client.start_member(1, group, topic, track))
        wait_until(lambda: bool(track.flow[1]), CHANGE_CAP_S)  # B handles its first message
        return time.perf_counter()

    start, resumed, end, newest, note = _change(client, track, join, None)
    seqs = track.window(start - 1.0, newest)
    waits, lost = track.waits(seqs, end)
    stayed = {p for p, t in track.flow[0].items() if t > resumed}  # still A's after the join
    stayed_waits = [w for i, w in zip(seqs, waits, strict=True) if track.partition[i] in stayed]
    notes = [n for n in (note, f"{lost} message(s) never arrived" if lost else "") if n]
    s16 = Sample(
        {
            LONGEST.name: max(waits),
            STAYED.name: max(stayed_waits) if stayed_waits else float("nan"),
            STEADY_P99.name: steady_p99,
        },
        note="; ".join(notes),
    )

    # row 17: B stops cleanly
    def leave() -> float:
        if member_b:
            client.stop_member(member_b[0])
        return time.perf_counter()

    start, _, end, newest, note = _change(client, track, leave, 0)
    seqs = track.window(start - 1.0, newest)
    waits, lost = track.waits(seqs, end)
    notes = [n for n in (note, f"{lost} message(s) never arrived" if lost else "") if n]
    s17 = Sample({LONGEST.name: max(waits)}, note="; ".join(notes))
    return {"15": s15, "16": s16, "17": s17}


def _no_worse(metric: Metric) -> Goal:
    """kaffe with its defaults no worse than confluent-kafka with its defaults."""
    return Goal((KE, metric.name), (CK, metric.name), 1.0, False)


def latency_rows() -> list[Row]:
    """Rows 15, 16 and 17 (filled by :func:`run_latency`)."""
    clients = [Client(KE, kaffe=True), Client(KC, kaffe=True), Client(CK), Client(AK)]
    stream = (
        f"{RATE} keyed 100 B messages/s over {PARTITIONS} partitions, send time stamped in the "
        "value, timed from the producer call to the handler; each client talks to itself"
    )
    r15 = Row(
        "15",
        "steady stream: produce -> handler latency",
        [P50, P99, MAX],
        list(clients),
        [_no_worse(P50), _no_worse(P99)],
        [stream, f"steady window {STEADY_S:.0f} s ({int(RATE * STEADY_S):,} messages) per cycle"],
        [
            "earlier run: kaffe defaults 499 / 996 ms; with min_bytes=1, rebalance_delay_ms=0 "
            "1.0 / 6.5 ms; confluent-kafka 5.4-5.6 / 7-91 ms (Kaffe/brod defaults: min_bytes 0, "
            "sleep_timeout 1 s, rebalance_delay_ms 10 s)"
        ],
    )
    r16 = Row(
        "16",
        "a second member joins (scale out): longest wait of any message",
        [LONGEST, STAYED, STEADY_P99],
        list(clients),
        [
            _no_worse(LONGEST),
            Goal(
                (KC, STAYED.name),
                (KC, STEADY_P99.name),
                1.0,
                False,
                f"{KC}: partitions that stay, max wait <= its steady p99",
            ),
        ],
        [
            "window: messages sent from 1 s before the join until every partition delivers "
            "messages sent after the new member's first one; a message never received counts "
            "its wait until the window closed",
            "'stayed max' = the longest wait on the partitions member A still owns afterwards",
        ],
        ["earlier run: kaffe defaults 11,005 ms; tuned 1,006 ms; confluent-kafka 23 ms"],
    )
    r17 = Row(
        "17",
        "one of two members stops cleanly: longest wait of any message",
        [LONGEST],
        list(clients),
        [_no_worse(LONGEST)],
        [
            "window: messages sent from 1 s before stop() until every partition delivers "
            "messages sent after stop() returned, to the remaining member"
        ],
        ["earlier run: kaffe defaults 13,997 ms; tuned 1,914 ms; confluent-kafka 989 ms"],
    )
    return [r15, r16, r17]


def run_latency(bench: Bench, rows: list[Row]) -> None:
    """One scenario per client, ``bench.repeat`` cycles each; fills ``rows``."""
    by_id = {r.rid: r for r in rows}
    for client in make_clients(bench):
        for row in rows:
            row.details.append(f"{client.name}: {client.settings}")
        try:
            for cycle in scenario(bench, client, bench.repeat):
                for rid, sample in cycle.items():
                    if rid in by_id:
                        by_id[rid].add(client.name, sample)
        except Exception as exc:
            for row in rows:
                row.add(client.name, Sample(error=f"{type(exc).__name__}: {exc}"[:300]))
            progress(f"[15-17] {client.name} failed: {exc!r}")
