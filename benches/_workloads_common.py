"""Shared pieces of ``benches/workloads.py``: the result model (samples, goals, rows), the table
printer, message payloads, per-run time budgets, topics and the TLS (Heroku) settings.

Nothing here imports kaffe internals: the workloads use kaffe's public API only, so they keep
working while the producer and the fetcher change underneath.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import random
import statistics
import string
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from kafka_harness.broker import LocalBroker
from kafka_harness.topics import TopicFactory

POOL = 1000
KEYS: list[bytes] = [b"key-%d" % i for i in range(POOL)]
"""``b"key-%d" % (i % 1000)``: the key of message ``i``."""

MB = 1024 * 1024


def payloads(size: int) -> list[bytes]:
    """``POOL`` distinct values of ``size`` random uppercase letters (value ``i`` is
    ``payloads(size)[i % POOL]``)."""
    rnd = random.Random(size)
    return ["".join(rnd.choices(string.ascii_uppercase, k=size)).encode() for _ in range(POOL)]


def fmt(value: float) -> str:
    """A figure for the table: thousands separators for large values, 2-3 digits otherwise."""
    if value != value:  # NaN
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest-rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


def accepts_keyword(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` takes the keyword ``name`` (for API features that may or may not exist
    yet, such as ``produce_async(..., future=False)``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


# ------------------------------------------------------------------ results


@dataclass
class Sample:
    """One run of one client: metric name -> value, plus a note (capped runs, errors)."""

    values: dict[str, float] = field(default_factory=dict)
    note: str = ""
    error: str = ""


@dataclass(frozen=True)
class Metric:
    """A figure a row reports; ``higher_better`` decides min/max reading and goal direction."""

    name: str
    higher_better: bool


THROUGHPUT = Metric("msg/s", True)


@dataclass(frozen=True)
class Goal:
    """``left`` (client, metric) compared with ``right`` (client, metric) times ``factor``, or
    with an absolute value. ``higher_better`` goals pass when left >= factor x right."""

    left: tuple[str, str]
    right: tuple[str, str] | float
    factor: float
    higher_better: bool
    label: str = ""


@dataclass
class Client:
    """A row's client: its display name and whether it is kaffe (ratios are kaffe / peer)."""

    name: str
    kaffe: bool = False
    reference_only: bool = False


@dataclass
class Row:
    """One workload as printed: the clients' samples, the goals and the issue's figures."""

    rid: str
    title: str
    metrics: list[Metric]
    clients: list[Client]
    goals: list[Goal] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def add(self, client: str, sample: Sample) -> None:
        """Record one run of ``client``."""
        self.samples.setdefault(client, []).append(sample)

    def values(self, client: str, metric: str) -> list[float]:
        """Every recorded value of ``metric`` for ``client`` (runs that failed have none)."""
        return [
            s.values[metric]
            for s in self.samples.get(client, [])
            if metric in s.values and s.values[metric] == s.values[metric]
        ]

    def median(self, client: str, metric: str) -> float:
        """Median over the runs, NaN if there is none."""
        vals = self.values(client, metric)
        return statistics.median(vals) if vals else float("nan")


@dataclass
class Verdict:
    """A goal's outcome, for the row and for the summary."""

    rid: str
    text: str
    ratio: float
    passed: bool | None  # None: could not be judged (a side has no figure)


def judge(row: Row, goal: Goal) -> Verdict:
    """Compare medians as the goal says."""
    left = row.median(*goal.left)
    if isinstance(goal.right, tuple):
        right = row.median(*goal.right)
        what = f"{goal.right[0]} {goal.right[1]}"
    else:
        right = goal.right
        what = fmt(goal.right)
    op = ">=" if goal.higher_better else "<="
    text = goal.label or f"{goal.left[0]} {goal.left[1]} {op} {goal.factor:g}x {what}"
    if left != left or right != right or right == 0:
        return Verdict(row.rid, text, float("nan"), None)
    ratio = left / right
    ok = ratio >= goal.factor if goal.higher_better else ratio <= goal.factor
    return Verdict(row.rid, text, ratio, ok)


def verdict_word(passed: bool | None) -> str:
    """PASS, MISS or ``n/a`` (no figure to judge)."""
    return "n/a" if passed is None else ("PASS" if passed else "MISS")


def print_row(row: Row, out: Any = None) -> list[Verdict]:
    """Print one row: its clients' min / median / max per metric, kaffe's ratios to every peer
    (median over median), the goals with PASS/MISS, and the issue's reference figures."""
    out = out if out is not None else sys.stdout
    print(f"\n[{row.rid}] {row.title}", file=out)
    for line in row.details:
        print(f"      {line}", file=out)
    width = max([28, *(len(c.name) for c in row.clients)])
    mw = max([16, *(len(m.name) for m in row.metrics)])
    print(
        f"      {'client':<{width}} {'metric':<{mw}} {'min':>11} {'median':>11} {'max':>11}  runs",
        file=out,
    )
    for client in row.clients:
        runs = row.samples.get(client.name, [])
        for metric in row.metrics:
            vals = row.values(client.name, metric.name)
            if not vals:
                continue
            lo, hi = min(vals), max(vals)
            print(
                f"      {client.name:<{width}} {metric.name:<{mw}} {fmt(lo):>11} "
                f"{fmt(statistics.median(vals)):>11} {fmt(hi):>11}  {len(vals)}",
                file=out,
            )
        if not any(row.values(client.name, m.name) for m in row.metrics):
            print(f"      {client.name:<{width}} (no figure)", file=out)
        notes = sorted({s.note for s in runs if s.note})
        errors = sorted({s.error for s in runs if s.error})
        for note in notes:
            print(f"      {'':<{width}}   note: {note}", file=out)
        for err in errors:
            print(f"      {'':<{width}}   FAILED: {err}", file=out)
    kaffes = [c for c in row.clients if c.kaffe]
    peers = [c for c in row.clients if not c.kaffe]
    if kaffes and peers:
        print("      kaffe / peer (median over median):", file=out)
        for k in kaffes:
            for p in peers:
                parts = []
                for metric in row.metrics:
                    km, pm = row.median(k.name, metric.name), row.median(p.name, metric.name)
                    if km == km and pm == pm and pm != 0:
                        parts.append(f"{metric.name} {km / pm:.2f}x")
                if parts:
                    print(f"        {k.name} / {p.name}: {', '.join(parts)}", file=out)
    verdicts = [judge(row, g) for g in row.goals]
    for v in verdicts:
        ratio = "-" if v.ratio != v.ratio else f"{v.ratio:.2f}x"
        print(f"      goal: {v.text:<70} ratio {ratio:>8}  {verdict_word(v.passed)}", file=out)
    if row.references:
        print("      reference figures (brod/Kaffe, earlier runs):", file=out)
        for ref in row.references:
            print(f"        {ref}", file=out)
    out.flush()
    return verdicts


# ------------------------------------------------------------------ run context


@dataclass
class Budget:
    """A run's wall-clock allowance: a client that has not finished its messages by then
    stops, and its rate is counted from what it did (the row says so)."""

    seconds: float
    started: float = field(default_factory=time.perf_counter)

    def over(self) -> bool:
        """Whether the allowance is used up."""
        return time.perf_counter() - self.started > self.seconds


def capped_note(done: int, wanted: int, seconds: float, verb: str) -> str:
    """The note a capped run gets."""
    return (
        f"capped by the per-run budget: {done:,} of {wanted:,} {verb} in {seconds:.1f} s; "
        "msg/s counts what was done"
    )


@dataclass
class Bench:
    """The broker and the run-wide settings every workload needs."""

    broker: LocalBroker
    topics: TopicFactory
    repeat: int
    budget_s: float
    quick: bool = False

    @property
    def bootstrap(self) -> str:
        """PLAINTEXT ``host:port``."""
        return self.broker.bootstrap

    @property
    def ssl_bootstrap(self) -> str:
        """SSL (mutual TLS) ``host:port``."""
        host, port = self.broker.listener("SSL")
        return f"{host}:{port}"

    def topic(self, partitions: int, configs: Mapping[str, str] | None = None) -> str:
        """A fresh topic whose partitions all have a leader."""
        return self.topics(partitions, configs=configs, prefix="bench")

    def delete(self, *topics: str) -> None:
        """Delete topics now (rows delete theirs so the broker's disk stays small)."""
        for t in topics:
            with contextlib.suppress(Exception):
                self.broker.admin.delete_topic(t)
            if t in self.topics.created:
                self.topics.created.remove(t)

    @staticmethod
    def group() -> str:
        """A fresh consumer group name."""
        return f"bench-{uuid.uuid4().hex[:10]}"

    # -------------------------------------------------------------- TLS with client certificates

    @contextlib.contextmanager
    def heroku_env(self) -> Iterator[None]:
        """Heroku's variables for the broker's SSL listener (``KAFKA_URL``,
        ``KAFKA_CLIENT_CERT``, ``KAFKA_CLIENT_CERT_KEY``, ``KAFKA_TRUSTED_CERT``), restored
        afterwards; kaffe reads them with ``heroku_kafka_env=True``."""
        certs = self.broker.certs
        new = {
            "KAFKA_URL": f"kafka+ssl://{self.ssl_bootstrap}",
            "KAFKA_CLIENT_CERT": certs.client.cert_pem,
            "KAFKA_CLIENT_CERT_KEY": certs.client.key_pem,
            "KAFKA_TRUSTED_CERT": certs.ca.cert_pem,
        }
        saved = {k: os.environ.get(k) for k in [*new, "KAFKA_PREFIX"]}
        os.environ.update(new)
        os.environ.pop("KAFKA_PREFIX", None)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def confluent_ssl(self) -> dict[str, str]:
        """librdkafka settings for the same listener and certificates."""
        certs = self.broker.certs
        return {
            "bootstrap.servers": self.ssl_bootstrap,
            "security.protocol": "SSL",
            "ssl.ca.location": str(certs.ca.cert_path),
            "ssl.certificate.location": str(certs.client.cert_path),
            "ssl.key.location": str(certs.client.key_path),
        }

    def python_client_conn(self, tls: bool) -> dict[str, Any]:
        """aiokafka / kafka-python connection keys: the PLAINTEXT bootstrap, or the SSL
        listener with an ``ssl.SSLContext`` holding the same CA and client certificate."""
        if not tls:
            return {"bootstrap_servers": self.bootstrap}
        import ssl

        certs = self.broker.certs
        ctx = ssl.create_default_context(cafile=str(certs.ca.cert_path))
        ctx.load_cert_chain(str(certs.client.cert_path), str(certs.client.key_path))
        return {
            "bootstrap_servers": self.ssl_bootstrap,
            "security_protocol": "SSL",
            "ssl_context": ctx,
        }


def run_safely(fn: Callable[[], Sample]) -> Sample:
    """Run one client run; an exception becomes a failed sample (printed, never dropped)."""
    try:
        return fn()
    except Exception as exc:
        return Sample(error=f"{type(exc).__name__}: {exc}"[:300])


def progress(text: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"  .. {text}", file=sys.stderr, flush=True)


def run_row(row: Row, repeat: int, run: Callable[[str], Sample]) -> None:
    """``run(client name)`` for every client of ``row``, ``repeat`` rounds, clients interleaved
    (a reference-only client runs in the first round only: it just sets the scene)."""
    for r in range(repeat):
        for client in row.clients:
            if client.reference_only and r > 0:
                continue
            t0 = time.perf_counter()
            sample = run_safely(functools.partial(run, client.name))
            row.add(client.name, sample)
            shown = ", ".join(f"{k} {fmt(v)}" for k, v in sample.values.items())
            progress(
                f"[{row.rid}] run {r + 1} {client.name}: {shown}{sample.error} "
                f"({time.perf_counter() - t0:.1f} s wall)"
            )
