"""The soak run: the fault workload (:mod:`faults`) for a set time under random faults.

1. Start the three-node cluster behind the fault proxies, create a topic (6 partitions,
   replication 3, ``min.insync.replicas`` 2) and start the workload (a keyed producer process,
   three ``GroupMemberSupervisor`` processes) with ``KAFFE_SOAK_SAMPLES`` set, so every
   workload process samples itself every ``interval`` seconds (:mod:`soak.sampler`).
2. For ``duration`` seconds from the workload's start, apply the seeded fault plan
   (:mod:`soak.schedule`) with the fault scenarios' tools (:class:`faults.scenarios.Ctx`):
   each fault is applied, held, undone, and the cluster settles (every broker up, every
   partition fully in sync) before the gap to the next one is counted. A fault still running
   at the end is finished first. The steps go to ``timeline.txt``.
3. Stop the workload (the group drains what was produced), read the topic straight from the
   brokers and run the checker (:func:`faults.check`).
4. Write the report (:mod:`soak.report`) into the run's directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from faults import (
    BLACKHOLE,
    PASS,
    ResetMidResponse,
    Workload,
    WorkloadConfig,
    WorkloadError,
    check,
    read_topic,
    start_cluster_with_proxies,
)
from faults.check import ScenarioResult
from faults.proxy import Mode
from faults.scenarios import Ctx, rolling_restarts
from soak.report import FaultRecord, Report, default_warmup, write_report
from soak.sampler import ENV_INTERVAL, ENV_SAMPLES
from soak.schedule import PlannedFault, plan

__all__ = ["SoakSettings", "run_soak"]

log = logging.getLogger("kaffe.soak")

PARTITIONS = 6
RESET_EVERY = 3
"""A ``reset`` fault cuts every third Produce or Fetch response through the broker's proxy."""


@dataclass(frozen=True)
class SoakSettings:
    """One soak run: how long, which seed, where the output goes, how often to sample, how
    fast to produce (messages/s, ``None``: the fault workload's default)."""

    duration_s: float
    seed: int
    out_root: Path
    interval_s: float = 10.0
    warmup_s: float | None = None
    rate: float | None = None
    duration_text: str = ""


def _run_dir(root: Path, seed: int) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = root / f"{stamp}-seed{seed}"
    out.mkdir(parents=True, exist_ok=False)
    return out


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    """Set environment variables for the block (the workload processes inherit them)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _Faults:
    """Applies planned faults through the fault scenarios' context (:class:`faults.scenarios.Ctx`:
    inject and note, hold while watching the workload processes, settle) and records what
    happened."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.records: list[FaultRecord] = []

    def _apply(self, fault: PlannedFault) -> None:
        ctx, node = self.ctx, fault.node
        if fault.kind == "rolling-restart":
            rolling_restarts(1)(ctx)
            return
        assert node is not None
        on: str | Mode
        off: str | Mode
        if fault.kind == "kill":
            on, off = "kill", "restart"
        elif fault.kind == "pause":
            on, off = "pause", "resume"
        elif fault.kind == "blackhole":
            on, off = BLACKHOLE, PASS
        elif fault.kind == "reset":
            on, off = ResetMidResponse(apis=("produce", "fetch"), every=RESET_EVERY), PASS
        else:
            raise ValueError(f"unknown fault kind {fault.kind!r}")
        ctx.inject(on, node)
        try:
            ctx.hold(fault.hold_s)
        finally:
            ctx.inject(off, node)

    def run(self, fault: PlannedFault) -> None:
        """Apply ``fault``, hold it, undo it and settle (every broker up, every partition in
        sync). A fault that fails is recorded with its error and the cluster healed; a dead
        workload process raises :class:`faults.WorkloadError`."""
        started = time.time()
        error: str | None = None
        self.ctx.note(f"soak fault: {fault.kind} on {fault.node or 'every node'}")
        try:
            self._apply(fault)
            self.ctx.settle()
        except WorkloadError:
            self.records.append(FaultRecord(started, time.time(), fault.kind, fault.node))
            raise
        except Exception as exc:  # record it, heal, go on
            error = f"{type(exc).__name__}: {exc}"
            log.error("fault %s on %s failed: %s; healing", fault.kind, fault.node, error)
            self.ctx.fc.heal()
        self.records.append(FaultRecord(started, time.time(), fault.kind, fault.node, error))


def _counts(result: ScenarioResult, handled: int) -> dict[str, Any]:
    return {
        "produced": result.produced,
        "acknowledged": result.acknowledged,
        "lost": result.lost,
        "duplicated": result.duplicated,
        "handled": handled,
        "failed": result.failed,
        "reordered": result.reordered,
        "misplaced": result.misplaced,
        "in topic": result.in_topic,
        "unhandled": result.unhandled,
        "handled more than once": result.handled_twice,
        "longest ack stall (s)": round(result.max_ack_stall, 1),
        "longest handle stall (s)": round(result.max_handle_stall, 1),
        "verdict": "PASS" if result.passed else "FAIL",
    }


def run_soak(settings: SoakSettings) -> tuple[Report, bool]:
    """Run one soak (module docs); return the report and whether the checker passed and the
    run went the whole duration. A failure is logged and named in the report; only an
    interrupt (Ctrl-C) propagates, after the cleanup."""
    out = _run_dir(settings.out_root.resolve(), settings.seed)
    handler = logging.FileHandler(out / "soak.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    warmup_s = (
        settings.warmup_s if settings.warmup_s is not None else default_warmup(settings.duration_s)
    )
    faults = plan(settings.seed, settings.duration_s)
    log.info("soak: seed %d, %d faults planned, output in %s", settings.seed, len(faults), out)
    samples_dir = out / "samples"
    problems: list[str] = []
    counts: dict[str, Any] | None = None
    start = end = time.time()
    meta: dict[str, Any] = {
        "duration": settings.duration_text or f"{settings.duration_s:g} s",
        "seed": settings.seed,
        "warm-up": f"{warmup_s / 60:g} min",
        "sample interval": f"{settings.interval_s:g} s",
    }
    fc = start_cluster_with_proxies()
    passed = False
    workload: Workload | None = None
    ctx: Ctx | None = None
    injector: _Faults | None = None
    try:
        topic = fc.create_topic(PARTITIONS, prefix="soak")
        config = WorkloadConfig(topic, f"soak-{settings.seed}", seed=settings.seed)
        if settings.rate is not None:
            config = dataclasses.replace(config, rate=settings.rate)
        meta.update(topic=topic, rate=f"{config.rate:g} messages/s", members=config.members)
        workload = Workload(fc.bootstrap, fc.direct_bootstrap, config, out / "workload")
        ctx = Ctx(fc, workload, topic, config.group)
        injector = _Faults(ctx)
        start, t0 = time.time(), time.monotonic()
        ctx.t0 = t0
        meta["started"] = datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds")
        with _env(**{ENV_SAMPLES: str(samples_dir), ENV_INTERVAL: str(settings.interval_s)}):
            workload.start()
        try:
            for fault in faults:
                wait = t0 + fault.at_s - time.monotonic()
                if wait > 0:
                    ctx.hold(wait)
                if time.monotonic() - t0 >= settings.duration_s:
                    break
                injector.run(fault)
            left = t0 + settings.duration_s - time.monotonic()
            if left > 0:
                ctx.hold(left)
        except WorkloadError as exc:
            problems.append(f"the run stopped early: {exc}")
            log.error("soak stopped early: %s", exc)
        end = time.time()
        meta["ended"] = datetime.fromtimestamp(end, timezone.utc).isoformat(timespec="seconds")
        fc.heal()
        workload.stop()
        results = workload.results()
        result = check("soak", results, read_topic(fc.direct_bootstrap, topic))
        counts = _counts(result, len(results.handled))
        problems += result.problems
        problems += [f"produce error ({n}x): {e}" for e, n in result.errors.items()]
        passed = result.passed and not problems
    except Exception as exc:  # the report is still written, naming it
        log.exception("the soak run failed")
        problems.append(f"the run failed: {type(exc).__name__}: {exc}")
        if workload is not None:
            workload.kill()
    except BaseException:  # Ctrl-C: clean up, report what there is, stop
        problems.append("the run was interrupted")
        if workload is not None:
            workload.kill()
        raise
    finally:
        if ctx is not None:
            (out / "timeline.txt").write_text("\n".join(ctx.timeline) + "\n", encoding="utf-8")
        try:
            fc.close()
            if passed:
                fc.cluster.remove_run_dir()
            else:
                meta["broker logs"] = str(fc.run_dir)
        finally:
            report = write_report(
                out,
                sorted(samples_dir.glob("*.jsonl")),
                start=start,
                end=end,
                warmup_s=warmup_s,
                faults=injector.records if injector is not None else [],
                counts=counts,
                meta=meta,
                problems=problems,
            )
            logging.getLogger().removeHandler(handler)
            handler.close()
    return report, passed
