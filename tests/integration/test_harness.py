"""The harness itself: jars in place, start-up failures surface the broker's log."""

from __future__ import annotations

import socket

import pytest

from kafka_harness import broker as broker_module
from kafka_harness.broker import BrokerStartError, LocalBroker
from kafka_harness.jars import KafkaJars, message_spec_names
from kafka_harness.ports import free_ports
from kafka_harness.process import live_processes

pytestmark = pytest.mark.broker


def test_kafka_clients_jar_holds_the_protocol_specs(kafka_jars: KafkaJars) -> None:
    specs = message_spec_names(kafka_jars.kafka_clients_jar())

    assert "common/message/ProduceRequest.json" in specs
    assert "common/message/FetchResponse.json" in specs
    assert len(specs) > 100


def test_broker_that_dies_at_startup_raises_with_its_log(
    kafka_jars: KafkaJars, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Occupy the port the SSL listener will be given, so the JVM fails to bind and exits.
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    taken = blocker.getsockname()[1]

    def ports_with_a_taken_one(count: int) -> list[int]:
        ports = free_ports(count)
        ports[1] = taken  # order: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, CONTROLLER
        return ports

    monkeypatch.setattr(broker_module, "free_ports", ports_with_a_taken_one)
    doomed = LocalBroker(kafka_jars, run_dir=tmp_path_factory.mktemp("doomed-broker"))
    try:
        with pytest.raises(BrokerStartError) as info:
            doomed.start()
    finally:
        blocker.close()

    message = str(info.value)
    assert "exited with code" in message
    assert "Address already in use" in message
    assert doomed.pid is None
    assert all("doomed-broker" not in " ".join(p.argv) for p in live_processes())
