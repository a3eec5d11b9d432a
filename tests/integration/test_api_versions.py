"""ApiVersions over the PLAINTEXT listener, through the raw-wire test probe."""

from __future__ import annotations

import pytest

from kafka_harness import probe
from kafka_harness.broker import BrokerHandle

pytestmark = pytest.mark.broker

# Facts about each Kafka line, taken from the release's own message specs
# (ProduceRequest.json / FetchRequest.json "validVersions"), not from the harness:
#  - 3.9: Produce 0-11, Fetch 0-17.
#  - 4.1: Produce max 13 (>= 12 since 4.0), Fetch 4-18 (KIP-896 removed Fetch v0-v3).
#    4.x still *advertises* Produce min 0 (KAFKA-18659), so Produce min is not checked.


def _plaintext_api_versions(broker: BrokerHandle) -> probe.ApiVersionsResult:
    host, port = broker.listener("PLAINTEXT")
    return probe.api_versions(host, port, timeout=10.0)


def test_api_versions_advertises_produce_and_fetch(kafka_broker: BrokerHandle) -> None:
    result = _plaintext_api_versions(kafka_broker)

    assert result.error_code == 0
    for key in (probe.API_PRODUCE, probe.API_FETCH, probe.API_API_VERSIONS):
        assert key in result.apis, f"api key {key} missing from {sorted(result.apis)}"
        entry = result.apis[key]
        assert 0 <= entry.min_version <= entry.max_version
    assert result.apis[probe.API_API_VERSIONS].max_version >= 3


def test_api_versions_match_the_kafka_line(kafka_broker: BrokerHandle) -> None:
    if kafka_broker.line is None:
        pytest.skip("external broker (KAFFE_TEST_BOOTSTRAP): its Kafka line is unknown")
    result = _plaintext_api_versions(kafka_broker)
    produce = result.apis[probe.API_PRODUCE]
    fetch = result.apis[probe.API_FETCH]

    if kafka_broker.line == "4.1":
        assert produce.max_version >= 12
        assert fetch.min_version == 4
    elif kafka_broker.line == "3.9":
        assert produce.max_version == 11
        assert fetch.min_version == 0
        assert fetch.max_version == 17
    else:
        pytest.fail(f"no expectations recorded for Kafka line {kafka_broker.line}")


def test_api_versions_on_two_connections_are_identical(kafka_broker: BrokerHandle) -> None:
    host, port = kafka_broker.listener("PLAINTEXT")
    with probe.KafkaProbe(host, port, timeout=10.0) as conn:
        first = conn.api_versions()
        second = conn.api_versions()  # a second request on the same connection works too

    assert first.error_code == second.error_code == 0
    assert first.apis == second.apis
