"""Shared pytest fixtures: real Apache Kafka brokers started by ``tools/kafka_harness``.

* ``kafka_broker``   session-scoped single node (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL);
                     with ``KAFFE_TEST_BOOTSTRAP=host:port`` an external broker instead.
* ``local_kafka_broker`` the same, but skips with the reason when the broker is external
                     (SSL/SASL listeners, certificates and users exist only on our own broker).
* ``topic_factory``  function-scoped: ``topic_factory(partitions)`` -> a fresh topic name,
                     deleted at teardown.
* ``kafka_cluster``  session-scoped three-node cluster, started only when a test asks for it.
* ``fault_cluster``  session-scoped three-node cluster with a fault proxy in front of every
                     broker (``tools/faults``), started only when a test asks for it.

Run dirs live under ``.kafka-local/``; they are removed after a green session and kept (and
printed) when anything failed, or always with ``KAFFE_KEEP_LOGS=1``.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

_TOOLS = Path(__file__).resolve().parents[1] / "tools"
if str(_TOOLS) not in sys.path:
    sys.path.insert(0, str(_TOOLS))

from kafka_harness.broker import BrokerHandle, ExternalBroker, LocalBroker  # noqa: E402
from kafka_harness.cluster import LocalCluster  # noqa: E402
from kafka_harness.jars import KafkaJars, fetch  # noqa: E402
from kafka_harness.process import stop_all  # noqa: E402
from kafka_harness.topics import TopicFactory  # noqa: E402

if TYPE_CHECKING:
    # Imported where used: the fault tools need confluent-kafka, which the wheel checks'
    # minimal venvs (README examples only) do not install.
    from faults.cluster import FaultCluster

log = logging.getLogger("kaffe.tests")

_RUN_DIRS: list[Path] = []
_KEPT: list[Path] = []


def _external_bootstrap() -> str | None:
    return os.environ.get("KAFFE_TEST_BOOTSTRAP") or None


def pytest_configure(config: pytest.Config) -> None:
    """Reject backends this harness does not provide (there is no Docker here)."""
    backend = os.environ.get("KAFFE_TEST_BACKEND", "local")
    if backend not in ("", "local"):
        raise pytest.UsageError(
            f"KAFFE_TEST_BACKEND={backend!r} is not available: the harness runs real Kafka "
            "from Maven jars (KAFFE_TEST_BACKEND=local, the default) or an external broker "
            "via KAFFE_TEST_BOOTSTRAP=host:port."
        )


def pytest_report_header(config: pytest.Config) -> str:
    """Say which kaffe the session imports: the source tree's or an installed wheel's."""
    import kaffe

    return f"kaffe {kaffe.__version__} from {Path(kaffe.__file__).resolve().parent}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """With ``KAFFE_EXPECT_INSTALLED=1`` (``make test-wheel``), refuse to test the source tree:
    kaffe and its native module must come from an installed wheel, not ``python/kaffe``."""
    if os.environ.get("KAFFE_EXPECT_INSTALLED") != "1":
        return
    import kaffe
    import kaffe._core

    source = Path(__file__).resolve().parents[1] / "python"
    for module in (kaffe, kaffe._core):
        where = Path(str(module.__file__)).resolve()
        if source in where.parents:
            raise pytest.UsageError(
                f"KAFFE_EXPECT_INSTALLED=1 but {module.__name__} was imported from {where}, "
                "the source tree; run from outside it, against the installed wheel"
            )


# --------------------------------------------------------------------------- brokers


@pytest.fixture(scope="session")
def kafka_jars() -> KafkaJars:
    """The pinned Kafka jars for ``$KAFKA_LINE`` (downloaded once, then cached)."""
    return fetch()


@pytest.fixture(scope="session")
def kafka_broker(kafka_jars: KafkaJars) -> Iterator[BrokerHandle]:
    """The single-node broker for the session (or the external one)."""
    external = _external_bootstrap()
    if external is not None:
        ext = ExternalBroker(external, kafka_jars)
        try:
            yield ext
        finally:
            ext.stop()
            if ext.run_dir is not None:
                _RUN_DIRS.append(ext.run_dir)
        return
    broker = LocalBroker(kafka_jars)
    _RUN_DIRS.append(broker.run_dir)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def local_kafka_broker(kafka_broker: BrokerHandle) -> LocalBroker:
    """The harness's own broker; skips (saying why) when running against an external one."""
    if isinstance(kafka_broker, ExternalBroker):
        try:
            kafka_broker.require_local("this test")
        except RuntimeError as exc:
            pytest.skip(str(exc))
    assert isinstance(kafka_broker, LocalBroker)
    return kafka_broker


def _own_processes_only() -> None:
    """Skip, saying why, when the session runs against an external broker: the three-node
    tests kill, stop and proxy broker processes the harness owns."""
    external = _external_bootstrap()
    if external is not None:
        pytest.skip(
            f"the three-node cluster tests kill and restart broker processes the harness "
            f"owns; KAFFE_TEST_BOOTSTRAP={external} points at an external broker"
        )


@pytest.fixture(scope="session")
def kafka_cluster(kafka_jars: KafkaJars) -> Iterator[LocalCluster]:
    """A three-node cluster, started the first time a test asks for it."""
    _own_processes_only()
    cluster = LocalCluster(kafka_jars)
    _RUN_DIRS.append(cluster.run_dir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def fault_cluster(kafka_jars: KafkaJars) -> Iterator[FaultCluster]:
    """A three-node cluster whose clients reach each broker only through a fault proxy."""
    from faults.cluster import start_cluster_with_proxies

    _own_processes_only()
    fc = start_cluster_with_proxies(kafka_jars)
    _RUN_DIRS.append(fc.run_dir)
    try:
        yield fc
    finally:
        fc.close()


# --------------------------------------------------------------------------- topics


@pytest.fixture
def topic_factory(kafka_broker: BrokerHandle) -> Iterator[TopicFactory]:
    """``topic_factory(n)`` creates a topic with ``n`` partitions, deleted after the test."""
    factory = TopicFactory(kafka_broker.admin)
    try:
        yield factory
    finally:
        factory.cleanup()


# --------------------------------------------------------------------------- session end


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop anything still running; keep run dirs (logs) only if something failed."""
    stop_all()
    failed = session.testsfailed > 0 or exitstatus not in (0, 5)
    keep = failed or os.environ.get("KAFFE_KEEP_LOGS") == "1"
    for run_dir in _RUN_DIRS:
        if not run_dir.exists():
            continue
        if keep:
            _KEPT.append(run_dir)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    _RUN_DIRS.clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print where the kept broker logs are."""
    if _KEPT:
        terminalreporter.write_sep("-", "Kafka broker logs kept")
        for run_dir in _KEPT:
            terminalreporter.write_line(str(run_dir))
