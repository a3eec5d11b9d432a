"""One Kafka node on disk: its directories, ``kafka-storage format`` and the broker JVM.

Shared by :mod:`kafka_harness.broker` (single node) and :mod:`kafka_harness.cluster`.
"""

from __future__ import annotations

import base64
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import BROKER_JVM_OPTS, TOOL_JVM_OPTS, render_properties, write_log_config
from .jars import KafkaJars
from .process import ManagedProcess, ProcessError, tail

FORMAT_TIMEOUT_S = 120.0


def random_cluster_id() -> str:
    """A Kafka cluster id: 22-character URL-safe base64 of a random UUID (no JVM needed).

    Like Kafka's own ``Uuid.randomUuid()``, never one starting with ``-``: the storage tool's
    argument parser would take ``--cluster-id -abc...`` for an option and fail.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):
            return text


def java() -> str:
    """The ``java`` executable (``$PATH``), or a clear error."""
    found = shutil.which("java")
    if found is None:
        raise ProcessError("`java` is not on PATH; Kafka 4.x needs Java 17+")
    return found


@dataclass(frozen=True)
class NodeDirs:
    """Directory layout of one node inside a run dir."""

    root: Path

    @property
    def config(self) -> Path:
        """Holds ``server.properties``."""
        return self.root / "config"

    @property
    def data(self) -> Path:
        """``log.dirs`` (KRaft metadata and topic data)."""
        return self.root / "data"

    @property
    def logs(self) -> Path:
        """``server.log``, ``stdout.log``, ``format.log`` and the logging configs."""
        return self.root / "logs"

    @property
    def properties(self) -> Path:
        """The node's ``server.properties``."""
        return self.config / "server.properties"

    def create(self) -> None:
        """Create the (empty) directories."""
        for d in (self.config, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        if self.data.exists():
            shutil.rmtree(self.data)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the node's stdout/stderr and ``server.log``."""
        parts = []
        for name in ("stdout.log", "server.log"):
            text = tail(self.logs / name, lines)
            if text:
                parts.append(f"--- {self.logs / name} (tail) ---\n{text}")
        return "\n".join(parts) or f"(no log output in {self.logs})"


def write_config(dirs: NodeDirs, props: Mapping[str, str], header: str) -> None:
    """Write ``server.properties`` (mode 0600: it holds keys and SASL passwords)."""
    dirs.properties.touch(mode=0o600)
    dirs.properties.write_text(render_properties(props, header))


def format_command(
    jars: KafkaJars, dirs: NodeDirs, cluster_id: str, extra_args: Sequence[str] = ()
) -> list[str]:
    """``kafka-storage format`` (``kafka.tools.StorageTool``) for a static-quorum node."""
    flags = write_log_config(jars.logging, dirs.logs, tool=True)
    return [
        java(),
        *TOOL_JVM_OPTS,
        *flags,
        "-cp",
        jars.classpath,
        "kafka.tools.StorageTool",
        "format",
        "--cluster-id",
        cluster_id,
        "--config",
        str(dirs.properties),
        *extra_args,
    ]


def format_process(
    jars: KafkaJars, dirs: NodeDirs, cluster_id: str, extra_args: Sequence[str] = ()
) -> ManagedProcess:
    """A not-yet-started process that formats the node's storage."""
    return ManagedProcess(
        f"format {dirs.root.name}",
        format_command(jars, dirs, cluster_id, extra_args),
        cwd=dirs.root,
        log_path=dirs.logs / "format.log",
    )


def run_formats(procs: Sequence[ManagedProcess], timeout: float = FORMAT_TIMEOUT_S) -> None:
    """Start the format processes together and wait for all (they are independent JVMs)."""
    for p in procs:
        p.start()
    failures = []
    for p in procs:
        try:
            code = p.wait(timeout)
        except ProcessError:
            p.kill()
            code = None
        if code != 0:
            failures.append(f"{p.name} exited with {code}; log {p.log_path}:\n{p.log_tail()}")
    if failures:
        raise ProcessError("\n".join(failures))


def broker_process(
    jars: KafkaJars, dirs: NodeDirs, *, name: str, detached: bool = False
) -> ManagedProcess:
    """A not-yet-started ``kafka.Kafka`` JVM for this node (heap capped at 512 MB)."""
    flags = write_log_config(jars.logging, dirs.logs)
    argv = [
        java(),
        *BROKER_JVM_OPTS,
        f"-Dkafka.logs.dir={dirs.logs}",
        *flags,
        "-cp",
        jars.classpath,
        "kafka.Kafka",
        str(dirs.properties),
    ]
    return ManagedProcess(
        name, argv, cwd=dirs.root, log_path=dirs.logs / "stdout.log", detached=detached
    )


def rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` from ``/proc`` (None if unavailable)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None
