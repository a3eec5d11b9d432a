"""SASL PLAIN (raw wire) and SCRAM-SHA-256/512 (Java Admin client) on the SASL listeners."""

from __future__ import annotations

import pytest

from kafka_harness import probe
from kafka_harness.admin import AdminError, sasl_props
from kafka_harness.broker import LocalBroker
from kafka_harness.config import SaslUser

pytestmark = pytest.mark.broker

SASL_AUTHENTICATION_FAILED = 58  # Kafka error code, protocol docs "Error Codes"


def _plain(
    broker: LocalBroker, listener: str, user: str, password: str
) -> tuple[probe.SaslHandshakeResult, probe.SaslAuthenticateResult | None, int | None]:
    host, port = broker.listener(listener)
    tls = probe.client_tls_context(broker.certs.ca.cert_pem) if listener == "SASL_SSL" else None
    with probe.KafkaProbe(host, port, tls=tls, timeout=10.0) as conn:
        handshake, auth = conn.sasl_plain(user, password)
        after = None
        if auth is not None and auth.error_code == 0:
            after = conn.api_versions().error_code  # the session is usable after auth
        return handshake, auth, after


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("user", ["admin", "alice"])
def test_sasl_plain_succeeds(local_kafka_broker: LocalBroker, listener: str, user: str) -> None:
    password = local_kafka_broker.plain_users[user].password
    handshake, auth, after = _plain(local_kafka_broker, listener, user, password)

    assert handshake.error_code == 0
    assert set(handshake.mechanisms) >= {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
    assert auth is not None
    assert auth.error_code == 0
    assert after == 0


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_plain_wrong_password_fails(local_kafka_broker: LocalBroker, listener: str) -> None:
    good = local_kafka_broker.plain_users["alice"].password
    handshake, auth, after = _plain(local_kafka_broker, listener, "alice", good + "-wrong")

    assert handshake.error_code == 0
    assert auth is not None
    assert auth.error_code == SASL_AUTHENTICATION_FAILED
    assert auth.error_message is not None
    assert "Invalid username or password" in auth.error_message
    assert after is None


def test_sasl_plain_unknown_user_fails(local_kafka_broker: LocalBroker) -> None:
    password = local_kafka_broker.plain_users["alice"].password
    _, auth, _ = _plain(local_kafka_broker, "SASL_PLAINTEXT", "mallory", password)

    assert auth is not None
    assert auth.error_code == SASL_AUTHENTICATION_FAILED


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_succeeds_with_the_right_password(
    local_kafka_broker: LocalBroker, mechanism: str, listener: str
) -> None:
    user = local_kafka_broker.scram_users["alice"]
    ca = local_kafka_broker.certs.ca.cert_pem if listener == "SASL_SSL" else None
    admin = local_kafka_broker.new_admin(
        sasl_props(mechanism, user, tls_ca_pem=ca),
        listener=listener,
        name=f"it-{mechanism.lower()}-{listener.lower()}-ok",
    )
    try:
        description = admin.describe_cluster(timeout=30.0)
    finally:
        admin.close()

    assert description.node_ids == (1,)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_fails_with_a_wrong_password(local_kafka_broker: LocalBroker, mechanism: str) -> None:
    real = local_kafka_broker.scram_users["alice"]
    admin = local_kafka_broker.new_admin(
        sasl_props(mechanism, SaslUser(real.name, real.password + "-wrong")),
        listener="SASL_PLAINTEXT",
        name=f"it-{mechanism.lower()}-bad",
    )
    try:
        with pytest.raises(AdminError) as info:
            admin.describe_cluster(timeout=30.0)
    finally:
        admin.close()

    assert info.value.error_class.endswith("SaslAuthenticationException")
    assert mechanism in info.value.message
