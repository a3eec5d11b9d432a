"""A three-node local Kafka cluster for failover tests.

Three combined broker+controller JVMs with a static 3-voter quorum and one cluster id;
PLAINTEXT listeners only (plus, with ``advertised_ports``, a second client listener per node
advertised at another port, e.g. a fault proxy's: see :class:`LocalCluster`); internal topics
with RF 3, ``min.insync.replicas=2`` and a 3 s broker session timeout so a killed node is
fenced quickly.  Ready = describeCluster lists all three.
"""

from __future__ import annotations

import logging
import shutil
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from . import probe
from .admin import AdminError, AdminTool, ClusterDescription
from .config import cluster_node_properties
from .jars import KafkaJars, fetch
from .node import (
    NodeDirs,
    broker_process,
    format_process,
    random_cluster_id,
    rss_bytes,
    run_formats,
    write_config,
)
from .paths import new_run_dir
from .ports import LOOPBACK, free_ports
from .process import ManagedProcess, ProcessError, poll_until

log = logging.getLogger("kaffe.harness.cluster")

SIZE = 3
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


class ClusterError(ProcessError):
    """A cluster node died unexpectedly or the cluster did not reach the wanted state."""


@dataclass
class ClusterNode:
    """One node: its id, ports, directories and (while running) its process."""

    node_id: int
    port: int
    controller_port: int
    dirs: NodeDirs
    proc: ManagedProcess | None = None
    external_port: int | None = None
    """The ``EXTERNAL`` listener's own port (only with ``advertised_ports``)."""

    @property
    def address(self) -> str:
        """``127.0.0.1:<PLAINTEXT port>``."""
        return f"{LOOPBACK}:{self.port}"

    def running(self) -> bool:
        """True if the JVM is running."""
        return self.proc is not None and self.proc.running()


class LocalCluster:
    """Three local KRaft nodes; see the module docstring."""

    def __init__(
        self,
        jars: KafkaJars | None = None,
        *,
        run_dir: Path | None = None,
        ready_timeout: float = READY_TIMEOUT_S,
        advertised_ports: Mapping[int, int] | None = None,
    ) -> None:
        """Prepare the cluster; :meth:`start` (or ``with``) formats and starts it.

        ``advertised_ports`` (node id -> port) gives every node a second client listener,
        ``EXTERNAL``, on a free port of its own (:attr:`ClusterNode.external_port`) but
        advertised at ``127.0.0.1:<advertised_ports[node id]>``: a client bootstrapped there
        is told to reach every broker at its advertised port, so a proxy listening on those
        ports and forwarding to the ``external_port`` sees all of the client's traffic.
        :attr:`bootstrap`, the admin tool and replication stay on ``PLAINTEXT``.
        """
        if advertised_ports is not None and sorted(advertised_ports) != list(range(1, SIZE + 1)):
            raise ClusterError(f"advertised_ports needs node ids 1..{SIZE}: {advertised_ports}")
        self.advertised_ports = dict(advertised_ports) if advertised_ports is not None else None
        self.jars = jars if jars is not None else fetch()
        self.run_dir = run_dir if run_dir is not None else new_run_dir("cluster")
        self.ready_timeout = ready_timeout
        self.cluster_id = random_cluster_id()
        self.nodes: dict[int, ClusterNode] = {}
        self.format_s: float | None = None
        self.ready_s: float | None = None
        self._admin: AdminTool | None = None
        self._admin_generation = 0

    @property
    def version(self) -> str:
        """Kafka version, e.g. ``4.1.2``."""
        return self.jars.version

    @property
    def bootstrap(self) -> str:
        """All three PLAINTEXT addresses, comma separated."""
        return ",".join(n.address for n in self.nodes.values())

    @property
    def admin(self) -> AdminTool:
        """Long-lived admin tool bootstrapped with all three nodes."""
        if self._admin is None:
            raise ClusterError("cluster not started")
        return self._admin

    def node(self, node_id: int) -> ClusterNode:
        """The node with ``node_id`` (1..3)."""
        try:
            return self.nodes[node_id]
        except KeyError:
            raise ClusterError(f"no node {node_id}; nodes are {sorted(self.nodes)}") from None

    def rss_bytes(self) -> dict[int, int | None]:
        """Resident memory per running node JVM."""
        return {
            nid: rss_bytes(n.proc.pid) if n.proc is not None and n.running() else None
            for nid, n in self.nodes.items()
        }

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> LocalCluster:
        """Format all nodes with one cluster id, start them and wait until all 3 register."""
        ports = free_ports(3 * SIZE)
        for i in range(SIZE):
            nid = i + 1
            self.nodes[nid] = ClusterNode(
                nid, ports[2 * i], ports[2 * i + 1], NodeDirs(self.run_dir / f"node-{nid}")
            )
            if self.advertised_ports is not None:
                self.nodes[nid].external_port = ports[2 * SIZE + i]
        voters = {nid: n.controller_port for nid, n in self.nodes.items()}
        for n in self.nodes.values():
            n.dirs.create()
            props = cluster_node_properties(
                line=self.jars.line,
                node_id=n.node_id,
                plaintext_port=n.port,
                controller_port=n.controller_port,
                voters=voters,
                data_dir=n.dirs.data,
                external=None
                if n.external_port is None or self.advertised_ports is None
                else (n.external_port, self.advertised_ports[n.node_id]),
            )
            write_config(
                n.dirs, props, f"kaffe harness cluster node {n.node_id}, Kafka {self.version}"
            )
        t0 = time.monotonic()
        run_formats(
            [format_process(self.jars, n.dirs, self.cluster_id) for n in self.nodes.values()]
        )
        t1 = time.monotonic()
        self.format_s = t1 - t0
        try:
            for n in self.nodes.values():
                self._launch(n)
            self._admin = self._new_admin()
            self.wait_until_nodes(
                SIZE, timeout=max(1.0, t1 + self.ready_timeout - time.monotonic())
            )
        except BaseException:
            self.close()
            raise
        self.ready_s = time.monotonic() - t1
        log.info(
            "3-node Kafka %s cluster ready at %s (format %.1f s, start %.1f s)",
            self.version,
            self.bootstrap,
            self.format_s,
            self.ready_s,
        )
        return self

    def _launch(self, node: ClusterNode) -> None:
        node.proc = broker_process(
            self.jars, node.dirs, name=f"kafka cluster node {node.node_id} ({self.run_dir.name})"
        )
        node.proc.start()

    def _check_expected_alive(self) -> None:
        for n in self.nodes.values():
            if n.proc is not None and not n.proc.running():
                raise ClusterError(
                    f"node {n.node_id} exited with code {n.proc.returncode()}; logs kept in "
                    f"{n.dirs.logs}\n{n.dirs.log_tail()}"
                )

    def _new_admin(self) -> AdminTool:
        self._admin_generation += 1
        live = [n.address for n in self.nodes.values() if n.running()]
        return AdminTool(
            self.jars,
            ",".join(live or [n.address for n in self.nodes.values()]),
            work_dir=self.run_dir / "admin",
            name=f"admin-{self._admin_generation}",
        ).start()

    def _recycle_admin(self) -> None:
        old, self._admin = self._admin, None
        if old is not None:
            try:
                old.close(timeout=5.0)
            except Exception as exc:  # the replacement matters, not the old one
                log.warning("closing the old admin tool: %s", exc)
        log.info("starting a fresh admin tool for the cluster")
        self._admin = self._new_admin()

    def describe(self, timeout: float = 10.0) -> ClusterDescription:
        """describeCluster through the admin tool."""
        return self.admin.describe_cluster(timeout=timeout)

    def wait_until_nodes(self, count: int, timeout: float = READY_TIMEOUT_S) -> ClusterDescription:
        """Poll describeCluster until exactly ``count`` brokers are live (registered, unfenced)."""
        deadline = time.monotonic() + timeout
        last: list[ClusterDescription | str] = ["no answer yet"]

        def seen() -> ClusterDescription | None:
            try:
                desc = self.describe(timeout=min(10.0, max(1.0, deadline - time.monotonic())))
            except AdminError as exc:
                last[0] = str(exc)
                if "Timeout" in exc.error_class:
                    # Seen with the 3.9 Admin client: after a node is SIGKILLed it can keep
                    # retrying only that node until the call times out.  A fresh client
                    # bootstrapped from the running nodes does not; start one.
                    self._recycle_admin()
                return None
            last[0] = desc
            return desc if len(desc.node_ids) == count else None

        try:
            return poll_until(
                seen,
                timeout=timeout,
                what=f"describe_cluster to list {count} node(s)",
                interval=0.2,
                check=self._check_expected_alive,
            )
        except TimeoutError as exc:
            raise ClusterError(f"{exc}; last answer: {last[0]}; logs in {self.run_dir}") from None

    def kill(self, node_id: int) -> None:
        """SIGKILL one node (no controlled shutdown) and reap it."""
        node = self.node(node_id)
        if node.proc is None:
            raise ClusterError(f"node {node_id} is not running")
        node.proc.kill()
        node.proc = None
        log.info("killed node %d", node_id)

    def stop(self, node_id: int, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM one node (controlled shutdown) and wait up to ``timeout`` for it to exit."""
        node = self.node(node_id)
        if node.proc is None:
            raise ClusterError(f"node {node_id} is not running")
        node.proc.signal(signal.SIGTERM)
        try:
            node.proc.wait(timeout)
        except ProcessError:
            node.proc.kill()
            node.proc = None
            raise ClusterError(f"node {node_id} ignored SIGTERM for {timeout:.0f} s") from None
        node.proc = None
        log.info("stopped node %d", node_id)

    def restart(self, node_id: int, timeout: float = READY_TIMEOUT_S) -> None:
        """Start a stopped/killed node again (same ports, same data) and wait until it answers
        ApiVersions; use :meth:`wait_until_nodes` to wait for it to register."""
        node = self.node(node_id)
        if node.running():
            raise ClusterError(f"node {node_id} is still running")
        self._launch(node)

        def answers() -> bool | None:
            try:
                result = probe.api_versions(LOOPBACK, node.port, timeout=2.0)
            except (OSError, probe.ProbeError):
                return None
            return True if result.error_code == 0 else None

        try:
            poll_until(
                answers,
                timeout=timeout,
                what=f"node {node_id} to answer ApiVersions",
                check=self._check_expected_alive,
            )
        except TimeoutError as exc:
            raise ClusterError(f"{exc}\n{node.dirs.log_tail()}") from None
        log.info("restarted node %d", node_id)

    def close(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the admin tool and every node (SIGTERM all at once, SIGKILL stragglers)."""
        if self._admin is not None:
            try:
                self._admin.close()
            except Exception as exc:  # cleanup must go on
                log.warning("closing the cluster admin tool: %s", exc)
            self._admin = None
        running = [n for n in self.nodes.values() if n.proc is not None]
        for n in running:
            if n.proc is not None:
                n.proc.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for n in running:
            if n.proc is None:
                continue
            try:
                n.proc.wait(max(0.1, deadline - time.monotonic()))
            except ProcessError:
                log.warning("node %d ignored SIGTERM; killing it", n.node_id)
                n.proc.kill()
            n.proc = None

    def remove_run_dir(self) -> None:
        """Delete the run dir (configs, data, logs)."""
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        """Start and return self."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop everything."""
        self.close()
