"""The checker: what is in the topics against what the workload was told.

:func:`read_topic` reads every partition of a topic with confluent-kafka (an independent
client, straight from the brokers, never through a proxy). :func:`check` compares that with the
:class:`faults.workload.WorkloadResults` and returns a :class:`ScenarioResult`:

* ``lost``: acknowledged messages not in the topic;
* ``duplicated``: extra copies of a message (same key and sequence number) in the topic;
* ``reordered``: messages found after a later message of their key (per key, the sequence
  numbers must grow in offset order);
* ``misplaced``: ``produce_async`` results whose (partition, offset) holds another message;
* ``unhandled``: messages in the topic no group member handled (at-least-once);
* ``failed``: messages whose produce call raised (not lost, but the defaults promise delivery
  while the cluster keeps a quorum: every scenario keeps its outages within the delivery
  deadline);
* with the transformer: ``tx_missing`` / ``tx_duplicated``, input messages absent from, or more
  than once in, the output topic read with ``read_committed``;
* ``max_ack_stall`` / ``max_handle_stall``: the longest time without an acknowledgement / a
  handled batch while the producer ran; ``max_e2e``: the longest an acknowledged message
  waited until it was first handled (a partition whose consumption stalls shows here).

A scenario passes when all of these counts are 0, every message was handled, no workload
process hung, crashed or reported a failure, and the fault itself happened (``notes`` from the
scenario say otherwise).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import confluent_kafka

from .values import split_value
from .workload import MsgId, WorkloadResults

READ_TIMEOUT_S = 180.0

Record = tuple[int, MsgId | None]
"""(offset, (key, seq)) of one record; ``None`` for a record that is not the workload's."""


def read_topic(
    bootstrap: str,
    topic: str,
    *,
    isolation: str = "read_uncommitted",
    timeout: float = READ_TIMEOUT_S,
) -> dict[int, list[Record]]:
    """Every record of every partition of ``topic``, in offset order, up to the end
    (the high watermark, or the last stable offset with ``read_committed``)."""
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"faults-check-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "isolation.level": isolation,
        }
    )
    try:
        md = consumer.list_topics(topic, timeout=30)
        parts = sorted(md.topics[topic].partitions)
        ends: dict[int, int] = {}
        for p in parts:
            ends[p] = consumer.get_watermark_offsets(
                confluent_kafka.TopicPartition(topic, p), timeout=30
            )[1]
        consumer.assign(
            [
                confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                for p in parts
            ]
        )
        out: dict[int, list[Record]] = {p: [] for p in parts}
        at_end: set[int] = {p for p in parts if ends[p] == 0}
        deadline = time.monotonic() + timeout
        while len(at_end) < len(parts):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"reading {topic}: partitions {sorted(set(parts) - at_end)} not read to "
                    f"their end {ends} within {timeout:.0f} s"
                )
            for msg in consumer.consume(1000, 0.5):
                err = msg.error()
                p, offset = int(msg.partition() or 0), int(msg.offset() or 0)
                if err is not None:
                    if err.code() == confluent_kafka.KafkaError._PARTITION_EOF:
                        if isolation == "read_committed" or offset >= ends[p]:
                            at_end.add(p)
                        continue
                    raise RuntimeError(f"reading {topic}: {err}")
                out[p].append((offset, split_value(msg.value())))
                if isolation != "read_committed" and offset + 1 >= ends[p]:
                    at_end.add(p)
        return out
    finally:
        consumer.close()


def max_gap(times: list[float], start: float, end: float) -> float:
    """The longest interval between consecutive ``times`` inside ``[start, end]``, counting
    from ``start`` and up to ``end``."""
    inside = sorted(t for t in times if start <= t <= end)
    points = [start, *inside, end]
    return max((b - a for a, b in itertools.pairwise(points)), default=0.0)


@dataclass
class ScenarioResult:
    """One row of the report (see the module docs for each count)."""

    scenario: str
    produced: int = 0
    acknowledged: int = 0
    failed: int = 0
    failed_written: int = 0
    """Failed messages that are in the topic all the same (a failure is "maybe written")."""
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    misplaced: int = 0
    in_topic: int = 0
    unhandled: int = 0
    handled_twice: int = 0
    tx_checked: bool = False
    tx_missing: int = 0
    tx_duplicated: int = 0
    tx_commits: int = 0
    max_ack_stall: float = 0.0
    max_handle_stall: float = 0.0
    max_e2e: float = 0.0
    """The longest an acknowledged message waited until a member first handled it."""
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    tx_errors: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """Why the scenario failed beyond the counts (hangs, crashes, steps that timed out)."""
    notes: list[str] = field(default_factory=list)
    examples: dict[str, list[Any]] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)

    @property
    def handled_all(self) -> bool:
        """Every message in the topic was handled at least once."""
        return self.unhandled == 0 and self.in_topic > 0

    @property
    def passed(self) -> bool:
        """The verdict (module docs)."""
        counts = (
            self.failed,
            self.lost,
            self.duplicated,
            self.reordered,
            self.misplaced,
            self.tx_missing,
            self.tx_duplicated,
        )
        return not any(counts) and self.handled_all and not self.problems

    def to_json(self) -> dict[str, Any]:
        """A plain dict (with the verdict) for the JSON report."""
        d = dict(self.__dict__)
        d["handled_all"] = self.handled_all
        d["verdict"] = "PASS" if self.passed else "FAIL"
        return d


EXAMPLES = 5


def check(
    scenario: str,
    results: WorkloadResults,
    topic_log: dict[int, list[Record]],
    output_log: dict[int, list[Record]] | None = None,
) -> ScenarioResult:
    """Compare the topic (and the transformer's output) with what the workload recorded."""
    r = ScenarioResult(scenario)
    r.acknowledged = len(results.acked)
    r.failed = len(results.failed)
    r.produced = r.acknowledged + r.failed
    r.errors = dict(results.errors.most_common())

    seen: Counter[MsgId] = Counter()
    where: dict[tuple[int, int], MsgId | None] = {}
    last_seq: dict[str, int] = {}
    reordered: list[Any] = []
    for p, records in topic_log.items():
        for offset, mid in records:
            where[(p, offset)] = mid
            if mid is None:
                continue
            seen[mid] += 1
            if seen[mid] > 1:
                continue
            key, seq = mid
            prev = last_seq.get(key)
            if prev is not None and seq < prev:
                reordered.append([key, seq, "after", prev, p, offset])
            else:
                last_seq[key] = seq
    r.in_topic = len(seen)
    r.failed_written = sum(1 for mid in results.failed if mid in seen)
    r.duplicated = sum(n - 1 for n in seen.values() if n > 1)
    r.reordered = len(reordered)
    lost = [mid for mid in results.acked if mid not in seen]
    r.lost = len(lost)
    misplaced = [
        (mid, po)
        for mid, po in results.acked.items()
        if po is not None and mid in seen and where.get(po) != mid
    ]
    r.misplaced = len(misplaced)
    unhandled = [mid for mid in seen if mid not in results.handled]
    r.unhandled = len(unhandled)
    r.handled_twice = sum(1 for n in results.handled.values() if n > 1)
    r.examples = {
        k: v[:EXAMPLES]
        for k, v in {
            "lost": [list(m) for m in sorted(lost)],
            "duplicated": [[*m, n] for m, n in seen.items() if n > 1],
            "reordered": reordered,
            "misplaced": [[*m, list(po)] for m, po in misplaced],
            "unhandled": [list(m) for m in sorted(unhandled)],
        }.items()
        if v
    }

    if output_log is not None:
        r.tx_checked = True
        out: Counter[MsgId] = Counter(
            mid for records in output_log.values() for _, mid in records if mid is not None
        )
        missing = [mid for mid in seen if mid not in out]
        r.tx_missing = len(missing)
        r.tx_duplicated = sum(n - 1 for n in out.values() if n > 1)
        r.tx_commits = results.txn_commits
        r.tx_errors = dict(results.txn_errors.most_common())
        if missing:
            r.examples["tx_missing"] = [list(m) for m in sorted(missing)[:EXAMPLES]]
        dups = [[*m, n] for m, n in out.items() if n > 1]
        if dups:
            r.examples["tx_duplicated"] = dups[:EXAMPLES]

    stop = results.producer_stopped or time.monotonic()
    r.max_ack_stall = max_gap(results.ack_times, results.started, stop)
    first_handle = min(results.handle_times, default=results.started)
    r.max_handle_stall = max_gap(results.handle_times, first_handle, stop)
    r.max_e2e = max(
        (
            t - results.acked_at[mid]
            for mid, t in results.first_handled.items()
            if mid in results.acked_at
        ),
        default=0.0,
    )
    r.problems.extend(f"hang: {h}" for h in results.hangs)
    r.problems.extend(f"crash: {c}" for c in results.crashes)
    r.problems.extend(f"group member failed: {f}" for f in results.member_failures)
    if not results.drained and results.drain_note:
        r.problems.append(results.drain_note)
    bad_exits = {k: v for k, v in results.exit_codes.items() if v != 0}
    if bad_exits:
        r.problems.append(f"workload processes exited badly: {bad_exits}")
    return r
