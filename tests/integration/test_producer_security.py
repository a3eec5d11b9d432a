"""The producer over SSL (client certificate through Heroku's environment variables, with
KAFKA_PREFIX and KAFKA_TRUSTED_CERT verification) and over SASL SCRAM; read back over
PLAINTEXT with confluent-kafka."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from tests.integration.test_producer_oracles import md5_partition, read_confluent

import kaffe
from kafka_harness.broker import LocalBroker
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.broker


def _heroku_env(broker: LocalBroker, monkeypatch: pytest.MonkeyPatch, *, trusted: str) -> None:
    certs = broker.certs
    host, port = broker.listener("SSL")
    monkeypatch.setenv("KAFKA_URL", f"kafka+ssl://{host}:{port}")
    monkeypatch.setenv("KAFKA_TRUSTED_CERT", trusted)
    monkeypatch.setenv("KAFKA_CLIENT_CERT", certs.client.cert_pem)
    monkeypatch.setenv("KAFKA_CLIENT_CERT_KEY", certs.client.key_pem)


def test_heroku_env_ssl_client_cert_and_prefix(
    local_kafka_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = local_kafka_broker
    prefix = f"kaffe-it-heroku-{uuid.uuid4().hex[:6]}."
    _heroku_env(broker, monkeypatch, trusted=broker.certs.ca.cert_pem)
    monkeypatch.setenv("KAFKA_PREFIX", prefix)
    real = f"{prefix}orders"
    broker.admin.create_topic(real, 3, 1, None)
    try:
        with kaffe.Producer(heroku_kafka_env=True, topics=["orders"]) as p:
            p.produce_sync("orders", [("k1", "v1"), ("k2", "v2")])
            p.produce_sync("orders", 2, [("k3", "v3")])
            p.produce_sync("k4", "v4")
            p.produce_sync("orders", "k5", "v5")
            p.produce_sync(real, 1, "k6", "v6")  # already prefixed: not prefixed again
            p.produce("orders", [("k7", "v7")], partition_strategy="random")
            assert p._aio._engine is not None
            assert p._aio._engine.idempotent
        placed = {
            r.key: (part, r.value)
            for part in range(3)
            for r in read_confluent(broker.bootstrap, real, part)
        }
        assert placed[b"k3"] == (2, b"v3")
        assert placed[b"k6"] == (1, b"v6")
        for k in (b"k1", b"k2", b"k4", b"k5"):
            assert placed[k][0] == md5_partition(k, 3)
        assert set(placed) == {b"k1", b"k2", b"k3", b"k4", b"k5", b"k6", b"k7"}
    finally:
        broker.admin.delete_topic(real)


def test_heroku_env_rejects_an_untrusted_broker(
    local_kafka_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trusted "CA" that did not sign the broker's certificate: the broker must be refused.
    _heroku_env(local_kafka_broker, monkeypatch, trusted=local_kafka_broker.certs.client.cert_pem)
    p = kaffe.Producer(heroku_kafka_env=True, connect_timeout=5000)
    with pytest.raises(kaffe.BrokerCertificateError):
        p.start(timeout=20)
    p.close()


@pytest.mark.parametrize(
    ("listener", "mechanism"),
    [("SASL_PLAINTEXT", "scram_sha_512"), ("SASL_SSL", "scram_sha_256")],
)
def test_produce_over_scram(
    local_kafka_broker: LocalBroker, topic_factory: TopicFactory, listener: str, mechanism: str
) -> None:
    topic = topic_factory(2)
    user = local_kafka_broker.scram_users["admin"]
    extra: dict[str, Any] = {}
    if listener == "SASL_SSL":
        extra["ssl"] = {"cadata": local_kafka_broker.certs.ca.cert_pem}
    with kaffe.Producer(
        endpoints=[local_kafka_broker.listener(listener)],
        sasl={"mechanism": mechanism, "login": user.name, "password": user.password},
        compression="lz4",
        **extra,
    ) as p:
        p.produce_sync(topic, [(f"k{i}", f"v{i}") for i in range(20)])
        p.produce_sync(topic, 1, "last", "x")
        assert user.password not in repr(p)
    got = [r for i in range(2) for r in read_confluent(local_kafka_broker.bootstrap, topic, i)]
    assert len(got) == 21
    assert {r.key for r in got} == {f"k{i}".encode() for i in range(20)} | {b"last"}


def test_wrong_scram_password_is_an_authentication_error(local_kafka_broker: LocalBroker) -> None:
    user = local_kafka_broker.scram_users["admin"]
    p = kaffe.Producer(
        endpoints=[local_kafka_broker.listener("SASL_PLAINTEXT")],
        sasl={"mechanism": "scram_sha_512", "login": user.name, "password": "wrong-password"},
    )
    with pytest.raises(kaffe.AuthenticationError) as info:
        p.start(timeout=20)
    assert "wrong-password" not in str(info.value)
    p.close()
