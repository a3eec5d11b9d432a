"""The single-node local broker (combined broker+controller, KRaft) and its external stand-in.

:class:`LocalBroker` listens on 127.0.0.1 with free ports on:

* ``PLAINTEXT``
* ``SSL`` (mutual TLS, ``ssl.client.auth=required``, PEM key/trust stores inline)
* ``SASL_PLAINTEXT`` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)
* ``SASL_SSL`` (same mechanisms, server certificate, no client certificate)
* ``CONTROLLER`` (KRaft, not for clients)

It is ready when every listener accepts TCP, ApiVersions on PLAINTEXT answers error code 0 and
the Java Admin client's describeCluster lists the node (i.e. it registered with the controller
and is unfenced).  :class:`ExternalBroker` wraps ``KAFFE_TEST_BOOTSTRAP=host:port``.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from . import probe
from .admin import AdminError, AdminTool
from .certs import CertBundle, make_certs
from .config import CLIENT_LISTENERS, CONTROLLER, SaslUser, single_node_properties
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
from .ports import LOOPBACK, accepts, free_ports
from .process import ManagedProcess, ProcessError, poll_until

log = logging.getLogger("kaffe.harness.broker")

READY_TIMEOUT_S = 60.0
NODE_ID = 1
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


class BrokerStartError(ProcessError):
    """The broker did not become ready (died, or the deadline passed); carries its log tail."""


class NotLocalBrokerError(RuntimeError):
    """The feature needs the harness's own broker, but tests run against an external one."""


@dataclass(frozen=True)
class StartTimings:
    """Seconds spent formatting storage and from JVM launch until ready."""

    format_s: float
    ready_s: float

    @property
    def total_s(self) -> float:
        """Format start -> ready."""
        return self.format_s + self.ready_s


def _make_users() -> dict[str, SaslUser]:
    return {name: SaslUser(name, f"{name}-{secrets.token_hex(8)}") for name in ("admin", "alice")}


class LocalBroker:
    """A single combined broker+controller node run by the harness."""

    external = False

    def __init__(
        self,
        jars: KafkaJars | None = None,
        *,
        run_dir: Path | None = None,
        detached: bool = False,
        ready_timeout: float = READY_TIMEOUT_S,
        extra_properties: Mapping[str, str] | None = None,
    ) -> None:
        """Prepare a broker; :meth:`start` (or ``with``) creates files and starts the JVM.

        ``jars`` defaults to :func:`kafka_harness.jars.fetch` for ``$KAFKA_LINE``.
        ``detached`` brokers outlive this Python process (``python -m kafka_harness up``).
        ``extra_properties`` are merged over the generated ``server.properties`` (for tests
        that need, say, ``connections.max.reauth.ms``).
        """
        self.extra_properties: dict[str, str] = dict(extra_properties or {})
        self.jars = jars if jars is not None else fetch()
        self.run_dir = run_dir if run_dir is not None else new_run_dir("broker")
        self.detached = detached
        self.ready_timeout = ready_timeout
        self.dirs = NodeDirs(self.run_dir / "node-1")
        self.cluster_id = random_cluster_id()
        self.users = _make_users()
        self.ports: dict[str, int] = {}
        self.timings: StartTimings | None = None
        self._certs: CertBundle | None = None
        self._proc: ManagedProcess | None = None
        self._admin: AdminTool | None = None
        self._extra_admins: list[AdminTool] = []

    # ---------------------------------------------------------------- description

    @property
    def version(self) -> str:
        """Kafka version, e.g. ``4.1.2``."""
        return self.jars.version

    @property
    def line(self) -> str:
        """Kafka release line, e.g. ``4.1``."""
        return self.jars.line

    @property
    def certs(self) -> CertBundle:
        """The certificates (broker, CA, clients) written into the run dir."""
        if self._certs is None:
            raise ProcessError("broker not started yet")
        return self._certs

    @property
    def plain_users(self) -> Mapping[str, SaslUser]:
        """SASL/PLAIN users (``admin``, ``alice``)."""
        return self.users

    @property
    def scram_users(self) -> Mapping[str, SaslUser]:
        """SCRAM-SHA-256/512 users, created at format time (same names and passwords)."""
        return self.users

    @property
    def listeners(self) -> dict[str, tuple[str, int]]:
        """Client listener name -> (host, port)."""
        return {name: (LOOPBACK, self.ports[name]) for name in CLIENT_LISTENERS}

    def listener(self, name: str) -> tuple[str, int]:
        """(host, port) of one client listener, e.g. ``"SASL_SSL"``."""
        return self.listeners[name]

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:<PLAINTEXT port>``."""
        host, port = self.listener("PLAINTEXT")
        return f"{host}:{port}"

    @property
    def log_dir(self) -> Path:
        """Where ``server.log`` and ``stdout.log`` are."""
        return self.dirs.logs

    @property
    def pid(self) -> int | None:
        """The broker JVM's pid, if running."""
        return self._proc.pid if self._proc is not None and self._proc.running() else None

    def rss_bytes(self) -> int | None:
        """Resident memory of the broker JVM."""
        pid = self.pid
        return rss_bytes(pid) if pid is not None else None

    def require_local(self, feature: str) -> None:
        """No-op: this broker has every listener."""

    def connection_info(self, *, include_secrets: bool = True) -> dict[str, Any]:
        """JSON-able description (bootstrap, listeners, users, cert paths, pid, run dir)."""
        certs = self.certs
        return {
            "version": self.version,
            "line": self.line,
            "bootstrap": self.bootstrap,
            "listeners": {k: f"{h}:{p}" for k, (h, p) in self.listeners.items()},
            "controller": f"{LOOPBACK}:{self.ports[CONTROLLER]}",
            "cluster_id": self.cluster_id,
            "sasl_mechanisms": ["PLAIN", *SCRAM_MECHANISMS],
            "users": {
                u.name: (u.password if include_secrets else "***") for u in self.users.values()
            },
            "certs": {
                "ca": str(certs.ca.cert_path),
                "client_cert": str(certs.client.cert_path),
                "client_key": str(certs.client.key_path),
            },
            "pid": self.pid,
            "run_dir": str(self.run_dir),
            "logs": str(self.log_dir),
        }

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> LocalBroker:
        """Write certs and config, format storage, start the JVM and wait until ready."""
        if self._proc is not None:
            raise ProcessError("broker already started")
        self.dirs.create()
        self._certs = make_certs(self.run_dir / "certs")
        chosen = free_ports(len(CLIENT_LISTENERS) + 1)
        self.ports = dict(zip((*CLIENT_LISTENERS, CONTROLLER), chosen, strict=True))
        props = single_node_properties(
            line=self.line,
            ports=self.ports,
            data_dir=self.dirs.data,
            certs=self._certs,
            plain_users=list(self.users.values()),
        )
        props.update(self.extra_properties)
        write_config(self.dirs, props, f"kaffe harness single node, Kafka {self.version}")

        t0 = time.monotonic()
        scram: list[str] = []
        for user in self.users.values():
            for mech in SCRAM_MECHANISMS:
                scram += ["--add-scram", f"{mech}=[name={user.name},password={user.password}]"]
        run_formats([format_process(self.jars, self.dirs, self.cluster_id, scram)])
        t1 = time.monotonic()

        self._proc = broker_process(
            self.jars, self.dirs, name=f"kafka broker {self.run_dir.name}", detached=self.detached
        )
        self._proc.start()
        log.info("broker pid %d starting; logs in %s", self._proc.pid, self.log_dir)
        try:
            self._wait_ready(t1 + self.ready_timeout)
        except BaseException:
            self.stop()
            raise
        self.timings = StartTimings(format_s=t1 - t0, ready_s=time.monotonic() - t1)
        log.info(
            "Kafka %s ready at %s (format %.1f s, start %.1f s)",
            self.version,
            self.bootstrap,
            self.timings.format_s,
            self.timings.ready_s,
        )
        return self

    def _check_alive(self) -> None:
        proc = self._proc
        code = proc.returncode() if proc is not None else -1
        if code is not None:
            raise BrokerStartError(
                f"Kafka broker exited with code {code} during start-up; logs kept in "
                f"{self.log_dir}\n{self.dirs.log_tail()}"
            )

    def _wait_ready(self, deadline: float) -> None:
        def remaining() -> float:
            return max(0.1, deadline - time.monotonic())

        def step(what: str, condition: Any) -> None:
            try:
                poll_until(condition, timeout=remaining(), what=what, check=self._check_alive)
            except TimeoutError as exc:
                raise BrokerStartError(
                    f"{exc}; logs kept in {self.log_dir}\n{self.dirs.log_tail()}"
                ) from None

        step(
            "every listener to accept connections",
            lambda: True if all(accepts(LOOPBACK, p, 0.5) for p in self.ports.values()) else None,
        )

        def api_versions_ok() -> bool | None:
            try:
                result = probe.api_versions(LOOPBACK, self.ports["PLAINTEXT"], timeout=2.0)
            except (OSError, probe.ProbeError):
                return None
            return True if result.error_code == 0 else None

        step("ApiVersions on PLAINTEXT to answer error_code 0", api_versions_ok)

        admin = AdminTool(self.jars, self.bootstrap, work_dir=self.dirs.logs, name="admin")
        self._admin = admin
        admin.start(timeout=remaining())

        def registered() -> bool | None:
            try:
                desc = admin.describe_cluster(timeout=min(10.0, remaining()))
            except AdminError as exc:
                log.debug("describe_cluster not yet: %s", exc)
                return None
            return True if NODE_ID in desc.node_ids else None

        step("the broker to register (describe_cluster lists node 1)", registered)

    @property
    def admin(self) -> AdminTool:
        """The long-lived admin tool on the PLAINTEXT listener."""
        if self._admin is None:
            raise ProcessError("broker not started")
        return self._admin

    def new_admin(self, props: Mapping[str, str], *, listener: str, name: str) -> AdminTool:
        """Start another admin tool on ``listener`` with extra client ``props`` (SASL, SSL).

        It is closed with the broker; close it earlier yourself if you like.
        """
        host, port = self.listener(listener)
        tool = AdminTool(
            self.jars, f"{host}:{port}", work_dir=self.dirs.logs, props=props, name=name
        )
        self._extra_admins.append(tool)  # registered first so stop() closes it even if
        tool.start()  # start() fails half-way
        return tool

    def close_admins(self) -> None:
        """Close every admin tool of this broker (the broker keeps running)."""
        for tool in [*self._extra_admins, *([self._admin] if self._admin else [])]:
            try:
                tool.close()
            except Exception as exc:  # cleanup must go on
                log.warning("closing %s: %s", tool.name, exc)
        self._extra_admins.clear()
        self._admin = None

    def stop(self, timeout: float = 20.0) -> None:
        """Close admin tools and stop the broker (SIGTERM, then SIGKILL after ``timeout``)."""
        self.close_admins()
        if self._proc is not None:
            self._proc.stop(timeout)
            self._proc = None

    def remove_run_dir(self) -> None:
        """Delete the run dir (configs, data, logs, certs)."""
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> LocalBroker:
        """Start and return self."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the broker."""
        self.stop()


class ExternalBroker:
    """Stand-in for :class:`LocalBroker` when ``KAFFE_TEST_BOOTSTRAP=host:port`` is set.

    Only the PLAINTEXT listener is known; anything needing the harness's SSL/SASL listeners,
    certificates or users raises :class:`NotLocalBrokerError` with the reason.
    """

    external = True
    version: str | None = None
    line: str | None = None

    def __init__(self, bootstrap: str, jars: KafkaJars | None = None) -> None:
        """Describe the external broker; the admin tool starts on first use."""
        host, sep, port = bootstrap.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"KAFFE_TEST_BOOTSTRAP must be host:port, got {bootstrap!r}")
        self.bootstrap = bootstrap
        self.listeners: dict[str, tuple[str, int]] = {"PLAINTEXT": (host, int(port))}
        self._jars = jars
        self._admin: AdminTool | None = None
        self._work_dir: Path | None = None
        self.run_dir: Path | None = None

    def listener(self, name: str) -> tuple[str, int]:
        """(host, port) of ``PLAINTEXT``; other listeners raise :class:`NotLocalBrokerError`."""
        if name not in self.listeners:
            self.require_local(f"the {name} listener")
        return self.listeners[name]

    def require_local(self, feature: str) -> None:
        """Always raises: an external broker has none of the harness's extra features."""
        raise NotLocalBrokerError(
            f"{feature} needs the harness's own broker (SSL/SASL listeners, test certificates "
            f"and users it configures itself); KAFFE_TEST_BOOTSTRAP={self.bootstrap} points at "
            "an external broker. Unset KAFFE_TEST_BOOTSTRAP to run this test."
        )

    @property
    def certs(self) -> CertBundle:
        """Not available for an external broker."""
        self.require_local("test certificates")
        raise AssertionError("unreachable")

    @property
    def admin(self) -> AdminTool:
        """Admin tool on the external bootstrap (needs the Kafka jars locally)."""
        if self._admin is None:
            jars = self._jars if self._jars is not None else fetch()
            self._work_dir = new_run_dir("external")
            self.run_dir = self._work_dir
            self._admin = AdminTool(jars, self.bootstrap, work_dir=self._work_dir).start()
        return self._admin

    def stop(self, timeout: float = 20.0) -> None:
        """Close the admin tool (the external broker itself is left alone)."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None


BrokerHandle = LocalBroker | ExternalBroker
"""What the ``kafka_broker`` fixture yields: the harness's broker or an external one."""
