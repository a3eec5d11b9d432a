"""The soak run's fault plan: which fault, on which broker, when and for how long, drawn from a
seeded random generator, so a seed names one plan (``SEED=`` repeats a run's choices; the times
are "not before": a fault that takes longer than planned delays the next one)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

__all__ = ["KINDS", "PlannedFault", "parse_duration", "plan"]

KINDS: tuple[str, ...] = ("kill", "pause", "blackhole", "reset", "rolling-restart")
"""``kill``: SIGKILL a broker, restart it after the hold. ``pause``: SIGSTOP, SIGCONT after the
hold. ``blackhole``: the broker's proxy swallows requests and answers nothing for the hold.
``reset``: the proxy cuts every few Produce/Fetch responses mid-way and resets the connection,
for the hold. ``rolling-restart``: every broker in turn stopped (SIGTERM) and restarted (no
hold, no single node)."""

NODES = (1, 2, 3)
ROLLING_RESTART_S = 45.0
"""What a rolling restart of the three brokers is planned to take (each restart waits until
the broker is back: about 10 to 15 s here)."""

_UNITS = {"h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([hms])")


@dataclass(frozen=True)
class PlannedFault:
    """One fault: start ``at_s`` seconds after the run's start (not before), hit broker
    ``node`` (``None``: every broker in turn), undo it after ``hold_s`` seconds."""

    at_s: float
    kind: str
    node: int | None
    hold_s: float


def parse_duration(text: str) -> float:
    """Seconds in ``"90s"``, ``"10m"``, ``"1h30m"`` or a plain number of seconds.

    Raises:
        ValueError: anything else, or not above zero.
    """
    spec = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", spec):
        seconds = float(spec)
    elif spec and _DURATION.sub("", spec) == "":
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(spec))
    else:
        raise ValueError(f"a duration is like 90s, 10m, 1h30m or a number of seconds: {text!r}")
    if seconds <= 0:
        raise ValueError(f"a duration must be above zero: {text!r}")
    return seconds


def plan(
    seed: int,
    duration_s: float,
    *,
    quiet_start_s: float = 30.0,
    quiet_end_s: float = 60.0,
    gap_s: tuple[float, float] = (20.0, 60.0),
    hold_s: tuple[float, float] = (5.0, 20.0),
    kinds: tuple[str, ...] = KINDS,
) -> list[PlannedFault]:
    """Faults at random intervals from ``quiet_start_s`` on: each starts ``gap_s`` (uniform)
    after the previous one was undone and is held ``hold_s`` (uniform); none is planned to end
    within the last ``quiet_end_s`` seconds (the workload catches up before the checker).
    Holds stay below the producer's default delivery deadline (about 25 s), as in the fault
    scenarios, so a produce call that fails counts against the client. A
    rolling restart (no hold) is planned to take :data:`ROLLING_RESTART_S`."""
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"fault kinds must be some of {', '.join(KINDS)}: {kinds!r}")
    if gap_s[0] > gap_s[1] or hold_s[0] > hold_s[1] or min(*gap_s, *hold_s) < 0:
        raise ValueError(f"bad ranges: gap_s={gap_s!r} hold_s={hold_s!r}")
    rng = random.Random(seed)
    faults: list[PlannedFault] = []
    at = quiet_start_s
    while True:
        kind = rng.choice(kinds)
        if kind == "rolling-restart":
            node, hold, takes = None, 0.0, ROLLING_RESTART_S
        else:
            node, hold = rng.choice(NODES), round(rng.uniform(*hold_s), 3)
            takes = hold
        if at + takes > duration_s - quiet_end_s:
            return faults
        faults.append(PlannedFault(round(at, 3), kind, node, hold))
        at += takes + rng.uniform(*gap_s)
