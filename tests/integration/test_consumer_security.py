"""The consumers over the secured listeners of the real broker.

* SSL with the client certificate from Heroku's environment variables (``KAFKA_URL``,
  ``KAFKA_CLIENT_CERT``, ``KAFKA_CLIENT_CERT_KEY``, ``KAFKA_TRUSTED_CERT``) and ``KAFKA_PREFIX``
  applied to the topic and the consumer group, mirroring ``test_producer_security.py``.
* SASL (SCRAM-SHA-512 and PLAIN on SASL_PLAINTEXT, SCRAM-SHA-256 on SASL_SSL).
* Wrong credentials or an untrusted broker make ``start()`` / ``run()`` raise the typed error
  within their deadline instead of retrying silently.

The data is written with ``kaffe.Producer`` over the same secured listener; committed offsets are
read back over PLAINTEXT with ``kaffe.AdminClient``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.test_consumer_examples import FAST, committed, group, wait_until

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


@pytest.fixture
def members() -> Iterator[list[Any]]:
    """Stops every member a test started, even when it fails."""
    started: list[Any] = []
    yield started
    for m in started:
        m.stop()


class Batches:
    """A batch handler that records every message it is given."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[kaffe.Message] = []

    def handle_messages(self, messages: list[kaffe.Message]) -> None:
        with self.lock:
            self.messages.extend(messages)

    def snapshot(self) -> list[kaffe.Message]:
        with self.lock:
            return list(self.messages)


def test_supervisor_over_ssl_with_heroku_env_and_prefix(
    local_kafka_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch, members: list[Any]
) -> None:
    broker = local_kafka_broker
    prefix = f"kaffe-it-heroku-{uuid.uuid4().hex[:6]}."
    _heroku_env(broker, monkeypatch, trusted=broker.certs.ca.cert_pem)
    monkeypatch.setenv("KAFKA_PREFIX", prefix)
    real = f"{prefix}orders"
    consumer_group = group()
    broker.admin.create_topic(real, 3, 1, None)
    try:
        with kaffe.Producer(heroku_kafka_env=True, topics=["orders"]) as p:
            p.produce_sync("orders", [(f"k{i}", f"v{i}") for i in range(30)])
            p.produce_sync("orders", 2, [("p2", "last")])
        rec = Batches()
        sup = kaffe.GroupMemberSupervisor(
            heroku_kafka_env=True,
            topics=["orders"],
            consumer_group=consumer_group,
            message_handler=rec,
            **FAST,
        )
        assert sup.list_subscribed_topics() == [real]
        members.append(sup.start(timeout=60))
        wait_until(lambda: len(rec.snapshot()) >= 31, 60, "31 messages over SSL")
        got = rec.snapshot()
        assert sorted(m.value for m in got) == sorted(
            [f"v{i}".encode() for i in range(30)] + [b"last"]
        )
        assert {m.topic for m in got} == {real}
        assert [m.partition for m in got if m.key == b"p2"] == [2]
        ends = {
            p: 1 + max(m.offset for m in got if m.partition == p)
            for p in {m.partition for m in got}
        }
        # The commits are under the prefixed group id, for the prefixed topic.
        wait_until(
            lambda: committed(broker.bootstrap, prefix + consumer_group, real) == ends,
            30,
            f"commits {ends} for group {prefix + consumer_group!r}",
        )
        # Nothing under the bare group id.
        assert all(off < 0 for off in committed(broker.bootstrap, consumer_group, real).values())
        sup.stop()
    finally:
        broker.admin.delete_topic(real)


def test_consumer_refuses_an_untrusted_broker(
    local_kafka_broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The "CA" given is the client's own certificate, which did not sign the broker's.
    _heroku_env(local_kafka_broker, monkeypatch, trusted=local_kafka_broker.certs.client.cert_pem)
    consumer = kaffe.Consumer(
        heroku_kafka_env=True,
        topics=["orders"],
        consumer_group=group(),
        message_handler=lambda m: None,
        connect_timeout=5000,
        **FAST,
    )
    with pytest.raises(kaffe.BrokerCertificateError):
        consumer.start(timeout=60)
    assert not consumer.running


@pytest.mark.parametrize(
    ("listener", "mechanism"),
    [
        ("SASL_PLAINTEXT", "scram_sha_512"),
        ("SASL_PLAINTEXT", "plain"),
        ("SASL_SSL", "scram_sha_256"),
    ],
)
def test_consumer_over_sasl(
    local_kafka_broker: LocalBroker,
    topic_factory: TopicFactory,
    members: list[Any],
    listener: str,
    mechanism: str,
) -> None:
    broker = local_kafka_broker
    topic = topic_factory(2)
    users = broker.plain_users if mechanism == "plain" else broker.scram_users
    user = users["alice"]
    security: dict[str, Any] = {
        "endpoints": [broker.listener(listener)],
        "sasl": {"mechanism": mechanism, "login": user.name, "password": user.password},
    }
    if listener == "SASL_SSL":
        security["ssl"] = {"cadata": broker.certs.ca.cert_pem}
    with kaffe.Producer(topics=[topic], **security) as p:
        p.produce_sync(topic, [(f"k{i}", f"v{i}") for i in range(20)])
    got: list[kaffe.Message] = []
    lock = threading.Lock()

    def handle(message: kaffe.Message) -> None:
        with lock:
            got.append(message)

    consumer_group = group()
    consumer = kaffe.Consumer(
        topics=[topic], consumer_group=consumer_group, message_handler=handle, **security, **FAST
    )
    assert user.password not in repr(consumer)
    members.append(consumer.start(timeout=60))
    wait_until(lambda: len(got) >= 20, 60, f"20 messages over {listener} {mechanism}")
    with lock:
        assert sorted(m.value for m in got) == sorted(f"v{i}".encode() for i in range(20))
        ends = {p: len([m for m in got if m.partition == p]) for p in (0, 1)}
    ends = {p: n for p, n in ends.items() if n}
    wait_until(
        lambda: committed(broker.bootstrap, consumer_group, topic) == ends,
        30,
        f"commits {ends}",
    )


@pytest.mark.parametrize("kind", ["Consumer", "GroupMemberSupervisor"])
@pytest.mark.parametrize("mechanism", ["scram_sha_512", "plain"])
def test_wrong_sasl_password_fails_start_with_authentication_error(
    local_kafka_broker: LocalBroker, kind: str, mechanism: str
) -> None:
    user = local_kafka_broker.scram_users["admin"]
    cls = getattr(kaffe, kind)
    member = cls(
        endpoints=[local_kafka_broker.listener("SASL_PLAINTEXT")],
        sasl={"mechanism": mechanism, "login": user.name, "password": "wrong-password"},
        topics=["never-consumed"],
        consumer_group=group(),
        message_handler=lambda m: None,
        **FAST,
    )
    with pytest.raises(kaffe.AuthenticationError) as info:
        member.start(timeout=60)
    assert "wrong-password" not in str(info.value)
    assert not member.running
    with pytest.raises(kaffe.AuthenticationError):
        member.run()  # run() starts first: the same error, not a silent retry loop
    assert not member.running
    member.stop()  # idempotent after a failed start
