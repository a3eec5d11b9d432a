"""The three-node cluster behind one fault proxy per broker, and fault injection.

:func:`start_cluster_with_proxies` starts a :class:`faults.proxy.ProxyServer` with a proxy per
node, then a :class:`kafka_harness.LocalCluster` whose nodes advertise the proxies' ports on a
client listener of their own, and points each proxy at its node. A kaffe client bootstrapped
with :attr:`FaultCluster.bootstrap` reaches every broker only through its proxy; the checker,
the admin tool and the brokers' replication use :attr:`FaultCluster.direct_bootstrap` /
``PLAINTEXT``, untouched by proxy faults.

:meth:`FaultCluster.inject` ``(fault, target)`` applies one fault to one node:

* ``fault``: a process action, one of :data:`ACTIONS` (``"kill"`` SIGKILL, ``"stop"`` SIGTERM
  and wait, ``"restart"`` a killed or stopped node, ``"pause"`` SIGSTOP, ``"resume"`` SIGCONT),
  (the node's proxy refuses connections while it is down, as the broker would), or a proxy
  :class:`faults.proxy.Mode` (``PASS``, ``Delay(s)``, ``DROP``, ``BLACKHOLE``,
  ``HALF_OPEN``, ``ResetMidResponse(apis, every)``) for that node's proxy;
* ``target``: a node id (1..3), :class:`Leader` ``(topic, partition)`` (the partition's leader
  now) or :class:`Coordinator` ``(group)`` (the group's coordinator now);

and returns the node id it hit. :meth:`FaultCluster.heal` undoes everything (proxies to pass,
paused nodes resumed, stopped nodes restarted) and waits until all three brokers are back.

::

    with start_cluster_with_proxies() as fc:
        topic = fc.create_topic(partitions=6)
        node = fc.inject("kill", Leader(topic, 0))
        ...
        fc.inject("restart", node)
        fc.inject(BLACKHOLE, Coordinator("my-group"))
        fc.heal()
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from kafka_harness.admin import AdminError
from kafka_harness.cluster import SIZE, LocalCluster
from kafka_harness.jars import KafkaJars
from kafka_harness.process import poll_until

from .proxy import PASS, FaultProxy, Mode, ProxyServer

log = logging.getLogger("kaffe.faults.cluster")

Action = Literal["kill", "stop", "restart", "pause", "resume"]
ACTIONS: tuple[Action, ...] = ("kill", "stop", "restart", "pause", "resume")
OFFSETS_TOPIC = "__consumer_offsets"
TXN_TOPIC = "__transaction_state"
INTERNAL_PARTITIONS = 3
"""``offsets.topic.num.partitions`` and ``transaction.state.log.num.partitions`` of the
harness's cluster."""


@dataclass(frozen=True)
class Leader:
    """Target: the current leader of ``topic``/``partition``."""

    topic: str
    partition: int


@dataclass(frozen=True)
class Coordinator:
    """Target: the current group coordinator of consumer group ``group``."""

    group: str


@dataclass(frozen=True)
class TxnCoordinator:
    """Target: the current transaction coordinator of ``transactional_id``."""

    transactional_id: str


Target = int | Leader | Coordinator | TxnCoordinator


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode`` (UTF-16 code units), as a signed 32-bit int."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def internal_partition(key: str, partitions: int = INTERNAL_PARTITIONS) -> int:
    """The partition of ``__consumer_offsets`` / ``__transaction_state`` that owns ``key``
    (Kafka's ``Utils.abs(key.hashCode()) % partitions``)."""
    h = java_string_hash(key)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


class FaultCluster:
    """A :class:`LocalCluster` with a :class:`FaultProxy` in front of every broker."""

    def __init__(self, cluster: LocalCluster, proxies: ProxyServer) -> None:
        """Use :func:`start_cluster_with_proxies` instead."""
        self.cluster = cluster
        self.proxies = proxies
        self.paused: set[int] = set()

    # ------------------------------------------------------------------ addresses

    @property
    def bootstrap(self) -> str:
        """The proxies' addresses: what kaffe clients under test bootstrap with."""
        return ",".join(self.proxy(n).address for n in sorted(self.cluster.nodes))

    @property
    def direct_bootstrap(self) -> str:
        """The brokers' own PLAINTEXT addresses (for the checker; no faults there)."""
        return self.cluster.bootstrap

    @property
    def run_dir(self) -> Path:
        """The cluster's run dir (broker logs)."""
        return self.cluster.run_dir

    def proxy(self, node_id: int) -> FaultProxy:
        """The proxy in front of ``node_id``."""
        return self.proxies.proxies[f"node-{node_id}"]

    # ------------------------------------------------------------------ topics

    def create_topic(
        self,
        partitions: int = 6,
        *,
        replication_factor: int = 3,
        min_insync: int = 2,
        prefix: str = "faults",
        timeout: float = 60.0,
    ) -> str:
        """Create a uniquely named topic and wait until every partition's ISR is full."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.cluster.admin.create_topic(
            name, partitions, replication_factor, {"min.insync.replicas": str(min_insync)}
        )
        self.wait_full_isr(name, timeout=timeout, partitions=partitions)
        return name

    def describe(self, topic: str) -> dict[int, tuple[int | None, tuple[int, ...]]]:
        """``{partition: (leader, isr)}`` as the Java admin client sees it now."""
        desc = self.cluster.admin.describe_topic(topic, timeout=10.0)
        return {p.partition: (p.leader, p.isr) for p in desc.partitions}

    def wait_full_isr(self, topic: str, *, timeout: float = 90.0, partitions: int = 0) -> None:
        """Wait until every partition of ``topic`` has a leader and all three replicas in sync."""

        def full() -> bool | None:
            try:
                parts = self.describe(topic)
            except AdminError:
                return None
            if len(parts) < partitions:
                return None
            ok = all(leader is not None and len(isr) == SIZE for leader, isr in parts.values())
            return True if ok else None

        poll_until(full, timeout=timeout, what=f"full ISR of {topic}", interval=0.5)

    def leader(self, topic: str, partition: int) -> int | None:
        """The partition's leader now (``None`` during an election or if unknown)."""
        try:
            return self.describe(topic)[partition][0]
        except (AdminError, KeyError):
            return None

    def wait_new_leader(self, topic: str, partition: int, old: int, timeout: float = 60.0) -> int:
        """Wait until ``topic``/``partition`` is led by a node other than ``old``."""

        def moved() -> int | None:
            now = self.leader(topic, partition)
            return now if now is not None and now != old else None

        return poll_until(
            moved, timeout=timeout, what=f"a new leader of {topic}/{partition}", interval=0.2
        )

    # ------------------------------------------------------------------ faults

    def resolve(self, target: Target, timeout: float = 30.0) -> int:
        """The node id ``target`` names now (waiting up to ``timeout`` for a leader)."""
        if isinstance(target, int):
            self.cluster.node(target)
            return target
        if isinstance(target, Leader):
            topic, partition = target.topic, target.partition
        elif isinstance(target, Coordinator):
            topic, partition = OFFSETS_TOPIC, internal_partition(target.group)
        else:
            topic, partition = TXN_TOPIC, internal_partition(target.transactional_id)
        return poll_until(
            lambda: self.leader(topic, partition),
            timeout=timeout,
            what=f"the node behind {target}",
            interval=0.2,
        )

    def inject(self, fault: Action | Mode, target: Target) -> int:
        """Apply ``fault`` to the node ``target`` names; return that node id (module docs)."""
        node_id = self.resolve(target)
        if isinstance(fault, Mode):
            self.proxy(node_id).set_mode(fault)
        elif fault == "kill":
            self.cluster.kill(node_id)
            self.paused.discard(node_id)
            self.proxy(node_id).set_listening(False)
        elif fault == "stop":
            if node_id in self.paused:
                self._signal(node_id, signal.SIGCONT)
                self.paused.discard(node_id)
            self.cluster.stop(node_id)
            self.proxy(node_id).set_listening(False)
        elif fault == "restart":
            self.proxy(node_id).set_listening(True)
            self.cluster.restart(node_id)
        elif fault == "pause":
            self._signal(node_id, signal.SIGSTOP)
            self.paused.add(node_id)
        elif fault == "resume":
            self._signal(node_id, signal.SIGCONT)
            self.paused.discard(node_id)
        else:
            raise ValueError(f"unknown fault {fault!r}; use one of {ACTIONS} or a proxy Mode")
        log.info("fault %s on node %d (%s)", _describe(fault), node_id, target)
        return node_id

    def _signal(self, node_id: int, sig: signal.Signals) -> None:
        proc = self.cluster.node(node_id).proc
        if proc is None:
            raise ValueError(f"node {node_id} is not running")
        proc.signal(sig)

    def heal(self, timeout: float = 120.0) -> None:
        """Every proxy back to pass, paused nodes resumed, dead nodes restarted; wait until
        the cluster lists all three brokers."""
        self.proxies.set_all(PASS)
        for node_id in sorted(self.paused):
            self._signal(node_id, signal.SIGCONT)
        self.paused.clear()
        for node_id, node in sorted(self.cluster.nodes.items()):
            if not node.running():
                self.proxy(node_id).set_listening(True)
                self.cluster.restart(node_id, timeout=timeout)
        self.cluster.wait_until_nodes(SIZE, timeout=timeout)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop the cluster and the proxies."""
        for node_id in sorted(self.paused):
            with contextlib.suppress(ValueError):
                self._signal(node_id, signal.SIGCONT)
        self.paused.clear()
        try:
            self.cluster.close()
        finally:
            self.proxies.close()

    def __enter__(self) -> FaultCluster:
        """Return self (already started)."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop everything."""
        self.close()


def _describe(fault: Action | Mode) -> str:
    return fault.describe() if isinstance(fault, Mode) else fault


def start_cluster_with_proxies(
    jars: KafkaJars | None = None, *, run_dir: Path | None = None
) -> FaultCluster:
    """Start the proxies, then the three brokers advertising them; see the module docs."""
    proxies = ProxyServer().start()
    try:
        for node_id in range(1, SIZE + 1):
            proxies.add(f"node-{node_id}")
        cluster = LocalCluster(
            jars,
            run_dir=run_dir,
            advertised_ports={n: proxies.proxies[f"node-{n}"].port for n in range(1, SIZE + 1)},
        )
        t0 = time.monotonic()
        cluster.start()
    except BaseException:
        proxies.close()
        raise
    for node_id, node in cluster.nodes.items():
        assert node.external_port is not None
        proxies.proxies[f"node-{node_id}"].set_upstream("127.0.0.1", node.external_port)
    log.info(
        "cluster with proxies ready in %.1f s: clients %s, direct %s",
        time.monotonic() - t0,
        ",".join(p.address for p in proxies.proxies.values()),
        cluster.bootstrap,
    )
    return FaultCluster(cluster, proxies)
