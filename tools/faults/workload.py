"""The workload: a keyed producer and a consumer group, each in processes of their own.

::

    wl = Workload(fc.bootstrap, fc.direct_bootstrap, WorkloadConfig(topic, group), out_dir)
    wl.start()                       # members joined and assigned, then the producer runs
    wl.wait_progress(acked=500, handled=500, timeout=120)
    ...                              # inject faults
    wl.stop()                        # producer stopped, group drained to the end, members stopped
    res = wl.results()               # WorkloadResults: every acknowledged and handled message

* Producer (one process, :func:`faults.worker.run_producer`): a default ``kaffe.Producer``
  (plus :attr:`WorkloadConfig.producer_config`), one thread calling ``produce_sync`` with lists
  of ``batch_min``-``batch_max`` keyed messages, one calling ``produce_async`` per message in
  bursts of ``async_burst``, on key sets of their own; every value carries its key and the
  key's sequence number. ``rate`` (messages/s, both threads together) paces them.
* Group (``members`` processes): a ``kaffe.GroupMemberSupervisor`` each (defaults plus
  :attr:`WorkloadConfig.consumer_config`, which starts from the earliest offset), recording
  every handled message.
* With :attr:`WorkloadConfig.transform`: one more process reads the topic in a group of its
  own and copies every batch to ``transform.output`` in a transaction that also commits the
  batch's offsets (``send_offsets_to_transaction``).

The processes write JSON-lines event files into ``out_dir`` (see :mod:`faults.worker`); the
parent follows them while they run (:meth:`Workload.progress`) and parses them all in
:meth:`Workload.results`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import confluent_kafka

import kaffe
from kafka_harness.process import ManagedProcess, ProcessError

log = logging.getLogger("kaffe.faults.workload")

START_TIMEOUT_S = 120.0
STOP_MARGIN_S = 60.0
MsgId = tuple[str, int]


class WorkloadError(RuntimeError):
    """A workload process died, or the workload did not reach a wanted state in time."""


@dataclass(frozen=True)
class TransformConfig:
    """The consume-transform-produce loop: input is the workload's topic."""

    output: str
    group: str = field(default_factory=lambda: f"faults-tx-{uuid.uuid4().hex[:8]}")
    transactional_id: str = field(default_factory=lambda: f"faults-tx-{uuid.uuid4().hex[:8]}")


@dataclass(frozen=True)
class WorkloadConfig:
    """What the workload does; see the module docs."""

    topic: str
    group: str
    members: int = 3
    rate: float = 1000.0
    keys: int = 24
    batch_min: int = 50
    batch_max: int = 200
    async_burst: int = 50
    value_bytes: int = 64
    producer_config: dict[str, Any] = field(default_factory=dict)
    consumer_config: dict[str, Any] = field(
        default_factory=lambda: {"start_with_earliest_message": True}
    )
    transform: TransformConfig | None = None
    seed: int | None = None
    log_level: str = "WARNING"
    """The workload processes' logging level (their ``.log`` files): ``INFO`` shows kaffe's
    reconnects, rebalances and retries."""


@dataclass
class Progress:
    """Counts so far and when each last moved."""

    acked: int = 0
    failed: int = 0
    handled: int = 0
    transformed: int = 0
    last_ack: float | None = None
    last_handle: float | None = None


@dataclass
class WorkloadResults:
    """Everything the workload processes recorded (:meth:`Workload.results`)."""

    acked: dict[MsgId, tuple[int, int] | None] = field(default_factory=dict)
    """Acknowledged messages -> ``(partition, offset)`` when the producer learnt it."""
    ack_times: list[float] = field(default_factory=list)
    acked_at: dict[MsgId, float] = field(default_factory=dict)
    first_handled: dict[MsgId, float] = field(default_factory=dict)
    failed: list[MsgId] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    """Failed produce calls by error text (messages per error)."""
    handled: Counter[MsgId] = field(default_factory=Counter)
    handled_offsets: dict[int, set[int]] = field(default_factory=dict)
    handle_times: list[float] = field(default_factory=list)
    transformed: Counter[MsgId] = field(default_factory=Counter)
    txn_commits: int = 0
    txn_errors: Counter[str] = field(default_factory=Counter)
    hangs: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    member_failures: list[str] = field(default_factory=list)
    exit_codes: dict[str, int | None] = field(default_factory=dict)
    started: float = 0.0
    producer_stopped: float = 0.0
    drained: bool = False
    drain_note: str = ""


class _EventFile:
    """Follows one JSON-lines file, returning complete new lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def poll(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        return [json.loads(line) for line in lines if line.strip()]


class _Worker:
    def __init__(self, name: str, role: str, cfg: dict[str, Any], out_dir: Path) -> None:
        self.name = name
        self.events = _EventFile(out_dir / f"{name}.jsonl")
        env = dict(os.environ)
        tools = str(Path(__file__).resolve().parents[1])
        kaffe_root = str(Path(kaffe.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (tools, kaffe_root, env.get("PYTHONPATH", "")) if p
        )
        self.proc = ManagedProcess(
            name,
            [
                sys.executable,
                "-m",
                "faults.worker",
                role,
                "--config",
                json.dumps(cfg),
                "--out",
                str(self.events.path),
            ],
            cwd=out_dir,
            log_path=out_dir / f"{name}.log",
            env=env,
            pipes=True,
        )

    def stop_async(self) -> None:
        if self.proc.running():
            try:
                self.proc.stdin.write("stop\n")
                self.proc.stdin.flush()
            except (OSError, ValueError):
                pass

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except ProcessError:
            return None


class Workload:
    """The producer, the group and (optionally) the transformer; see the module docs."""

    def __init__(
        self, bootstrap: str, direct_bootstrap: str, config: WorkloadConfig, out_dir: Path
    ) -> None:
        """``bootstrap`` is what the kaffe clients use (the proxies); ``direct_bootstrap`` what
        the workload itself uses to read high watermarks (no faults there)."""
        self.bootstrap = bootstrap
        self.direct_bootstrap = direct_bootstrap
        self.config = config
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps(asdict(config), indent=2))
        self._res = WorkloadResults()
        self._progress = Progress()
        self._assigned: dict[str, list[int]] = {}
        self._member_started: set[str] = set()
        self._producer_started = False
        self._producer_delivery_timeout = 0.0
        self.members: list[_Worker] = []
        self.transformer: _Worker | None = None
        self.producer: _Worker | None = None
        self._stopping = False
        self._tx_offsets: dict[int, set[int]] = {}

    # ------------------------------------------------------------------ lifecycle

    def _common(self) -> dict[str, Any]:
        return {
            "bootstrap": self.bootstrap,
            "topic": self.config.topic,
            "log_level": self.config.log_level,
        }

    def start(self, timeout: float = START_TIMEOUT_S) -> Workload:
        """Start the members (and transformer), wait until the group has every partition
        assigned, then start the producer and wait until it is connected."""
        c = self.config
        deadline = time.monotonic() + timeout
        member_cfg = {**self._common(), "group": c.group, "consumer_config": c.consumer_config}
        for i in range(c.members):
            self.members.append(_Worker(f"member-{i}", "member", member_cfg, self.out_dir))
        if c.transform is not None:
            t = c.transform
            self.transformer = _Worker(
                "transformer",
                "transformer",
                {
                    **self._common(),
                    "group": t.group,
                    "output": t.output,
                    "transactional_id": t.transactional_id,
                    "consumer_config": c.consumer_config,
                    "producer_config": c.producer_config,
                },
                self.out_dir,
            )
        for w in self._workers():
            w.proc.start()
        self._wait(
            lambda: (
                len(self._member_started) == len(self._group_workers()) and self._group_covers()
            ),
            deadline,
            lambda: f"the group members to start and be assigned (assigned: {self._assigned})",
        )
        self.producer = _Worker(
            "producer",
            "producer",
            {
                **self._common(),
                "name": "p0",
                "rate": c.rate,
                "keys": c.keys,
                "batch_min": c.batch_min,
                "batch_max": c.batch_max,
                "async_burst": c.async_burst,
                "value_bytes": c.value_bytes,
                "producer_config": c.producer_config,
                "seed": c.seed,
            },
            self.out_dir,
        )
        self._res.started = time.monotonic()
        self.producer.proc.start()
        self._wait(lambda: self._producer_started, deadline, lambda: "the producer to start")
        return self

    def _group_workers(self) -> list[_Worker]:
        return self.members + ([self.transformer] if self.transformer is not None else [])

    def _workers(self) -> list[_Worker]:
        return self._group_workers() + ([self.producer] if self.producer is not None else [])

    def _group_covers(self) -> bool:
        """Every member has been assigned something (each group sees all partitions)."""
        return all(self._assigned.get(w.name) for w in self._group_workers())

    def _wait(self, cond: Callable[[], bool], deadline: float, what: Callable[[], str]) -> None:
        """Poll the events until ``cond()``; :class:`WorkloadError` with ``what()`` at the
        deadline."""
        while True:
            self.poll()
            self.check_alive()
            if cond():
                return
            if time.monotonic() > deadline:
                raise WorkloadError(f"timed out waiting for {what()}; logs in {self.out_dir}")
            time.sleep(0.1)

    def check_alive(self) -> None:
        """Raise :class:`WorkloadError` if a workload process exited before being told to."""
        if self._stopping:
            return
        for w in self._workers():
            code = w.proc.returncode()
            if code is not None:
                raise WorkloadError(f"{w.name} exited with {code}:\n{w.proc.log_tail(20)}")

    def stop_producer(self) -> None:
        """Tell the producer to stop and wait for it (its calls finish first)."""
        if self.producer is None:
            return
        self._stopping = True
        self.producer.stop_async()
        limit = (self._producer_delivery_timeout or 60.0) + STOP_MARGIN_S
        code = self.producer.wait(limit)
        if code is None:
            self._res.hangs.append(f"producer did not stop within {limit:.0f} s; killed")
            self.producer.proc.kill()
        self._res.exit_codes["producer"] = code
        self._res.producer_stopped = time.monotonic()
        self.poll()

    def high_watermarks(self, topic: str, timeout: float = 30.0) -> dict[int, int]:
        """``{partition: high watermark}`` of ``topic``, read directly from the brokers."""
        consumer = confluent_kafka.Consumer(
            {"bootstrap.servers": self.direct_bootstrap, "group.id": "faults-hw"}
        )
        try:
            md = consumer.list_topics(topic, timeout=timeout)
            out = {}
            for p in sorted(md.topics[topic].partitions):
                tp = confluent_kafka.TopicPartition(topic, p)
                out[p] = int(consumer.get_watermark_offsets(tp, timeout=timeout)[1])
            return out
        finally:
            consumer.close()

    def drain(self, timeout: float = 180.0) -> bool:
        """Wait until the group (and the transformer) handled everything up to the topic's
        high watermarks; ``False`` (and a note in the results) if not within ``timeout``."""
        hw = self.high_watermarks(self.config.topic)

        def done() -> bool:
            return all(
                not n or (n - 1) in self._res.handled_offsets.get(p, set()) for p, n in hw.items()
            ) and (
                self.transformer is None
                or all(not n or (n - 1) in self._tx_offsets.get(p, set()) for p, n in hw.items())
            )

        try:
            self._wait(done, time.monotonic() + timeout, lambda: "the group to handle everything")
        except WorkloadError:
            behind = {
                p: (n, max(self._res.handled_offsets.get(p, {-1})) + 1) for p, n in hw.items()
            }
            self._res.drain_note = f"not drained in {timeout:.0f} s: (end, handled to) {behind}"
            return False
        return True

    def stop(self, drain_timeout: float = 180.0) -> None:
        """Stop the producer, drain the group, stop the members. Never raises for a stuck
        process: it is killed and recorded as a hang."""
        self.stop_producer()
        try:
            self._res.drained = self.drain(drain_timeout)
        except Exception as exc:  # the results must still be collected
            self._res.drain_note = f"drain failed: {exc}"
        for w in self._group_workers():
            w.stop_async()
        for w in self._group_workers():
            code = w.wait(STOP_MARGIN_S)
            if code is None:
                self._res.hangs.append(f"{w.name} did not stop within {STOP_MARGIN_S:.0f} s")
                w.proc.kill()
            self._res.exit_codes[w.name] = code
        self.poll()

    def kill(self) -> None:
        """Kill every workload process at once (cleanup after an error)."""
        for w in self._workers():
            if w.proc.running():
                w.proc.kill()

    # ------------------------------------------------------------------ events

    def poll(self) -> Progress:
        """Read new events from every process; return the progress so far."""
        r, pr = self._res, self._progress
        for w in self._workers():
            for ev in w.events.poll():
                self._apply(w, ev, r, pr)
        return pr

    def _apply(self, w: _Worker, ev: dict[str, Any], r: WorkloadResults, pr: Progress) -> None:
        kind, t = ev["e"], float(ev["t"])
        if kind == "ack":
            po = ev.get("po")
            for i, (key, seq) in enumerate(ev["m"]):
                r.acked[(key, seq)] = (int(po[i][0]), int(po[i][1])) if po else None
                r.acked_at[(key, seq)] = t
            r.ack_times.append(t)
            pr.acked += len(ev["m"])
            pr.last_ack = t
        elif kind == "fail":
            r.failed.extend((k, s) for k, s in ev["m"])
            r.errors[str(ev["err"])] += max(1, len(ev["m"]))
            pr.failed += len(ev["m"])
        elif kind == "h":
            target = self._tx_offsets if w is self.transformer else r.handled_offsets
            target.setdefault(int(ev["p"]), set()).update(ev["o"])
            ids = [(m[0], m[1]) for m in ev["m"] if m is not None]
            if w is self.transformer:
                r.transformed.update(ids)
                pr.transformed += len(ids)
            else:
                for mid in ids:
                    r.first_handled.setdefault(mid, t)
                r.handled.update(ids)
                r.handle_times.append(t)
                pr.handled += len(ids)
                pr.last_handle = t
        elif kind == "assigned":
            self._assigned[w.name] = ev["parts"]
        elif kind == "started":
            if w is self.producer:
                self._producer_started = True
                self._producer_delivery_timeout = float(ev.get("delivery_timeout", 0.0))
            else:
                self._member_started.add(w.name)
        elif kind == "txn":
            r.txn_commits += 1
        elif kind == "txn_fail":
            r.txn_errors[f"{ev['step']}: {ev['err']}"] += 1
        elif kind == "hang":
            r.hangs.append(f"{w.name}: {ev['what']} ({ev.get('age', 0):.0f} s)")
        elif kind == "crash":
            r.crashes.append(f"{w.name}: {ev['what']}: {ev['err']}")
        elif kind == "failure":
            r.member_failures.append(f"{w.name}: {ev['err']}")

    def progress(self) -> Progress:
        """Counts so far (reads new events first)."""
        return self.poll()

    def wait_progress(self, acked: int = 0, handled: int = 0, timeout: float = 120.0) -> None:
        """Wait until ``acked`` more messages are acknowledged and ``handled`` more handled
        than now; raise :class:`WorkloadError` (naming what is stuck) after ``timeout``."""
        now = self.poll()
        want_a, want_h = now.acked + acked, now.handled + handled

        def ok() -> bool:
            return self._progress.acked >= want_a and self._progress.handled >= want_h

        self._wait(
            ok,
            time.monotonic() + timeout,
            lambda: (
                f"{acked} more acknowledged (at {self._progress.acked}/{want_a}) and "
                f"{handled} more handled (at {self._progress.handled}/{want_h})"
            ),
        )

    def results(self) -> WorkloadResults:
        """Everything recorded so far (complete after :meth:`stop`)."""
        self.poll()
        return self._res
