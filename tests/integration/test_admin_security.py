"""Admin smoke tests over the SSL listener (client certificate, also via Heroku's environment)
and over SASL (SCRAM-SHA-512, PLAIN) listeners, cross-checked with the Java Admin client."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from kaffe import errors
from kaffe.admin import AdminClient
from kafka_harness.broker import LocalBroker

pytestmark = pytest.mark.broker

DEADLINE_S = 30.0


def _round_trip(broker: LocalBroker, admin: AdminClient, name: str) -> None:
    """Create a 3-partition topic, check it with kaffe and the Java admin, delete it."""
    admin.create_topic(name, 3, 1, timeout=DEADLINE_S)
    try:
        assert admin.partition_count(name) == 3
        assert len(broker.admin.describe_topic(name).partitions) == 3
        latest = admin.list_offsets(name, None, "latest")
        assert {p: o.offset for p, o in latest.items()} == {0: 0, 1: 0, 2: 0}
    finally:
        admin.delete_topic(name, timeout=DEADLINE_S)
    assert name not in admin.list_topics()


def test_admin_over_ssl_with_client_certificate(local_kafka_broker: LocalBroker) -> None:
    certs = local_kafka_broker.certs
    host, port = local_kafka_broker.listener("SSL")
    ssl_opts: dict[str, Any] = {
        "cafile": str(certs.ca.cert_path),
        "certfile": str(certs.client.cert_path),
        "keyfile": str(certs.client.key_path),
    }
    with AdminClient(endpoints=[(host, port)], ssl=ssl_opts) as admin:
        _round_trip(local_kafka_broker, admin, f"kaffe-it-ssl-{uuid.uuid4().hex[:8]}")


def test_admin_over_ssl_from_heroku_env(
    local_kafka_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    certs = local_kafka_broker.certs
    host, port = local_kafka_broker.listener("SSL")
    prefix = f"kaffe-it-heroku-{uuid.uuid4().hex[:6]}."
    monkeypatch.setenv("KAFKA_URL", f"kafka+ssl://{host}:{port}")
    monkeypatch.setenv("KAFKA_TRUSTED_CERT", certs.ca.cert_pem)
    monkeypatch.setenv("KAFKA_CLIENT_CERT", certs.client.cert_pem)
    monkeypatch.setenv("KAFKA_CLIENT_CERT_KEY", certs.client.key_pem)
    monkeypatch.setenv("KAFKA_PREFIX", prefix)

    with AdminClient(heroku_kafka_env=True) as admin:
        admin.create_topic("orders", 2, 1, timeout=DEADLINE_S)
        try:
            # The prefix is applied once: the broker has "<prefix>orders".
            assert f"{prefix}orders" in local_kafka_broker.admin.list_topics()
            assert admin.partition_count("orders") == 2
            assert admin.partition_count(f"{prefix}orders") == 2
        finally:
            admin.delete_topic("orders", timeout=DEADLINE_S)


def test_admin_over_ssl_without_client_certificate_fails(
    local_kafka_broker: LocalBroker,
) -> None:
    certs = local_kafka_broker.certs
    host, port = local_kafka_broker.listener("SSL")
    admin = AdminClient(
        endpoints=[(host, port)], ssl={"cafile": str(certs.ca.cert_path)}, connect_timeout=5000
    )
    try:
        with pytest.raises(errors.ConnectionError):
            admin.list_topics(timeout=DEADLINE_S)
    finally:
        admin.close()


@pytest.mark.parametrize(
    ("listener", "mechanism"),
    [
        ("SASL_PLAINTEXT", "scram_sha_512"),
        ("SASL_PLAINTEXT", "plain"),
        ("SASL_SSL", "scram_sha_256"),
    ],
)
def test_admin_over_sasl(local_kafka_broker: LocalBroker, listener: str, mechanism: str) -> None:
    user = local_kafka_broker.scram_users["admin"]
    host, port = local_kafka_broker.listener(listener)
    extra: dict[str, Any] = {}
    if listener == "SASL_SSL":
        extra["ssl"] = {"cadata": local_kafka_broker.certs.ca.cert_pem}
    with AdminClient(
        endpoints=[(host, port)],
        sasl={"mechanism": mechanism, "login": user.name, "password": user.password},
        **extra,
    ) as admin:
        _round_trip(local_kafka_broker, admin, f"kaffe-it-sasl-{uuid.uuid4().hex[:8]}")


def test_admin_with_wrong_sasl_password(local_kafka_broker: LocalBroker) -> None:
    user = local_kafka_broker.scram_users["alice"]
    host, port = local_kafka_broker.listener("SASL_PLAINTEXT")
    wrong = user.password + "-wrong"
    admin = AdminClient(
        endpoints=[(host, port)],
        sasl={"mechanism": "scram_sha_512", "login": user.name, "password": wrong},
    )
    try:
        with pytest.raises(errors.AuthenticationError) as info:
            admin.list_topics(timeout=DEADLINE_S)
        assert wrong not in str(info.value)
    finally:
        admin.close()
