"""The fault scenarios and the runner of one scenario (:func:`run_scenario`).

Each scenario gets a fresh topic (6 partitions, replication factor 3, ``min.insync.replicas``
2) and a fresh group, starts the workload, waits until it is under way, runs its fault steps,
heals the cluster, waits until production and consumption go on, stops the workload (draining
the group) and checks the topic (:func:`faults.check.check`).

Every outage a produce call can meet is shorter than the producer's default delivery deadline
(a blackhole lasts 20 s; a killed, stopped or SIGSTOPped leader is replaced within seconds) and
the cluster never loses its quorum, so a produce call that fails counts against the client.

:data:`FULL` is ``make faults`` (every scenario, minutes each); :data:`SHORT` (a leader kill, a
reset in the middle of Produce responses, a blackholed leader) is the version ``make test``
runs, a few minutes in all.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka_harness.admin import AdminError

from .check import ScenarioResult, check, read_topic
from .cluster import OFFSETS_TOPIC, TXN_TOPIC, Coordinator, FaultCluster, Leader, TxnCoordinator
from .proxy import BLACKHOLE, DROP, HALF_OPEN, PASS, Delay, Mode, ProxyStats, ResetMidResponse
from .workload import TransformConfig, Workload, WorkloadConfig

log = logging.getLogger("kaffe.faults.scenarios")

PARTITIONS = 6
WARMUP = 1000
"""Messages acknowledged and handled before the first fault (and after healing)."""
STEP_PROGRESS = 300
"""Messages acknowledged and handled between the faults of one scenario."""
PROGRESS_TIMEOUT_S = 120.0


@dataclass
class Ctx:
    """What a scenario's steps work with."""

    fc: FaultCluster
    wl: Workload
    topic: str
    group: str
    output: str | None = None
    transactional_id: str | None = None
    t0: float = field(default_factory=time.monotonic)
    timeline: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        """Add a line to the scenario's timeline (seconds since the workload started)."""
        line = f"{time.monotonic() - self.t0:7.1f} s  {what}"
        self.timeline.append(line)
        log.info("%s", line)

    def inject(self, fault: Any, target: Any) -> int:
        """:meth:`FaultCluster.inject`, noted in the timeline."""
        node = self.fc.inject(fault, target)
        self.note(f"{fault.describe() if isinstance(fault, Mode) else fault} node {node}")
        return node

    def hold(self, seconds: float) -> None:
        """Let the fault last ``seconds`` (the fault's duration, not a synchronisation), while
        watching that the workload processes live."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.wl.poll()
            self.wl.check_alive()
            time.sleep(min(0.5, max(0.0, end - time.monotonic())))

    def progress(self, n: int = STEP_PROGRESS, timeout: float = PROGRESS_TIMEOUT_S) -> None:
        """Wait until ``n`` more messages are acknowledged and ``n`` more handled."""
        t = time.monotonic()
        self.wl.wait_progress(acked=n, handled=n, timeout=timeout)
        self.note(f"+{n} acknowledged and handled in {time.monotonic() - t:.1f} s")

    def settle(self) -> None:
        """Wait until the cluster has all three brokers and every partition of the topics
        the workload uses (the internal ones too) is fully in sync again."""
        self.fc.cluster.wait_until_nodes(3, timeout=120)
        topics = [self.topic, OFFSETS_TOPIC]
        if self.output is not None:
            topics += [self.output, TXN_TOPIC]
        for topic in topics:
            try:
                self.fc.wait_full_isr(topic, timeout=120)
            except AdminError:
                if topic == self.topic:
                    raise

    def expect(self, ok: bool, problem: str) -> None:
        """Record ``problem`` unless ``ok`` (e.g. a fault that never hit anything)."""
        if not ok:
            self.problems.append(problem)


Steps = Callable[[Ctx], None]


@dataclass(frozen=True)
class Scenario:
    """A named list of fault steps (``steps(ctx)``)."""

    name: str
    about: str
    steps: Steps
    transform: bool = False


# ---------------------------------------------------------------------- steps


def leader_kills(partitions: list[int]) -> Steps:
    """SIGKILL the leader of each partition in turn; restart it before the next."""

    def steps(ctx: Ctx) -> None:
        for p in partitions:
            ctx.settle()
            node = ctx.inject("kill", Leader(ctx.topic, p))
            new = ctx.fc.wait_new_leader(ctx.topic, p, node)
            ctx.note(f"partition {p} now led by node {new}")
            ctx.progress()
            ctx.inject("restart", node)
            ctx.progress()

    return steps


def rolling_restarts(rounds: int) -> Steps:
    """Stop (SIGTERM, controlled shutdown) and restart every broker in turn, ``rounds`` times,
    waiting for a full ISR before the next, as an operator would."""

    def steps(ctx: Ctx) -> None:
        for _ in range(rounds):
            for node in sorted(ctx.fc.cluster.nodes):
                ctx.settle()
                ctx.inject("stop", node)
                ctx.inject("restart", node)
                ctx.fc.cluster.wait_until_nodes(3, timeout=120)
                ctx.progress()

    return steps


def zombie_leader(seconds: float) -> Steps:
    """SIGSTOP the leader of partition 0 for ``seconds`` (longer than the brokers' 3 s and the
    group's 30 s session timeouts: it is fenced and loses its partitions while it sleeps),
    then SIGCONT: it wakes up still believing it leads."""

    def steps(ctx: Ctx) -> None:
        ctx.settle()
        node = ctx.inject("pause", Leader(ctx.topic, 0))
        new = ctx.fc.wait_new_leader(ctx.topic, 0, node)
        ctx.note(f"partition 0 now led by node {new}")
        ctx.hold(seconds)
        ctx.inject("resume", node)
        ctx.progress()

    return steps


def proxy_fault(
    mode: Mode,
    target: Callable[[Ctx], Any],
    seconds: float,
    *,
    hit: Callable[[ProxyStats], int],
    what: str,
) -> Steps:
    """Switch the proxy of ``target(ctx)`` (``None``: every proxy) to ``mode`` for
    ``seconds``, then back to pass; require that ``hit(stats)`` grew (the fault did bite)."""

    def steps(ctx: Ctx) -> None:
        ctx.settle()
        tgt = target(ctx)
        nodes = sorted(ctx.fc.cluster.nodes) if tgt is None else [ctx.fc.resolve(tgt)]
        before = {n: hit(ctx.fc.proxy(n).stats()) for n in nodes}
        for n in nodes:
            ctx.inject(mode, n)
        ctx.hold(seconds)
        for n in nodes:
            ctx.inject(PASS, n)
        bit = sum(hit(ctx.fc.proxy(n).stats()) - before[n] for n in nodes)
        ctx.note(f"{what}: {bit}")
        ctx.expect(bit > 0, f"the fault never bit: 0 {what}")
        ctx.progress()

    return steps


def drops(times: int, seconds: float) -> Steps:
    """Close every client connection (all proxies) and refuse new ones for ``seconds``,
    ``times`` times."""

    def steps(ctx: Ctx) -> None:
        ctx.settle()
        for _ in range(times):
            before = sum(ctx.fc.proxy(n).stats().dropped for n in ctx.fc.cluster.nodes)
            for n in sorted(ctx.fc.cluster.nodes):
                ctx.inject(DROP, n)
            ctx.hold(seconds)
            for n in sorted(ctx.fc.cluster.nodes):
                ctx.inject(PASS, n)
            dropped = sum(ctx.fc.proxy(n).stats().dropped for n in ctx.fc.cluster.nodes)
            ctx.expect(dropped > before, "no connection was dropped")
            ctx.progress()

    return steps


def txn_leader_kills(ctx: Ctx) -> None:
    """Kill the leader of an input partition, of an output partition and the transaction
    coordinator, one after the other, restarting each."""
    assert ctx.output is not None
    assert ctx.transactional_id is not None
    targets: list[Any] = [
        Leader(ctx.topic, 0),
        Leader(ctx.output, 0),
        TxnCoordinator(ctx.transactional_id),
    ]
    for target in targets:
        ctx.settle()
        node = ctx.inject("kill", target)
        ctx.note(f"killed {target}")
        ctx.progress()
        ctx.inject("restart", node)
        ctx.progress()


def _leader0(ctx: Ctx) -> Any:
    return Leader(ctx.topic, 0)


def _coordinator(ctx: Ctx) -> Any:
    return Coordinator(ctx.group)


def _everyone(ctx: Ctx) -> Any:
    return None


def _discarded(s: ProxyStats) -> int:
    return s.requests_discarded


def _unanswered(s: ProxyStats) -> int:
    return s.responses_discarded


def _frames(s: ProxyStats) -> int:
    return s.frames


def _resets(api: str) -> Callable[[ProxyStats], int]:
    return lambda s: s.resets.get(api, 0)


FULL: list[Scenario] = [
    Scenario(
        "leader-kill",
        "kill -9 the leader of each partition in turn, restart it",
        leader_kills(list(range(PARTITIONS))),
    ),
    Scenario("rolling-restart", "rolling restart of all brokers, twice", rolling_restarts(2)),
    Scenario("zombie-leader", "SIGSTOP a leader for 35 s, then SIGCONT", zombie_leader(35.0)),
    Scenario(
        "blackhole-leader",
        "blackhole the leader of partition 0 for 20 s",
        proxy_fault(BLACKHOLE, _leader0, 20.0, hit=_discarded, what="requests swallowed"),
    ),
    Scenario(
        "blackhole-coordinator",
        "blackhole the group coordinator for 20 s",
        proxy_fault(BLACKHOLE, _coordinator, 20.0, hit=_discarded, what="requests swallowed"),
    ),
    Scenario(
        "half-open-leader",
        "half-open connections to the leader of partition 0 for 20 s",
        proxy_fault(HALF_OPEN, _leader0, 20.0, hit=_unanswered, what="responses swallowed"),
    ),
    Scenario("drop-connections", "drop every connection for 3 s, three times", drops(3, 3.0)),
    Scenario(
        "delay",
        "300 ms added each way on every broker for 20 s",
        proxy_fault(Delay(seconds=0.3), _everyone, 20.0, hit=_frames, what="frames delayed"),
    ),
    Scenario(
        "reset-produce",
        "reset every 5th Produce response halfway, all brokers, 20 s",
        proxy_fault(
            ResetMidResponse(apis=("produce",), every=5),
            _everyone,
            20.0,
            hit=_resets("produce"),
            what="Produce responses cut",
        ),
    ),
    Scenario(
        "reset-fetch",
        "reset every 5th Fetch response halfway, all brokers, 20 s",
        proxy_fault(
            ResetMidResponse(apis=("fetch",), every=5),
            _everyone,
            20.0,
            hit=_resets("fetch"),
            what="Fetch responses cut",
        ),
    ),
    Scenario(
        "txn-leader-kill",
        "consume-transform-produce in transactions; kill input/output leaders, txn coordinator",
        txn_leader_kills,
        transform=True,
    ),
]

SHORT: list[Scenario] = [
    Scenario(
        "leader-kill-short", "kill -9 the leader of partition 0, restart it", leader_kills([0])
    ),
    Scenario(
        "reset-produce-short",
        "reset every 3rd Produce response halfway, all brokers, 10 s",
        proxy_fault(
            ResetMidResponse(apis=("produce",), every=3),
            _everyone,
            10.0,
            hit=_resets("produce"),
            what="Produce responses cut",
        ),
    ),
    Scenario(
        "blackhole-leader-short",
        "blackhole the leader of partition 0 for 10 s",
        proxy_fault(BLACKHOLE, _leader0, 10.0, hit=_discarded, what="requests swallowed"),
    ),
]

ALL: dict[str, Scenario] = {s.name: s for s in FULL + SHORT}


def run_scenario(
    fc: FaultCluster,
    scenario: Scenario,
    out_dir: Path,
    *,
    config: dict[str, Any] | None = None,
) -> ScenarioResult:
    """Run one scenario on ``fc`` (healthy at the start and again at the end); its workload's
    event files and logs go to ``out_dir/<name>``. ``config`` overrides
    :class:`WorkloadConfig` fields (``rate``, ``producer_config``, ...)."""
    started = time.monotonic()
    topic = fc.create_topic(PARTITIONS)
    output = fc.create_topic(PARTITIONS, prefix="faults-out") if scenario.transform else None
    group = f"faults-{scenario.name}-{uuid.uuid4().hex[:8]}"
    transform = TransformConfig(output) if output is not None else None
    cfg = WorkloadConfig(topic, group, transform=transform, **(config or {}))
    wl = Workload(fc.bootstrap, fc.direct_bootstrap, cfg, out_dir / scenario.name)
    ctx = Ctx(
        fc,
        wl,
        topic,
        group,
        output=output,
        transactional_id=transform.transactional_id if transform is not None else None,
    )
    problems: list[str] = []
    stats0 = {n: fc.proxy(n).stats() for n in fc.cluster.nodes}
    log.info("scenario %s: %s (topic %s)", scenario.name, scenario.about, topic)
    try:
        wl.start()
        ctx.note("workload started")
        ctx.progress(WARMUP)
        scenario.steps(ctx)
        fc.heal()
        ctx.settle()
        ctx.note("healed")
        ctx.progress(WARMUP)
    except Exception as exc:
        problems.append(f"step failed: {type(exc).__name__}: {exc}".splitlines()[0])
        ctx.note(f"step failed: {traceback.format_exc()}")
    finally:
        try:
            fc.heal()
        except Exception as exc:
            problems.append(f"heal failed: {exc}")
        try:
            wl.stop()
            ctx.note("workload stopped")
        except Exception as exc:
            problems.append(f"stopping the workload failed: {exc}")
            wl.kill()
    try:
        topic_log = read_topic(fc.direct_bootstrap, topic)
        output_log = (
            read_topic(fc.direct_bootstrap, output, isolation="read_committed")
            if output is not None
            else None
        )
        result = check(scenario.name, wl.results(), topic_log, output_log)
    except Exception as exc:
        result = ScenarioResult(scenario.name)
        problems.append(f"reading the topics failed: {exc}")
    result.problems[:0] = problems + ctx.problems
    result.notes = ctx.timeline
    result.seconds = time.monotonic() - started
    result.faults = {
        f"node-{n}": _delta(stats0[n], fc.proxy(n).stats()) for n in sorted(fc.cluster.nodes)
    }
    return result


def _delta(a: ProxyStats, b: ProxyStats) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: getattr(b, k) - getattr(a, k)
        for k in (
            "connections",
            "refused",
            "dropped",
            "requests_discarded",
            "responses_discarded",
            "frames",
        )
    }
    out["resets"] = {k: v - a.resets.get(k, 0) for k, v in b.resets.items()}
    return out
