"""A broker of our own with short ``connections.max.reauth.ms`` and ``connections.max.idle.ms``.

* KIP-368: the broker grants SASL sessions of REAUTH_MS; kaffe must re-authenticate on the same
  connection before they expire, while requests keep flowing (an expired session makes the broker
  close the connection, so every request failing would show it).
* ``connections.max.idle.ms``: the broker closes idle connections; the pool must notice and hand
  out a fresh connection on next use.

The broker is started with `LocalBroker(extra_properties=...)`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kaffe import errors
from kaffe._net import ConnectionPool
from kaffe._net.connection import BrokerConnection
from kaffe._protocol import ApiKey
from kaffe.config import ConnectionOptions, SaslSettings, build_ssl_context
from kafka_harness.broker import LocalBroker
from kafka_harness.jars import KafkaJars

pytestmark = pytest.mark.broker

REAUTH_MS = 3000
IDLE_MS = 4000
EXTRA_PROPERTIES = {
    "connections.max.reauth.ms": str(REAUTH_MS),
    "connections.max.idle.ms": str(IDLE_MS),
}


@pytest.fixture(scope="module")
def short_session_broker(kafka_jars: KafkaJars) -> Iterator[LocalBroker]:
    if os.environ.get("KAFFE_TEST_BOOTSTRAP"):
        pytest.skip(
            "needs a broker of the harness's own with extra properties; "
            "KAFFE_TEST_BOOTSTRAP points at an external one"
        )

    broker = LocalBroker(kafka_jars, extra_properties=EXTRA_PROPERTIES)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        broker.remove_run_dir()


async def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("listener", "mechanism"),
    [
        ("SASL_PLAINTEXT", "plain"),
        ("SASL_PLAINTEXT", "scram_sha_256"),
        ("SASL_SSL", "scram_sha_512"),
    ],
)
def test_reauthenticates_before_the_session_expires(
    short_session_broker: LocalBroker, listener: str, mechanism: str
) -> None:
    broker = short_session_broker
    user = broker.users["alice"]
    host, port = broker.listener(listener)
    ssl_context = (
        build_ssl_context({"cadata": broker.certs.ca.cert_pem}) if listener == "SASL_SSL" else None
    )
    options = ConnectionOptions(
        ssl_context=ssl_context,
        sasl=SaslSettings(mechanism, user.name, user.password),  # type: ignore[arg-type]
        request_timeout=10.0,
    )

    async def main() -> tuple[int, int, int]:
        conn = BrokerConnection(host, port, options)
        await conn.connect()
        lifetime = conn.session_lifetime_ms
        answered = 0
        try:
            deadline = time.monotonic() + 40.0
            # Several sessions' worth of traffic, a few requests at a time.
            while conn.reauthentications < 2 and time.monotonic() < deadline:
                bodies = await asyncio.gather(
                    *(conn.request(ApiKey.METADATA, {"topics": None}) for _ in range(3))
                )
                answered += sum(1 for b in bodies if b["brokers"][0]["port"] == port)
                await asyncio.sleep(0.1)
            assert conn.connected
            return lifetime, conn.reauthentications, answered
        finally:
            await conn.close()

    lifetime, reauths, answered = asyncio.run(main())
    assert 0 < lifetime <= REAUTH_MS
    assert reauths >= 2
    assert answered > 0


def test_pool_replaces_a_connection_the_broker_closed_as_idle(
    short_session_broker: LocalBroker,
) -> None:
    host, port = short_session_broker.listener("PLAINTEXT")

    async def main() -> None:
        pool = ConnectionPool(ConnectionOptions(reconnect_backoff=0.05))
        try:
            first = await pool.get(host, port)
            await first.request(ApiKey.METADATA, {"topics": None})
            # Send nothing: the broker closes the connection after IDLE_MS.
            await _wait_for(lambda: not first.connected, 60.0, "the broker to close it")
            with pytest.raises(errors.ConnectionError):
                await first.request(ApiKey.METADATA, {"topics": None})
            second = await pool.get(host, port)
            assert second is not first
            body = await second.request(ApiKey.METADATA, {"topics": None})
            assert body["brokers"][0]["port"] == port
        finally:
            await pool.close()

    asyncio.run(main())
