"""kaffe._net over the broker's SSL listener (mutual TLS): the good paths and each refusal."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from typing import Any

import pytest

from kaffe import errors
from kaffe._net import ConnectionPool
from kaffe._net.connection import BrokerConnection
from kaffe._protocol import ApiKey
from kaffe.config import ConnectionOptions, build_ssl_context
from kafka_harness import probe
from kafka_harness.broker import LocalBroker

pytestmark = pytest.mark.broker

CONNECT_TIMEOUT = 5.0
MARGIN = 5.0


def _metadata_ok(broker: LocalBroker, ssl_setting: Any) -> list[int]:
    host, port = broker.listener("SSL")

    async def main() -> list[int]:
        options = ConnectionOptions(
            ssl_context=build_ssl_context(ssl_setting), connect_timeout=CONNECT_TIMEOUT
        )
        conn = BrokerConnection(host, port, options)
        await conn.connect()
        try:
            body = await conn.request(ApiKey.METADATA, {"topics": None})
            return [b["node_id"] for b in body["brokers"]]
        finally:
            await conn.close()

    return asyncio.run(main())


def _refused(broker: LocalBroker, ssl_setting: Any, error: type[errors.KafkaError]) -> Any:
    host, port = broker.listener("SSL")

    async def main() -> tuple[errors.KafkaError, float]:
        options = ConnectionOptions(
            ssl_context=build_ssl_context(ssl_setting), connect_timeout=CONNECT_TIMEOUT
        )
        conn = BrokerConnection(host, port, options)
        started = time.monotonic()
        with pytest.raises(error) as info:
            await conn.connect()
        elapsed = time.monotonic() - started
        assert not conn.connected
        return info.value, elapsed

    err, elapsed = asyncio.run(main())
    assert elapsed < CONNECT_TIMEOUT + MARGIN
    return err


def test_client_certificate_as_paths(local_kafka_broker: LocalBroker) -> None:
    certs = local_kafka_broker.certs
    setting = {
        "cafile": str(certs.ca.cert_path),
        "certfile": str(certs.client.cert_path),
        "keyfile": str(certs.client.key_path),
    }
    assert _metadata_ok(local_kafka_broker, setting) == [1]


def test_client_certificate_as_pem_strings(local_kafka_broker: LocalBroker) -> None:
    certs = local_kafka_broker.certs
    setting = {
        "cadata": certs.ca.cert_pem,
        "certdata": certs.client.cert_pem,
        "keydata": certs.client.key_pem,
    }
    assert _metadata_ok(local_kafka_broker, setting) == [1]


def test_heroku_style_without_hostname_check(local_kafka_broker: LocalBroker) -> None:
    certs = local_kafka_broker.certs
    setting = {
        "cadata": certs.ca.cert_pem,
        "certdata": certs.client.cert_pem,
        "keydata": certs.client.key_pem,
        "check_hostname": False,
    }
    assert _metadata_ok(local_kafka_broker, setting) == [1]


def test_a_users_ssl_context(local_kafka_broker: LocalBroker) -> None:
    certs = local_kafka_broker.certs
    ctx = probe.client_tls_context(certs.ca.cert_pem, certs.client.cert_path, certs.client.key_path)
    assert _metadata_ok(local_kafka_broker, ctx) == [1]


def test_untrusted_broker_ca(local_kafka_broker: LocalBroker) -> None:
    certs = local_kafka_broker.certs
    setting = {
        "cadata": certs.rogue_ca.cert_pem,  # not the CA that signed the broker's certificate
        "certdata": certs.rogue_client.cert_pem,
        "keydata": certs.rogue_client.key_pem,
    }
    err = _refused(local_kafka_broker, setting, errors.BrokerCertificateError)

    assert err.reason == "untrusted"
    assert "not trusted" in str(err)
    assert err.retriable is False


def test_missing_client_certificate(local_kafka_broker: LocalBroker) -> None:
    setting = {"cadata": local_kafka_broker.certs.ca.cert_pem}
    err = _refused(local_kafka_broker, setting, errors.ClientCertificateRejectedError)

    assert isinstance(err, errors.AuthenticationError)
    assert isinstance(err, errors.TLSError)
    assert "rejected the TLS client certificate" in str(err)
    assert "no client certificate is configured" in str(err)


def test_expired_client_certificate(local_kafka_broker: LocalBroker) -> None:
    certs = local_kafka_broker.certs
    setting = {
        "cadata": certs.ca.cert_pem,
        "certdata": certs.expired_client.cert_pem,
        "keydata": certs.expired_client.key_pem,
    }
    err = _refused(local_kafka_broker, setting, errors.ClientCertificateRejectedError)

    assert "rejected the TLS client certificate" in str(err)
    assert "no client certificate is configured" not in str(err)


def test_client_certificate_from_an_untrusted_ca(local_kafka_broker: LocalBroker) -> None:
    certs = local_kafka_broker.certs
    setting = {
        "cadata": certs.ca.cert_pem,
        "certdata": certs.rogue_client.cert_pem,
        "keydata": certs.rogue_client.key_pem,
    }
    _refused(local_kafka_broker, setting, errors.ClientCertificateRejectedError)


def test_pool_does_not_retry_a_tls_refusal_at_once(
    local_kafka_broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = local_kafka_broker.listener("SSL")
    setting = {"cadata": local_kafka_broker.certs.ca.cert_pem}

    async def main() -> None:
        options = ConnectionOptions(
            ssl_context=build_ssl_context(setting),
            connect_timeout=CONNECT_TIMEOUT,
            reconnect_backoff_max=60.0,
        )
        pool = ConnectionPool(options)
        try:
            for _ in range(3):
                with pytest.raises(errors.ClientCertificateRejectedError):
                    await pool.get(host, port)
        finally:
            await pool.close()

    with caplog.at_level(logging.WARNING, logger="kaffe.net"):
        asyncio.run(main())
    attempts = [r for r in caplog.records if r.getMessage().startswith("connecting to broker")]
    assert len(attempts) == 1


def test_sni_is_sent_without_hostname_check(local_kafka_broker: LocalBroker) -> None:
    """A local TLS server with the broker's certificate records the SNI name kaffe sends."""
    certs = local_kafka_broker.certs
    names: list[str | None] = []
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(certs.broker.cert_path, certs.broker.key_path)

    def record(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        names.append(name)

    server_ctx.sni_callback = record

    async def main() -> None:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        try:
            setting = {"cadata": certs.ca.cert_pem, "check_hostname": False}
            options = ConnectionOptions(
                ssl_context=build_ssl_context(setting), connect_timeout=CONNECT_TIMEOUT
            )
            conn = BrokerConnection("localhost", port, options)
            with pytest.raises(errors.ConnectionError):  # it is not a broker
                await conn.connect()
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    assert names == ["localhost"]


def test_plaintext_client_on_the_tls_listener(local_kafka_broker: LocalBroker) -> None:
    host, port = local_kafka_broker.listener("SSL")

    async def main() -> None:
        conn = BrokerConnection(host, port, ConnectionOptions(connect_timeout=CONNECT_TIMEOUT))
        # The broker answers with a TLS alert record, which is no Kafka frame.
        with pytest.raises(errors.ProtocolError, match="TLS listener"):
            await conn.connect()

    asyncio.run(main())


def test_tls_client_on_the_plaintext_listener(local_kafka_broker: LocalBroker) -> None:
    host, port = local_kafka_broker.listener("PLAINTEXT")
    options = ConnectionOptions(
        ssl_context=build_ssl_context({"cadata": local_kafka_broker.certs.ca.cert_pem}),
        connect_timeout=CONNECT_TIMEOUT,
    )

    async def main() -> None:
        conn = BrokerConnection(host, port, options)
        with pytest.raises(errors.TLSError) as info:
            await conn.connect()
        assert not isinstance(info.value, errors.ClientCertificateRejectedError)

    asyncio.run(main())
