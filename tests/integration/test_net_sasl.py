"""kaffe._net SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) on SASL_PLAINTEXT and SASL_SSL."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from kaffe import errors
from kaffe._net import ConnectionPool
from kaffe._net.connection import BrokerConnection
from kaffe._protocol import ApiKey
from kaffe.config import ConnectionOptions, SaslMechanism, SaslSettings, build_ssl_context
from kafka_harness.broker import LocalBroker

pytestmark = pytest.mark.broker

CONNECT_TIMEOUT = 5.0
MARGIN = 5.0
MECHANISMS: list[SaslMechanism] = ["plain", "scram_sha_256", "scram_sha_512"]


def _options(broker: LocalBroker, listener: str, sasl: SaslSettings) -> ConnectionOptions:
    ssl_context = None
    if listener == "SASL_SSL":
        ssl_context = build_ssl_context({"cadata": broker.certs.ca.cert_pem})
    return ConnectionOptions(
        ssl_context=ssl_context, sasl=sasl, connect_timeout=CONNECT_TIMEOUT, reconnect_backoff=0.05
    )


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_authenticates(local_kafka_broker: LocalBroker, listener: str, mechanism: str) -> None:
    user = local_kafka_broker.users["alice"]
    host, port = local_kafka_broker.listener(listener)
    sasl = SaslSettings(mechanism, user.name, user.password)  # type: ignore[arg-type]

    async def main() -> tuple[list[int], int]:
        conn = BrokerConnection(host, port, _options(local_kafka_broker, listener, sasl))
        await conn.connect()
        try:
            body = await conn.request(ApiKey.METADATA, {"topics": None})
            return [b["port"] for b in body["brokers"]], conn.session_lifetime_ms
        finally:
            await conn.close()

    ports, lifetime = asyncio.run(main())
    assert ports == [port]  # the broker advertises the listener we came in on
    assert lifetime == 0  # the harness broker sets no connections.max.reauth.ms


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT", "SASL_SSL"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_wrong_password(
    local_kafka_broker: LocalBroker,
    listener: str,
    mechanism: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = local_kafka_broker.users["alice"]
    host, port = local_kafka_broker.listener(listener)
    wrong = "wrong-" + user.password
    sasl = SaslSettings(mechanism, user.name, wrong)  # type: ignore[arg-type]

    async def main() -> tuple[errors.KafkaError, float]:
        conn = BrokerConnection(host, port, _options(local_kafka_broker, listener, sasl))
        started = time.monotonic()
        with pytest.raises(errors.SaslAuthenticationFailedError) as info:
            await conn.connect()
        return info.value, time.monotonic() - started

    with caplog.at_level(logging.DEBUG, logger="kaffe"):
        err, elapsed = asyncio.run(main())

    assert elapsed < CONNECT_TIMEOUT + MARGIN
    assert isinstance(err, errors.AuthenticationError)
    assert err.code == 58
    assert err.retriable is False
    assert "Authentication failed" in str(err)  # the broker's own message
    assert repr(user.name) in str(err)
    for text in [str(err), repr(sasl), *(r.getMessage() for r in caplog.records)]:
        assert wrong not in text
        assert user.password not in text


def test_unknown_user(local_kafka_broker: LocalBroker) -> None:
    host, port = local_kafka_broker.listener("SASL_PLAINTEXT")
    sasl = SaslSettings("scram_sha_512", "nobody", "whatever")

    async def main() -> None:
        conn = BrokerConnection(host, port, _options(local_kafka_broker, "SASL_PLAINTEXT", sasl))
        with pytest.raises(errors.SaslAuthenticationFailedError):
            await conn.connect()

    asyncio.run(main())


def test_pool_does_not_retry_a_wrong_password_at_once(
    local_kafka_broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    user = local_kafka_broker.users["admin"]
    host, port = local_kafka_broker.listener("SASL_PLAINTEXT")
    sasl = SaslSettings("scram_sha_256", user.name, "not-" + user.password)

    async def main() -> None:
        options = _options(local_kafka_broker, "SASL_PLAINTEXT", sasl)
        pool = ConnectionPool(options)
        try:
            for _ in range(5):
                with pytest.raises(errors.SaslAuthenticationFailedError):
                    await pool.get(host, port)
        finally:
            await pool.close()

    with caplog.at_level(logging.WARNING, logger="kaffe.net"):
        asyncio.run(main())
    attempts = [r for r in caplog.records if r.getMessage().startswith("connecting to broker")]
    assert len(attempts) == 1  # one login attempt, then the same error during the backoff


def test_pool_reconnects_with_sasl(local_kafka_broker: LocalBroker) -> None:
    user = local_kafka_broker.users["alice"]
    host, port = local_kafka_broker.listener("SASL_SSL")
    sasl = SaslSettings("scram_sha_512", user.name, user.password)

    async def main() -> None:
        pool = ConnectionPool(_options(local_kafka_broker, "SASL_SSL", sasl))
        try:
            first = await pool.get(host, port)
            await first.close()  # as if it had dropped
            second = await pool.get(host, port)
            assert second is not first
            body = await second.request(ApiKey.METADATA, {"topics": None})
            assert body["brokers"][0]["port"] == port
        finally:
            await pool.close()

    asyncio.run(main())
