"""The SSL listener requires a client certificate signed by the test CA (mutual TLS)."""

from __future__ import annotations

import ssl

import pytest

from kafka_harness import probe
from kafka_harness.admin import ssl_props
from kafka_harness.broker import LocalBroker
from kafka_harness.certs import CertKey

pytestmark = pytest.mark.broker


def _api_versions_over_tls(broker: LocalBroker, ctx: ssl.SSLContext) -> probe.ApiVersionsResult:
    host, port = broker.listener("SSL")
    # The broker's certificate carries SAN DNS:localhost and IP:127.0.0.1; check the name.
    with probe.KafkaProbe(host, port, tls=ctx, server_hostname="localhost", timeout=10.0) as conn:
        return conn.api_versions()


def _context(broker: LocalBroker, trust: CertKey, client: CertKey | None) -> ssl.SSLContext:
    if client is None:
        return probe.client_tls_context(trust.cert_pem)
    return probe.client_tls_context(trust.cert_pem, client.cert_path, client.key_path)


def test_tls_with_client_certificate_succeeds(local_kafka_broker: LocalBroker) -> None:
    certs = local_kafka_broker.certs
    result = _api_versions_over_tls(
        local_kafka_broker, _context(local_kafka_broker, certs.ca, certs.client)
    )

    assert result.error_code == 0
    assert probe.API_PRODUCE in result.apis


def test_tls_client_rejects_broker_not_signed_by_trusted_ca(
    local_kafka_broker: LocalBroker,
) -> None:
    certs = local_kafka_broker.certs
    # The client trusts only the second, unrelated CA: the broker's chain cannot be verified.
    ctx = _context(local_kafka_broker, certs.rogue_ca, certs.rogue_client)

    with pytest.raises(ssl.SSLCertVerificationError) as info:
        _api_versions_over_tls(local_kafka_broker, ctx)
    assert info.value.verify_code != 0


def _assert_broker_rejects(broker: LocalBroker, ctx: ssl.SSLContext) -> str:
    """The broker must refuse the client: a TLS alert (or a closed connection), never an
    ApiVersions answer."""
    with pytest.raises((ssl.SSLError, probe.ProbeError, ConnectionError)) as info:
        _api_versions_over_tls(broker, ctx)
    return str(info.value)


def test_tls_client_certificate_from_untrusted_ca_is_rejected(
    local_kafka_broker: LocalBroker,
) -> None:
    certs = local_kafka_broker.certs
    message = _assert_broker_rejects(
        local_kafka_broker, _context(local_kafka_broker, certs.ca, certs.rogue_client)
    )
    assert "CERTIFICATE_UNKNOWN" in message.upper() or "closed" in message


def test_tls_without_client_certificate_is_rejected(local_kafka_broker: LocalBroker) -> None:
    certs = local_kafka_broker.certs
    message = _assert_broker_rejects(
        local_kafka_broker, _context(local_kafka_broker, certs.ca, None)
    )
    assert "ALERT" in message.upper() or "closed" in message


def test_tls_with_expired_client_certificate_is_rejected(
    local_kafka_broker: LocalBroker,
) -> None:
    certs = local_kafka_broker.certs
    assert certs.expired_client.cert_pem != certs.client.cert_pem
    message = _assert_broker_rejects(
        local_kafka_broker, _context(local_kafka_broker, certs.ca, certs.expired_client)
    )
    assert "CERTIFICATE_UNKNOWN" in message.upper() or "closed" in message


def test_java_admin_client_over_ssl_sees_the_broker(local_kafka_broker: LocalBroker) -> None:
    admin = local_kafka_broker.new_admin(
        ssl_props(local_kafka_broker.certs), listener="SSL", name="it-ssl"
    )
    try:
        description = admin.describe_cluster(timeout=30.0)
    finally:
        admin.close()

    assert description.node_ids == (1,)
