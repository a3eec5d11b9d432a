"""kaffe._net against the real broker (PLAINTEXT): negotiation, pipelining, deadlines, failures.

Misbehaving peers are local asyncio servers in the test (random bytes, silence, hang-ups) or a
byte-level proxy in front of the real broker that tampers with its responses or cuts the
connection; nothing here imitates Kafka.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pytest

from kaffe import _core, errors
from kaffe._net import ConnectionPool
from kaffe._net.connection import BrokerConnection
from kaffe._protocol import ApiKey
from kaffe._util import backoff_delay
from kaffe.config import ConnectionOptions
from kafka_harness import probe
from kafka_harness.broker import BrokerHandle
from kafka_harness.topics import TopicFactory

pytestmark = pytest.mark.broker

API_PRODUCE, API_FETCH, API_METADATA, API_API_VERSIONS = (
    ApiKey.PRODUCE,
    ApiKey.FETCH,
    ApiKey.METADATA,
    ApiKey.API_VERSIONS,
)
MARGIN = 5.0  # seconds allowed beyond a timeout on a loaded 2-core machine

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _addr(broker: BrokerHandle) -> tuple[str, int]:
    return broker.listener("PLAINTEXT")


def _metadata_body(topics: list[str] | None) -> dict[str, Any]:
    return {
        "topics": None if topics is None else [{"name": t} for t in topics],
        "allow_auto_topic_creation": False,
    }


async def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------------------ negotiation


def test_api_versions_negotiation(kafka_broker: BrokerHandle) -> None:
    host, port = _addr(kafka_broker)
    oracle = probe.api_versions(host, port, timeout=10.0)  # the harness's own v0 parser

    async def main() -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
        conn = BrokerConnection(host, port, ConnectionOptions(client_id="kaffe-test"))
        await conn.connect()
        try:
            return conn.api_versions(), {
                k: conn.api_version(k)
                for k in (
                    API_PRODUCE,
                    API_FETCH,
                    API_METADATA,
                    API_API_VERSIONS,
                    ApiKey.SASL_AUTHENTICATE,
                )
            }
        finally:
            await conn.close()

    ranges, chosen = run(main())

    assert set(ranges) == set(oracle.apis)
    for key, (lo, hi) in ranges.items():
        assert hi == oracle.apis[key].max_version
        if key != API_PRODUCE:
            assert lo == oracle.apis[key].min_version
    assert chosen[API_PRODUCE] >= 3
    assert chosen[API_FETCH] >= 4
    table = _core.api_versions_table()
    for key, version in chosen.items():
        assert version == min(table[key][2], oracle.apis[key].max_version)
    assert chosen[API_API_VERSIONS] >= 3  # KIP-511 fields were sent (and accepted)


def test_override_caps_a_version(kafka_broker: BrokerHandle) -> None:
    host, port = _addr(kafka_broker)

    async def main() -> tuple[int, list[str]]:
        options = ConnectionOptions(api_version_overrides={API_METADATA: 4})
        conn = BrokerConnection(host, port, options)
        await conn.connect()
        try:
            body = await conn.request(API_METADATA, _metadata_body(None))
            return conn.api_version(API_METADATA), [b["host"] for b in body["brokers"]]
        finally:
            await conn.close()

    version, hosts = run(main())
    assert version == 4
    assert hosts == [host]


def test_unsupported_api_is_a_typed_error(kafka_broker: BrokerHandle) -> None:
    host, port = _addr(kafka_broker)

    async def main() -> None:
        # Produce v0-v2 are gone (KIP-896), so capping Produce at v2 leaves no common version.
        conn = BrokerConnection(
            host, port, ConnectionOptions(api_version_overrides={API_PRODUCE: 2})
        )
        await conn.connect()
        try:
            conn.api_version(API_PRODUCE)
        finally:
            await conn.close()

    with pytest.raises(errors.UnsupportedVersionError, match="Produce"):
        run(main())


# ------------------------------------------------------------------------------ requests


def test_pipelined_metadata_requests_are_matched(kafka_broker: BrokerHandle) -> None:
    host, port = _addr(kafka_broker)

    async def main() -> tuple[list[dict[str, Any]], int]:
        conn = BrokerConnection(host, port, ConnectionOptions())
        await conn.connect()
        try:
            most = 0

            async def sample() -> None:
                nonlocal most
                while True:
                    most = max(most, conn.in_flight)
                    await asyncio.sleep(0)

            sampler = asyncio.create_task(sample())
            bodies = await asyncio.gather(
                *(
                    conn.request(API_METADATA, _metadata_body([f"kaffe-absent-{i}"]))
                    for i in range(100)
                )
            )
            sampler.cancel()
            return list(bodies), most
        finally:
            await conn.close()

    bodies, most = run(main())

    assert len(bodies) == 100
    for i, body in enumerate(bodies):
        (topic,) = body["topics"]
        assert topic["name"] == f"kaffe-absent-{i}"  # each answer went to its own request
        err = errors.for_code(topic["error_code"])
        assert isinstance(err, errors.UnknownTopicOrPartitionError)
    assert most > 1  # requests really were in flight together


async def _topic_id(conn: BrokerConnection, topic: str) -> bytes:
    body = await conn.request(API_METADATA, _metadata_body([topic]))
    (entry,) = body["topics"]
    assert entry["error_code"] == 0
    return bytes(entry["topic_id"])


def _long_fetch(conn: BrokerConnection, topic: str, topic_id: bytes) -> dict[str, Any]:
    version = conn.api_version(API_FETCH)
    key: dict[str, Any] = {"topic_id": topic_id} if version >= 13 else {"topic": topic}
    return {
        "max_wait_ms": 30_000,
        "min_bytes": 1,
        "max_bytes": 1 << 20,
        "session_epoch": -1,
        "topics": [
            {
                **key,
                "partitions": [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}],
            }
        ],
    }


def test_request_deadline(kafka_broker: BrokerHandle, topic_factory: TopicFactory) -> None:
    topic = topic_factory(1)
    host, port = _addr(kafka_broker)

    async def main() -> tuple[float, bool]:
        conn = BrokerConnection(host, port, ConnectionOptions())
        await conn.connect()
        try:
            topic_id = await _topic_id(conn, topic)
            started = time.monotonic()
            with pytest.raises(errors.KafkaTimeoutError, match="Fetch"):
                # An empty partition: the broker holds the fetch for max_wait_ms (30 s).
                await conn.request(API_FETCH, _long_fetch(conn, topic, topic_id), timeout=0.5)
            return time.monotonic() - started, conn.connected
        finally:
            await conn.close()

    elapsed, still_connected = run(main())
    assert elapsed < 0.5 + MARGIN
    assert not still_connected  # a late response would desynchronise the connection


def test_orderly_close_fails_requests_in_flight(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    host, port = _addr(kafka_broker)

    async def main() -> None:
        conn = BrokerConnection(host, port, ConnectionOptions())
        await conn.connect()
        topic_id = await _topic_id(conn, topic)
        pending = asyncio.create_task(conn.request(API_FETCH, _long_fetch(conn, topic, topic_id)))
        await _wait_for(lambda: conn.in_flight == 1, 10.0, "the fetch to be in flight")
        await conn.close()
        with pytest.raises(errors.ConnectionError, match="closed by the client"):
            await pending
        assert not conn.connected
        with pytest.raises(errors.ConnectionError):
            await conn.request(API_METADATA, _metadata_body(None))

    run(main())


def test_request_nowait_delivers_response_timeout_and_close_once(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    """The callback form of a request (the producer's hot path): a response, a timeout (which
    closes the connection) and a close each reach the callback exactly once."""
    topic = topic_factory(1)
    host, port = _addr(kafka_broker)

    async def main() -> None:
        conn = BrokerConnection(host, port, ConnectionOptions())
        await conn.connect()
        topic_id = await _topic_id(conn, topic)
        got: list[Any] = []
        version = conn.api_version(API_METADATA)
        assert conn.request_nowait(
            API_METADATA, _metadata_body([topic]), got.append, version=version, timeout=10.0
        )
        await _wait_for(lambda: len(got) == 1, 10.0, "the Metadata response")
        assert isinstance(got[0], dict)
        assert got[0]["topics"][0]["name"] == topic

        fetch_version = conn.api_version(API_FETCH)
        started = time.monotonic()
        assert conn.request_nowait(
            API_FETCH,
            _long_fetch(conn, topic, topic_id),
            got.append,
            version=fetch_version,
            timeout=0.5,
        )
        await _wait_for(lambda: len(got) == 2, 10.0, "the Fetch timeout")
        assert time.monotonic() - started < 0.5 + MARGIN
        assert isinstance(got[1], errors.KafkaTimeoutError)
        assert not conn.connected  # a late response would desynchronise the connection
        assert not conn.request_nowait(
            API_METADATA, _metadata_body(None), got.append, version=version, timeout=1.0
        )

        conn2 = BrokerConnection(host, port, ConnectionOptions())
        await conn2.connect()
        assert conn2.request_nowait(
            API_FETCH,
            _long_fetch(conn2, topic, topic_id),
            got.append,
            version=fetch_version,
            timeout=30.0,
        )
        await conn2.close()
        await _wait_for(lambda: len(got) == 3, 10.0, "the close to reach the callback")
        assert isinstance(got[2], errors.ConnectionError)
        await conn.close()
        assert len(got) == 3  # nothing delivered twice

    run(main())


def test_produce_acks_0_returns_without_a_response(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)
    host, port = _addr(kafka_broker)
    batch = _core.encode_record_batch([(b"k", b"v", [], int(time.time() * 1000))])

    async def main() -> tuple[dict[str, Any], int]:
        conn = BrokerConnection(host, port, ConnectionOptions())
        await conn.connect()
        try:
            topic_id = await _topic_id(conn, topic)
            key: dict[str, Any] = (
                {"topic_id": topic_id} if conn.api_version(API_PRODUCE) >= 13 else {"name": topic}
            )
            body = {
                "acks": 0,
                "timeout_ms": 5000,
                "topic_data": [{**key, "partition_data": [{"index": 0, "records": batch}]}],
            }
            nothing = await conn.request(API_PRODUCE, body)
            # The connection stays in step, and the record arrives.
            fetch = _long_fetch(conn, topic, topic_id)
            fetch["max_wait_ms"] = 100
            deadline = time.monotonic() + 15.0
            while True:
                answer = await conn.request(API_FETCH, fetch)
                high = answer["responses"][0]["partitions"][0]["high_watermark"]
                if high >= 1 or time.monotonic() > deadline:
                    return nothing, int(high)

        finally:
            await conn.close()

    nothing, high_watermark = run(main())
    assert nothing == {}
    assert high_watermark == 1


# ------------------------------------------------------------------------------ misbehaving peers


class _Peer:
    """A local TCP server with a scripted behaviour per accepted connection."""

    def __init__(
        self, handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    ) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> tuple[str, int]:
        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.append(writer)
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                await self.handler(reader, writer)

        self.server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return "127.0.0.1", port

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        await self.server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    (size,) = struct.unpack(">i", await reader.readexactly(4))
    return await reader.readexactly(size)


def _connect_expecting(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    error: type[errors.KafkaError],
    timeout: float = 2.0,
) -> tuple[errors.KafkaError, float]:
    async def main() -> tuple[errors.KafkaError, float]:
        async with _Peer(handler) as (host, port):
            conn = BrokerConnection(host, port, ConnectionOptions(connect_timeout=timeout))
            started = time.monotonic()
            with pytest.raises(error) as info:
                await conn.connect()
            elapsed = time.monotonic() - started
            assert not conn.connected
            return info.value, elapsed

    return run(main())


def test_nothing_listening_is_a_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is now closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main() -> float:
        conn = BrokerConnection("127.0.0.1", port, ConnectionOptions(connect_timeout=2.0))
        started = time.monotonic()
        with pytest.raises(errors.ConnectionError, match=str(port)):
            await conn.connect()
        return time.monotonic() - started

    assert run(main()) < 2.0 + MARGIN


@pytest.mark.parametrize("seed", range(6))
def test_random_bytes_are_a_protocol_error(seed: int) -> None:
    rng = random.Random(seed)

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        while True:  # random bytes for as long as the client listens
            writer.write(rng.randbytes(65536))
            await writer.drain()

    err, elapsed = _connect_expecting(garbage, errors.ProtocolError, timeout=10.0)
    assert elapsed < 10.0 + MARGIN
    assert not isinstance(err, errors.CorruptRecordError)


def test_a_frame_that_does_not_decode_is_a_protocol_error() -> None:
    async def well_framed_garbage(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        request = await _read_request(reader)
        correlation = request[4:8]  # header: api_key, api_version, correlation_id
        body = correlation + b"\x00\x00" + b"\xff" * 7  # error 0, then nonsense lengths
        writer.write(struct.pack(">i", len(body)) + body)
        await writer.drain()
        await reader.read()

    err, _elapsed = _connect_expecting(well_framed_garbage, errors.ProtocolError)
    assert "ApiVersions" in str(err)


def test_an_oversized_frame_is_refused_without_reading_it() -> None:
    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(struct.pack(">i", 0x7FFFFFF0))
        await writer.drain()
        await reader.read()

    err, _elapsed = _connect_expecting(huge, errors.ProtocolError)
    assert str(0x7FFFFFF0) in str(err)


def test_silent_server_times_out_within_connect_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, reads, never answers

    err, elapsed = _connect_expecting(silent, errors.KafkaTimeoutError, timeout=1.0)
    assert elapsed < 1.0 + MARGIN
    assert "ApiVersions" in str(err)


def test_server_that_hangs_up_is_a_connection_error() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    _err, elapsed = _connect_expecting(hang_up, errors.ConnectionError)
    assert elapsed < 2.0 + MARGIN


def test_server_that_reads_the_request_and_hangs_up_gives_no_tls_hint() -> None:
    async def read_and_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)  # read first: closing with unread bytes would be a reset
        writer.close()

    err, _elapsed = _connect_expecting(read_and_hang_up, errors.ConnectionError)
    # A bare hang-up says nothing about TLS: no hint that would send the user the wrong way.
    assert "closed the connection before answering ApiVersions" in str(err)
    assert "TLS" not in str(err)


def test_server_that_hangs_up_after_tls_looking_bytes_hints_at_tls() -> None:
    async def tls_alert_cut_short(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await _read_request(reader)
        writer.write(b"\x15\x03")  # the start of a TLS alert record, then the end of stream
        await writer.drain()
        writer.close()

    err, _elapsed = _connect_expecting(tls_alert_cut_short, errors.ConnectionError)
    assert "is this a TLS listener? then set ssl" in str(err)


# ------------------------------------------------------------------------------ proxy


class _Proxy:
    """Forwards frames to the broker; can rewrite request and response frames (``tamper*(n,
    payload)`` with ``n`` counting from 1) and cut every connection."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.accepted = 0
        self.responses = 0
        self.requests = 0
        self.tamper: Callable[[int, bytes], bytes] | None = None
        self.tamper_request: Callable[[int, bytes], bytes] | None = None
        self._transports: list[asyncio.WriteTransport] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        return "127.0.0.1", self._server.sockets[0].getsockname()[1]

    async def _on_client(
        self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter
    ) -> None:
        self.accepted += 1
        b_reader, b_writer = await asyncio.open_connection(*self.upstream)
        self._transports += [c_writer.transport, b_writer.transport]

        async def upstream() -> None:
            while True:
                head = await c_reader.readexactly(4)
                payload = await c_reader.readexactly(struct.unpack(">i", head)[0])
                self.requests += 1
                if self.tamper_request is not None:
                    payload = self.tamper_request(self.requests, payload)
                b_writer.write(struct.pack(">i", len(payload)) + payload)
                await b_writer.drain()

        async def downstream() -> None:
            while True:
                head = await b_reader.readexactly(4)
                payload = await b_reader.readexactly(struct.unpack(">i", head)[0])
                self.responses += 1
                if self.tamper is not None:
                    payload = self.tamper(self.responses, payload)
                c_writer.write(struct.pack(">i", len(payload)) + payload)
                await c_writer.drain()

        try:
            await asyncio.gather(upstream(), downstream())
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            c_writer.transport.abort()
            b_writer.transport.abort()

    def cut(self) -> None:
        """Drop every proxied connection, as a broker closing idle connections would."""
        for transport in self._transports:
            transport.abort()
        self._transports.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def test_api_versions_retry_after_unsupported_version(kafka_broker: BrokerHandle) -> None:
    """A broker older than kaffe answers ApiVersions in v0 with UNSUPPORTED_VERSION and its
    ranges; kaffe retries with the highest version the broker named. The proxy makes the real
    broker do that (it raises the first request's version to one no broker knows), and lowers
    the ApiVersions maximum in that first answer to v2."""
    seen: list[tuple[int, int]] = []

    def too_new(index: int, payload: bytes) -> bytes:
        api_key, version = struct.unpack_from(">hh", payload)
        if index == 1:
            assert (api_key, version) == (API_API_VERSIONS, 4)
            payload = struct.pack(">hh", api_key, 99) + payload[4:]
        seen.append(struct.unpack_from(">hh", payload))
        return payload

    def claim_v2(index: int, payload: bytes) -> bytes:
        if index != 1:
            return payload
        data = bytearray(payload)
        (error_code, count) = struct.unpack_from(">hi", data, 4)
        assert error_code == 35  # UNSUPPORTED_VERSION, in the v0 layout
        for i in range(count):
            offset = 10 + 6 * i
            if struct.unpack_from(">h", data, offset)[0] == API_API_VERSIONS:
                struct.pack_into(">h", data, offset + 4, 2)
        return bytes(data)

    async def main() -> tuple[int, int]:
        proxy = _Proxy(_addr(kafka_broker))
        proxy.tamper_request = too_new
        proxy.tamper = claim_v2
        host, port = await proxy.start()
        conn = BrokerConnection(host, port, ConnectionOptions())
        try:
            await conn.connect()
            body = await conn.request(API_METADATA, _metadata_body(None))
            return len(body["brokers"]), conn.api_version(API_API_VERSIONS)
        finally:
            await conn.close()
            await proxy.close()

    brokers, api_versions_version = run(main())
    assert brokers == 1
    assert seen[:2] == [(API_API_VERSIONS, 99), (API_API_VERSIONS, 2)]
    assert seen[2][0] == API_METADATA
    assert api_versions_version == 4  # from the real v2 answer's ranges


def test_response_with_a_wrong_correlation_id_is_a_protocol_error(
    kafka_broker: BrokerHandle,
) -> None:
    async def main() -> None:
        proxy = _Proxy(_addr(kafka_broker))
        host, port = await proxy.start()
        conn = BrokerConnection(host, port, ConnectionOptions())
        try:
            await conn.connect()

            def bump(index: int, payload: bytes) -> bytes:
                if index != 2:  # leave ApiVersions alone
                    return payload
                (cid,) = struct.unpack_from(">i", payload)
                return struct.pack(">i", cid + 1000) + payload[4:]

            proxy.tamper = bump
            with pytest.raises(errors.ProtocolError, match="correlation id"):
                await conn.request(API_METADATA, _metadata_body(None), timeout=10.0)
            assert not conn.connected
        finally:
            await conn.close()
            await proxy.close()

    run(main())


def test_pool_reconnects_after_the_connection_is_cut(
    kafka_broker: BrokerHandle, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(1)

    async def main() -> None:
        proxy = _Proxy(_addr(kafka_broker))
        host, port = await proxy.start()
        pool = ConnectionPool(ConnectionOptions(reconnect_backoff=0.05))
        try:
            first = await pool.get(host, port)
            assert await pool.get(host, port) is first  # reused while alive
            topic_id = await _topic_id(first, topic)
            pending = asyncio.create_task(
                first.request(API_FETCH, _long_fetch(first, topic, topic_id))
            )
            await _wait_for(lambda: first.in_flight == 1, 10.0, "the fetch to be in flight")

            proxy.cut()

            with pytest.raises(errors.ConnectionError, match="closed the connection"):
                await pending  # the request in flight when it dropped fails
            await _wait_for(lambda: not first.connected, 10.0, "the drop to be noticed")
            second = await pool.get(host, port)
            assert second is not first
            body = await second.request(API_METADATA, _metadata_body([topic]))
            assert body["topics"][0]["error_code"] == 0
            assert proxy.accepted == 2
        finally:
            await pool.close()
            await proxy.close()

    run(main())


def test_pool_close_fails_later_gets(kafka_broker: BrokerHandle) -> None:
    host, port = _addr(kafka_broker)

    async def main() -> None:
        pool = ConnectionPool(ConnectionOptions())
        conn = await pool.get(host, port, node_id=1)
        assert conn.node_id == 1
        await pool.close()
        assert not conn.connected
        with pytest.raises(errors.ConnectionError, match="closed"):
            await pool.get(host, port)

    run(main())


def test_backoff_delays_are_capped_and_jittered() -> None:
    delays = [backoff_delay(n, 0.1, 2.0) for n in range(1, 12) for _ in range(20)]
    assert min(delays) >= 0.1 * 0.8
    assert max(delays) <= 2.0 * 1.2
    assert len(set(delays)) > 100  # jittered
    first = [backoff_delay(1, 0.1, 2.0) for _ in range(50)]
    assert max(first) <= 0.1 * 1.2
    assert all(backoff_delay(1, 0.1, 2.0, retriable=False) >= 2.0 for _ in range(50))


def test_version_choice_rules() -> None:
    from kaffe._net import versions

    # KIP-896: a broker with Produce v12+ is treated as Produce v3+ whatever it advertises.
    new = versions.broker_ranges(
        {"api_keys": [{"api_key": 0, "min_version": 0, "max_version": 13}]}
    )
    old = versions.broker_ranges(
        {"api_keys": [{"api_key": 0, "min_version": 0, "max_version": 11}]}
    )
    assert new == {0: (3, 13)}
    assert old == {0: (0, 11)}
    client = {0: (3, 13), 1: (4, 18), 3: (0, 13)}
    broker = {0: (0, 11), 1: (4, 17), 3: (0, 12), 99: (0, 1)}
    assert versions.negotiate(broker, client) == {0: 11, 1: 17, 3: 12}
    assert versions.negotiate(broker, client, {3: 9, 1: 99}) == {0: 11, 1: 17, 3: 9}
    assert versions.negotiate({0: (0, 2)}, client) == {}  # no common version: left out
    assert versions.software_version("1.2.3+local build") == "1.2.3-local-build"
    assert versions.api_versions_request(3, "0.1.0") == {
        "client_software_name": "kaffe",
        "client_software_version": "0.1.0",
    }
    assert versions.api_versions_request(2, "0.1.0") == {}


def test_pool_tries_again_after_a_retriable_failure(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main() -> None:
        pool = ConnectionPool(
            ConnectionOptions(
                connect_timeout=2.0, reconnect_backoff=0.01, reconnect_backoff_max=0.05
            )
        )
        try:
            for _ in range(3):
                with pytest.raises(errors.ConnectionError):
                    await pool.get("127.0.0.1", port)
        finally:
            await pool.close()

    with caplog.at_level(logging.WARNING, logger="kaffe.net"):
        run(main())
    attempts = [r for r in caplog.records if r.getMessage().startswith("connecting to broker")]
    assert len(attempts) == 3  # a refused connection is retriable: every get() tries again
