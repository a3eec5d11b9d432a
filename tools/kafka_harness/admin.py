"""Python side of ``java/KafkaAdminTool.java``: a long-lived Java Admin client per broker.

The Java source is compiled once with ``javac`` into the Kafka version's cache dir
(``<cache>/kafka/<version>/admin-tool-<sha>/``) and then runs as one JVM that answers JSON
lines.  Because it is Kafka's own Admin client, it doubles as an independent check that a
listener (SASL SCRAM, SSL) really works.  Every call has a deadline on the Python side.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from .certs import CertBundle, CertKey
from .config import (
    TOOL_JVM_OPTS,
    SaslUser,
    plain_jaas,
    render_properties,
    scram_jaas,
    write_log_config,
)
from .jars import KafkaJars
from .paths import file_lock
from .process import ManagedProcess, ProcessError, start_and_wait

log = logging.getLogger("kaffe.harness.admin")

JAVA_SOURCE = Path(__file__).resolve().parent / "java" / "KafkaAdminTool.java"
MAIN_CLASS = "KafkaAdminTool"
DEFAULT_CALL_TIMEOUT_S = 30.0
START_TIMEOUT_S = 60.0
JAVAC_TIMEOUT_S = 180.0


class AdminError(RuntimeError):
    """The admin tool answered with an error (``error_class`` is the Java exception class)."""

    def __init__(self, op: str, error_class: str, message: str) -> None:
        """Record the failing operation, the Java exception class and its message."""
        super().__init__(f"{op} failed: {error_class}: {message}")
        self.op = op
        self.error_class = error_class
        self.message = message


class AdminTimeoutError(AdminError):
    """No answer from the admin tool within the Python-side deadline."""


@dataclass(frozen=True)
class ClusterDescription:
    """Result of ``describe_cluster``."""

    cluster_id: str | None
    controller: int | None
    node_ids: tuple[int, ...]


@dataclass(frozen=True)
class PartitionDescription:
    """One partition of ``describe_topic``."""

    partition: int
    leader: int | None
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


@dataclass(frozen=True)
class TopicDescription:
    """Result of ``describe_topic``."""

    name: str
    topic_id: str | None
    partitions: tuple[PartitionDescription, ...]


def compile_admin_tool(jars: KafkaJars) -> Path:
    """Compile ``KafkaAdminTool.java`` against ``jars`` once; return the classes directory."""
    source = JAVA_SOURCE.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:12]
    out = jars.home / f"admin-tool-{digest}"
    marker = out / f"{MAIN_CLASS}.class"
    if marker.is_file():
        return out
    javac = shutil.which("javac")
    if javac is None:
        raise ProcessError("`javac` is not on PATH; a JDK 17+ is needed")
    with file_lock(jars.home / ".admin-tool.lock"):
        if marker.is_file():
            return out
        staging = Path(tempfile.mkdtemp(prefix="admin-tool-", dir=jars.home))
        try:
            start_and_wait(
                "javac KafkaAdminTool",
                [
                    javac,
                    "-nowarn",
                    "-encoding",
                    "UTF-8",
                    "-cp",
                    jars.classpath,
                    "-d",
                    str(staging),
                    str(JAVA_SOURCE),
                ],
                cwd=jars.home,
                log_path=staging / "javac.log",
                timeout=JAVAC_TIMEOUT_S,
            )
            staging.rename(out)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    log.info("compiled the admin tool into %s", out)
    return out


def sasl_props(mechanism: str, user: SaslUser, *, tls_ca_pem: str | None = None) -> dict[str, str]:
    """Admin-client properties for SASL (``SASL_SSL`` when ``tls_ca_pem`` is given)."""
    jaas = plain_jaas([], login_as=user) if mechanism == "PLAIN" else scram_jaas(user)
    props = {
        "security.protocol": "SASL_SSL" if tls_ca_pem is not None else "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.jaas.config": jaas,
    }
    if tls_ca_pem is not None:
        props["ssl.truststore.type"] = "PEM"
        props["ssl.truststore.certificates"] = tls_ca_pem
    return props


def ssl_props(certs: CertBundle, client: CertKey | None = None) -> dict[str, str]:
    """Admin-client properties for mutual TLS with ``client`` (default: the good client)."""
    identity = client or certs.client
    return {
        "security.protocol": "SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.certificate.chain": identity.cert_pem,
        "ssl.keystore.key": identity.key_pem,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.certificates": certs.ca.cert_pem,
    }


class AdminTool:
    """One running ``KafkaAdminTool`` JVM connected to ``bootstrap``."""

    def __init__(
        self,
        jars: KafkaJars,
        bootstrap: str,
        *,
        work_dir: Path,
        props: Mapping[str, str] | None = None,
        name: str = "admin",
    ) -> None:
        """Prepare (not start) an admin tool; ``props`` adds client config (security...)."""
        self.jars = jars
        self.bootstrap = bootstrap
        self.work_dir = work_dir
        self.props = dict(props or {})
        self.name = name
        self._proc: ManagedProcess | None = None
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._answers: dict[int, dict[str, Any]] = {}
        self._abandoned: set[int] = set()
        self._eof = False
        self._reader: threading.Thread | None = None
        self._write_lock = threading.Lock()

    # ---------------------------------------------------------------- lifecycle

    def start(self, timeout: float = START_TIMEOUT_S) -> AdminTool:
        """Start the JVM and wait (with a deadline) until it reports ready."""
        classes = compile_admin_tool(self.jars)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        props_path = self.work_dir / f"{self.name}.properties"
        props_path.touch(mode=0o600)
        props_path.write_text(
            render_properties({"bootstrap.servers": self.bootstrap, **self.props})
        )
        flags = write_log_config(self.jars.logging, self.work_dir, tool=True)
        java = shutil.which("java") or "java"
        argv = [
            java,
            *TOOL_JVM_OPTS,
            *flags,
            "-cp",
            f"{self.jars.classpath}:{classes}",
            MAIN_CLASS,
            str(props_path),
        ]
        self._proc = ManagedProcess(
            f"admin tool {self.name}",
            argv,
            cwd=self.work_dir,
            log_path=self.work_dir / f"{self.name}.log",
            pipes=True,
        )
        self._proc.start()
        self._reader = threading.Thread(
            target=self._read_loop, name=f"kaffe-admin-{self.name}", daemon=True
        )
        self._reader.start()
        self._wait_for(0, "start", timeout)
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Ask the JVM to quit; stop it if it does not within ``timeout``."""
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        if proc.running():
            try:
                with self._write_lock:
                    proc.stdin.write(json.dumps({"id": -2, "op": "quit"}) + "\n")
                    proc.stdin.flush()
                proc.wait(timeout)
            except (OSError, ValueError, ProcessError):
                proc.stop(5.0)
        else:
            proc.wait(1.0)

    def __enter__(self) -> AdminTool:
        """Start if needed and return self."""
        if self._proc is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the tool."""
        self.close()

    # ---------------------------------------------------------------- plumbing

    def _read_loop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        stream = proc.stdout
        try:
            for line in stream:
                try:
                    msg = json.loads(line)
                except ValueError:
                    log.warning("admin tool %s printed non-JSON: %r", self.name, line[:200])
                    continue
                if not isinstance(msg, dict) or not isinstance(msg.get("id"), int):
                    continue
                with self._cond:
                    if msg["id"] in self._abandoned:  # its caller already timed out
                        self._abandoned.discard(msg["id"])
                        continue
                    self._answers[msg["id"]] = msg
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def _wait_for(self, request_id: int, op: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while request_id not in self._answers:
                remaining = deadline - time.monotonic()
                if self._eof:
                    raise AdminError(op, "ProcessExited", self._died_message())
                if remaining <= 0:
                    self._abandoned.add(request_id)
                    raise AdminTimeoutError(op, "Timeout", f"no answer within {timeout:.1f} s")
                self._cond.wait(remaining)
            msg = self._answers.pop(request_id)
        if not msg.get("ok"):
            raise AdminError(op, str(msg.get("error_class")), str(msg.get("error")))
        result = msg.get("result")
        return result if isinstance(result, dict) else {}

    def _died_message(self) -> str:
        proc = self._proc
        if proc is None:
            return "admin tool is closed"
        return f"admin tool exited; log {proc.log_path}:\n{proc.log_tail()}"

    def call(self, op: str, *, timeout: float = DEFAULT_CALL_TIMEOUT_S, **params: Any) -> Any:
        """Send one request and wait up to ``timeout`` seconds for its answer.

        The Java side gets a slightly shorter timeout so it normally answers (with a Kafka
        ``TimeoutException``) before the Python deadline expires.
        """
        proc = self._proc
        if proc is None or not proc.running():
            raise AdminError(op, "NotRunning", self._died_message())
        request_id = next(self._ids)
        java_ms = max(500, int(timeout * 1000 * 0.8) - 1000)
        payload = {"id": request_id, "op": op, "timeout_ms": java_ms, **params}
        try:
            with self._write_lock:
                proc.stdin.write(json.dumps(payload) + "\n")
                proc.stdin.flush()
        except (OSError, ValueError) as exc:
            raise AdminError(op, "BrokenPipe", self._died_message()) from exc
        return self._wait_for(request_id, op, timeout)

    # ---------------------------------------------------------------- operations

    def ping(self, timeout: float = 10.0) -> None:
        """Round-trip to the JVM without touching Kafka."""
        self.call("ping", timeout=timeout)

    def describe_cluster(self, timeout: float = DEFAULT_CALL_TIMEOUT_S) -> ClusterDescription:
        """Cluster id, controller and the ids of live (unfenced) brokers."""
        r = self.call("describe_cluster", timeout=timeout)
        controller = r.get("controller")
        return ClusterDescription(
            cluster_id=r.get("cluster_id"),
            controller=controller if isinstance(controller, int) else None,
            node_ids=tuple(int(n) for n in r.get("node_ids", [])),
        )

    def create_topic(
        self,
        name: str,
        partitions: int,
        replication_factor: int = 1,
        configs: Mapping[str, str] | None = None,
        *,
        timeout: float = DEFAULT_CALL_TIMEOUT_S,
    ) -> None:
        """Create a topic and wait for the controller to accept it."""
        self.call(
            "create_topic",
            timeout=timeout,
            name=name,
            partitions=partitions,
            replication_factor=replication_factor,
            configs=dict(configs or {}),
        )

    def delete_topic(self, name: str, *, timeout: float = DEFAULT_CALL_TIMEOUT_S) -> None:
        """Delete a topic."""
        self.call("delete_topic", timeout=timeout, name=name)

    def list_topics(self, *, timeout: float = DEFAULT_CALL_TIMEOUT_S) -> list[str]:
        """Names of the non-internal topics, sorted."""
        r = self.call("list_topics", timeout=timeout)
        return [str(t) for t in r.get("topics", [])]

    def describe_topic(
        self, name: str, *, timeout: float = DEFAULT_CALL_TIMEOUT_S
    ) -> TopicDescription:
        """Partitions (leader, replicas, ISR) of one topic."""
        r = self.call("describe_topic", timeout=timeout, name=name)
        parts = tuple(
            PartitionDescription(
                partition=int(p["partition"]),
                leader=p["leader"] if isinstance(p.get("leader"), int) else None,
                replicas=tuple(int(x) for x in p.get("replicas", [])),
                isr=tuple(int(x) for x in p.get("isr", [])),
            )
            for p in r.get("partitions", [])
        )
        return TopicDescription(
            name=str(r.get("name")),
            topic_id=r.get("topic_id"),
            partitions=tuple(sorted(parts, key=lambda p: p.partition)),
        )
