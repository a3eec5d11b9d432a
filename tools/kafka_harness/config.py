"""Render broker ``server.properties`` files and quiet logging configs.

Only text generation lives here; starting processes is :mod:`kafka_harness.broker` /
:mod:`kafka_harness.cluster`.  Values are written with Java ``Properties`` escaping, so PEM
certificates keep their real newlines (``\\n`` escapes) instead of being squashed onto one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .certs import CertBundle
from .jars import LoggingKind
from .ports import LOOPBACK

CONTROLLER = "CONTROLLER"
EXTERNAL = "EXTERNAL"
"""The cluster's optional second client listener, advertised elsewhere (a proxy's port)."""
CLIENT_LISTENERS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
"""Client-facing listeners of the single-node broker (listener name == security protocol)."""
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
PLAIN_LOGIN = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"
HEAP_OPTS = ("-Xms128m", "-Xmx512m")
BROKER_JVM_OPTS = (
    *HEAP_OPTS,
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
TOOL_JVM_OPTS = ("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
"""For short-lived tools (StorageTool, the admin tool): C1 only starts noticeably faster."""


@dataclass(frozen=True)
class SaslUser:
    """A SASL user and its password (test-only credentials)."""

    name: str
    password: str


def _escape_value(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch in " \f" and i == 0:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def render_properties(props: Mapping[str, str], header: str = "") -> str:
    """Render ``props`` as a Java ``.properties`` file (keys must be plain identifiers)."""
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in props.items():
        if any(c in key for c in " =:#!\\\n"):
            raise ValueError(f"unsupported property key {key!r}")
        lines.append(f"{key}={_escape_value(value)}")
    return "\n".join(lines) + "\n"


def jaas_quote(value: str) -> str:
    """Quote a value for a JAAS config string (``"`` and ``\\`` escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plain_jaas(users: list[SaslUser], *, login_as: SaslUser | None = None) -> str:
    """JAAS config for PLAIN: ``user_<name>`` entries (broker side) and/or a login identity."""
    parts = [PLAIN_LOGIN, "required"]
    if login_as is not None:
        parts += [
            f"username={jaas_quote(login_as.name)}",
            f"password={jaas_quote(login_as.password)}",
        ]
    parts += [f"user_{u.name}={jaas_quote(u.password)}" for u in users]
    return " ".join(parts) + ";"


def scram_jaas(login_as: SaslUser | None = None) -> str:
    """JAAS config for SCRAM (broker side: no options; client side: username/password)."""
    parts = [SCRAM_LOGIN, "required"]
    if login_as is not None:
        parts += [
            f"username={jaas_quote(login_as.name)}",
            f"password={jaas_quote(login_as.password)}",
        ]
    return " ".join(parts) + ";"


def _common(line: str, node_id: int, data_dir: Path) -> dict[str, str]:
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.listener.names": CONTROLLER,
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
        "group.initial.rebalance.delay.ms": "0",
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.num.partitions": "3",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "log.segment.bytes": str(16 * 1024 * 1024),
    }
    return props


def _replication(line: str, rf: int, min_isr: int) -> dict[str, str]:
    props = {
        "offsets.topic.replication.factor": str(rf),
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(min_isr),
        "default.replication.factor": str(rf),
        "min.insync.replicas": str(min_isr),
    }
    if not line.startswith("3."):
        # Share groups' state topic (KIP-932) exists from 4.0; 3.9 would warn "unknown".
        props["share.coordinator.state.topic.replication.factor"] = str(rf)
        props["share.coordinator.state.topic.min.isr"] = str(min_isr)
    return props


def single_node_properties(
    *,
    line: str,
    ports: Mapping[str, int],
    data_dir: Path,
    certs: CertBundle,
    plain_users: list[SaslUser],
) -> dict[str, str]:
    """``server.properties`` of the single combined broker+controller node (node id 1).

    ``ports`` maps each of :data:`CLIENT_LISTENERS` and ``CONTROLLER`` to its port.
    """
    listeners = [f"{name}://{LOOPBACK}:{ports[name]}" for name in (*CLIENT_LISTENERS, CONTROLLER)]
    advertised = [f"{name}://{LOOPBACK}:{ports[name]}" for name in CLIENT_LISTENERS]
    protocol_map = [f"{name}:{name}" for name in CLIENT_LISTENERS] + [f"{CONTROLLER}:PLAINTEXT"]
    props = _common(line, 1, data_dir)
    props.update(
        {
            "controller.quorum.voters": f"1@{LOOPBACK}:{ports[CONTROLLER]}",
            "listeners": ",".join(listeners),
            "advertised.listeners": ",".join(advertised),
            "listener.security.protocol.map": ",".join(protocol_map),
            "sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
        }
    )
    props.update(_replication(line, 1, 1))
    # SSL: mutual TLS required; PEM key store and trust store inline (KIP-651).
    props.update(
        {
            "listener.name.ssl.ssl.client.auth": "required",
            "listener.name.ssl.ssl.keystore.type": "PEM",
            "listener.name.ssl.ssl.keystore.certificate.chain": certs.broker.cert_pem,
            "listener.name.ssl.ssl.keystore.key": certs.broker.key_pem,
            "listener.name.ssl.ssl.truststore.type": "PEM",
            "listener.name.ssl.ssl.truststore.certificates": certs.ca.cert_pem,
            # SASL_SSL: server certificate only, the client authenticates with SASL.
            "listener.name.sasl_ssl.ssl.client.auth": "none",
            "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
            "listener.name.sasl_ssl.ssl.keystore.certificate.chain": certs.broker.cert_pem,
            "listener.name.sasl_ssl.ssl.keystore.key": certs.broker.key_pem,
        }
    )
    for listener in ("sasl_plaintext", "sasl_ssl"):
        props[f"listener.name.{listener}.plain.sasl.jaas.config"] = plain_jaas(plain_users)
        for mech in ("scram-sha-256", "scram-sha-512"):
            props[f"listener.name.{listener}.{mech}.sasl.jaas.config"] = scram_jaas()
    return props


def cluster_node_properties(
    *,
    line: str,
    node_id: int,
    plaintext_port: int,
    controller_port: int,
    voters: Mapping[int, int],
    data_dir: Path,
    external: tuple[int, int] | None = None,
) -> dict[str, str]:
    """``server.properties`` of one node of the three-node cluster (PLAINTEXT only).

    ``voters`` maps node id -> controller port for the static quorum. ``external`` =
    ``(listen port, advertised port)`` adds a second client listener, ``EXTERNAL``, that
    listens on one port and is advertised on another of 127.0.0.1 (where a proxy forwards to
    it); the brokers keep replicating among themselves over ``PLAINTEXT``.
    """
    props = _common(line, node_id, data_dir)
    listeners = [f"PLAINTEXT://{LOOPBACK}:{plaintext_port}"]
    advertised = [f"PLAINTEXT://{LOOPBACK}:{plaintext_port}"]
    protocols = ["PLAINTEXT:PLAINTEXT", f"{CONTROLLER}:PLAINTEXT"]
    if external is not None:
        listeners.append(f"{EXTERNAL}://{LOOPBACK}:{external[0]}")
        advertised.append(f"{EXTERNAL}://{LOOPBACK}:{external[1]}")
        protocols.append(f"{EXTERNAL}:PLAINTEXT")
    props.update(
        {
            "controller.quorum.voters": ",".join(
                f"{nid}@{LOOPBACK}:{port}" for nid, port in sorted(voters.items())
            ),
            "listeners": ",".join([*listeners, f"{CONTROLLER}://{LOOPBACK}:{controller_port}"]),
            "advertised.listeners": ",".join(advertised),
            "listener.security.protocol.map": ",".join(protocols),
            # Fence a dead broker quickly (defaults: 9000 / 2000 ms).
            "broker.session.timeout.ms": "3000",
            "broker.heartbeat.interval.ms": "500",
        }
    )
    props.update(_replication(line, 3, 2))
    return props


def log_config(kind: LoggingKind, log_dir: Path) -> tuple[str, str, list[str]]:
    """Return (file name, file text, JVM flags) of a quiet logging config writing to ``log_dir``.

    Root logger at WARN; ``kafka.server.KafkaRaftServer`` at INFO so the "Kafka Server started"
    line is there for humans (readiness never depends on log lines).
    """
    server_log = log_dir / "server.log"
    if kind == "log4j2":
        text = "\n".join(
            [
                "status = warn",
                "name = kaffe-harness",
                "appender.file.type = File",
                "appender.file.name = FILE",
                f"appender.file.fileName = {server_log}",
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = [%d] %p %m (%c)%n",
                "rootLogger.level = WARN",
                "rootLogger.appenderRef.file.ref = FILE",
                "logger.raft.name = kafka.server.KafkaRaftServer",
                "logger.raft.level = INFO",
                "",
            ]
        )
        path = log_dir / "log4j2.properties"
        return path.name, text, [f"-Dlog4j2.configurationFile={path}"]
    text = "\n".join(
        [
            "log4j.rootLogger=WARN, file",
            "log4j.appender.file=org.apache.log4j.FileAppender",
            f"log4j.appender.file.File={server_log}",
            "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
            "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
            "log4j.logger.kafka.server.KafkaRaftServer=INFO",
            "",
        ]
    )
    path = log_dir / "log4j.properties"
    return path.name, text, [f"-Dlog4j.configuration=file:{path}"]


def tool_log_config(kind: LoggingKind, log_dir: Path) -> tuple[str, str, list[str]]:
    """Like :func:`log_config` but for tools: WARN and above to stderr, nothing on stdout."""
    if kind == "log4j2":
        text = "\n".join(
            [
                "status = warn",
                "name = kaffe-tools",
                "appender.err.type = Console",
                "appender.err.name = STDERR",
                "appender.err.target = SYSTEM_ERR",
                "appender.err.layout.type = PatternLayout",
                "appender.err.layout.pattern = [%d] %p %m (%c)%n",
                "rootLogger.level = WARN",
                "rootLogger.appenderRef.err.ref = STDERR",
                "",
            ]
        )
        path = log_dir / "tools-log4j2.properties"
        return path.name, text, [f"-Dlog4j2.configurationFile={path}"]
    text = "\n".join(
        [
            "log4j.rootLogger=WARN, stderr",
            "log4j.appender.stderr=org.apache.log4j.ConsoleAppender",
            "log4j.appender.stderr.Target=System.err",
            "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout",
            "log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n",
            "",
        ]
    )
    path = log_dir / "tools-log4j.properties"
    return path.name, text, [f"-Dlog4j.configuration=file:{path}"]


def write_log_config(kind: LoggingKind, log_dir: Path, *, tool: bool = False) -> list[str]:
    """Write the broker (or tool) logging config into ``log_dir``; return its JVM flags."""
    log_dir.mkdir(parents=True, exist_ok=True)
    name, text, flags = (tool_log_config if tool else log_config)(kind, log_dir)
    (log_dir / name).write_text(text)
    return flags
