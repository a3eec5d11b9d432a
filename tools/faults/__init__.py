"""Fault scenarios for kaffe on a three-node Kafka cluster (``make faults``).

What it checks: with the defaults (``acks=all``, idempotence on) a kaffe producer loses and
duplicates nothing and keeps each key's order while brokers die, restart, stall or drop
connections, and a kaffe consumer group handles every message at least once.

Modules, and the API to build on (a soak run, say):

* :mod:`.proxy`     :class:`ProxyServer` / :class:`FaultProxy`: a Kafka-aware TCP proxy per
  broker with run-time modes ``PASS``, ``Delay(s)``, ``DROP``, ``BLACKHOLE``, ``HALF_OPEN``,
  ``ResetMidResponse(apis, every)``.
* :mod:`.cluster`   :func:`start_cluster_with_proxies` -> :class:`FaultCluster` (``bootstrap``
  through the proxies, ``direct_bootstrap`` without; ``create_topic``, ``inject(fault,
  target)`` with targets ``node id | Leader(topic, p) | Coordinator(group) |
  TxnCoordinator(id)``, ``heal()``, ``close()``).
* :mod:`.workload`  :class:`Workload` ``(bootstrap, direct_bootstrap, WorkloadConfig, out_dir)``
  with ``start()``, ``wait_progress(acked, handled, timeout)``, ``progress()``, ``stop()``,
  ``results()`` -> :class:`WorkloadResults`; the processes are :mod:`.worker`.
* :mod:`.check`     :func:`read_topic` (confluent-kafka) and :func:`check` ->
  :class:`ScenarioResult`.
* :mod:`.scenarios` the scenarios (``FULL``, ``SHORT``) and :func:`run_scenario`.
* :mod:`.report`    the table and the JSON file.

::

    from faults import *
    with start_cluster_with_proxies() as fc:
        topic = fc.create_topic(6)
        wl = Workload(fc.bootstrap, fc.direct_bootstrap, WorkloadConfig(topic, "g1"), out_dir)
        wl.start()
        wl.wait_progress(acked=500, handled=500)
        node = fc.inject("kill", Leader(topic, 0))
        fc.wait_new_leader(topic, 0, node)
        fc.inject("restart", node)
        wl.stop()
        result = check("kill", wl.results(), read_topic(fc.direct_bootstrap, topic))

Command line: ``python -m faults [--short] [--only NAME,...] [--list]``.
"""

from .check import ScenarioResult, check, read_topic
from .cluster import (
    ACTIONS,
    Coordinator,
    FaultCluster,
    Leader,
    Target,
    TxnCoordinator,
    start_cluster_with_proxies,
)
from .proxy import (
    BLACKHOLE,
    DROP,
    HALF_OPEN,
    PASS,
    Delay,
    FaultProxy,
    Mode,
    ProxyServer,
    ResetMidResponse,
)
from .workload import (
    Progress,
    TransformConfig,
    Workload,
    WorkloadConfig,
    WorkloadError,
    WorkloadResults,
)

__all__ = [
    "ACTIONS",
    "BLACKHOLE",
    "DROP",
    "HALF_OPEN",
    "PASS",
    "Coordinator",
    "Delay",
    "FaultCluster",
    "FaultProxy",
    "Leader",
    "Mode",
    "Progress",
    "ProxyServer",
    "ResetMidResponse",
    "ScenarioResult",
    "Target",
    "TransformConfig",
    "TxnCoordinator",
    "Workload",
    "WorkloadConfig",
    "WorkloadError",
    "WorkloadResults",
    "check",
    "read_topic",
    "start_cluster_with_proxies",
]
