"""One asyncio connection to one broker: framing, pipelining, ApiVersions, TLS, SASL.

A :class:`BrokerConnection` sends requests as soon as they are made (pipelining); a reader task
reads response frames and hands each to the request with the matching correlation id. Kafka
answers in order, so a response must match the *oldest* request in flight; anything else, or a
frame that does not decode, is a :class:`kaffe.ProtocolError` and closes the connection (every
request still in flight fails with it). Every request has a deadline; a request that misses it
raises :class:`kaffe.KafkaTimeoutError` and closes the connection too (its response could still
arrive and would be taken for the next one's).

:meth:`BrokerConnection.connect` runs, within ``connect_timeout``: TCP connect, the TLS handshake,
ApiVersions (version negotiation, :mod:`kaffe._net.versions`) and SASL (:mod:`kaffe._net.sasl`).
If the broker grants a SASL session lifetime (KIP-368), the connection re-authenticates by itself
at 85-95 % of it: new requests wait, in-flight ones finish, the SASL exchange runs again.

A connection that the broker closes (``connections.max.idle.ms``, a restart) notices at once:
requests in flight fail with :class:`kaffe.ConnectionError` and :attr:`BrokerConnection.connected`
turns false, so :class:`kaffe._net.pool.ConnectionPool` makes a new one on next use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kaffe._core import decode_response, encode_request
from kaffe._net import framing, sasl, tls, versions
from kaffe._protocol import ApiKey, ErrorCode
from kaffe._version import __version__
from kaffe.config import ConnectionOptions
from kaffe.errors import (
    AuthenticationError,
    ConnectionError,
    KafkaError,
    KafkaTimeoutError,
    ProtocolError,
    TLSError,
    UnsupportedVersionError,
    for_code,
)

log = logging.getLogger("kaffe.net")

_MAX_CORRELATION_ID = 2**31 - 1
_PEER_GONE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
"""Builtin exceptions for a peer that reset or closed the socket."""
_CLOSE_WAIT = 1.0
"""Seconds an orderly close waits for the transport to finish closing."""
_WRITE_BUFFER_FAST = 1 << 20
"""Bytes of unsent data above which :meth:`BrokerConnection.request_nowait` declines (the
caller then awaits the socket draining through :meth:`BrokerConnection.request`)."""


@dataclass
class _InFlight:
    future: asyncio.Future[bytes]
    api_key: int
    version: int
    callback: Callable[[dict[str, Any] | KafkaError], None] | None = None
    timer: asyncio.TimerHandle | None = None


class BrokerConnection:
    """One TCP/TLS connection to one broker; pipelined requests; ApiVersions (+SASL) on connect.

    Attributes:
        host: the broker's host name or address.
        port: the broker's port.
        node_id: the broker's node id, if known (bootstrap connections have none).
        session_lifetime_ms: the SASL session lifetime the broker granted (``0``: unlimited).
        reauthentications: how many times this connection re-authenticated (KIP-368).
    """

    def __init__(
        self, host: str, port: int, options: ConnectionOptions, *, node_id: int | None = None
    ) -> None:
        """Describe the connection; nothing happens until :meth:`connect`."""
        self.host = host
        self.port = port
        self.node_id = node_id
        self.options = options
        self.session_lifetime_ms = 0
        self.reauthentications = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self._reauth_task: asyncio.Task[None] | None = None
        self._in_flight: OrderedDict[int, _InFlight] = OrderedDict()
        self._write_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._sends_open = asyncio.Event()
        self._sends_open.set()
        self._drained = asyncio.Event()
        self._drained.set()
        self._next_id = 0
        self._state = "new"  # new -> connecting -> ready -> closed (connect() may start over)
        self._closed_error: KafkaError | None = None
        self._received_any = False
        self._phase = "not started"
        self._broker_ranges: dict[int, tuple[int, int]] = {}
        self._versions: dict[int, int] = {}

    def __repr__(self) -> str:
        """Address, node id and state."""
        return (
            f"BrokerConnection({self.host}:{self.port}, node_id={self.node_id}, "
            f"state={self._state})"
        )

    @property
    def _where(self) -> str:
        node = f" (node {self.node_id})" if self.node_id is not None else ""
        return f"{self.host}:{self.port}{node}"

    # ------------------------------------------------------------------ state

    @property
    def connected(self) -> bool:
        """Whether the connection is up, negotiated and (if configured) authenticated."""
        writer = self._writer
        return self._state == "ready" and writer is not None and not writer.transport.is_closing()

    @property
    def in_flight(self) -> int:
        """How many requests are waiting for their response."""
        return len(self._in_flight)

    def api_versions(self) -> dict[int, tuple[int, int]]:
        """The broker's ``api_key -> (min, max)`` as ApiVersions reported them."""
        return dict(self._broker_ranges)

    def api_version(self, api_key: int) -> int:
        """The version of ``api_key`` this connection uses (the highest both sides support; with
        ``options.cap_versions``, at most :data:`kaffe._net.versions.CLIENT_MAX_VERSION`'s).

        Raises:
            kaffe.UnsupportedVersionError: the broker and kaffe share no version of the API.
            kaffe.ConnectionError: the connection was never set up.
        """
        if not self._broker_ranges:
            raise ConnectionError(f"connection to broker {self._where} is not set up")
        version = self._versions.get(api_key)
        if version is None:
            theirs = self._broker_ranges.get(api_key)
            mine = versions.client_ranges(self.options.cap_versions).get(api_key)
            raise UnsupportedVersionError(
                f"broker {self._where} and kaffe share no version of "
                f"{versions.api_name(api_key)} (broker: {_fmt_range(theirs)}, "
                f"kaffe: {_fmt_range(mine)})"
            )
        return version

    # ------------------------------------------------------------------ connect

    async def connect(self) -> None:
        """Connect, negotiate versions and authenticate, all within ``connect_timeout``.

        Idempotent: returns at once when already connected.

        Raises:
            kaffe.ConnectionError: the broker cannot be reached or dropped the connection.
            kaffe.TLSError: the TLS handshake failed (the subclass and message say which side
                refused which certificate).
            kaffe.AuthenticationError: SASL failed (:class:`kaffe.SaslAuthenticationFailedError`
                carries the broker's message).
            kaffe.KafkaTimeoutError: it all took longer than ``connect_timeout``.
            kaffe.ProtocolError: the broker's answers are not Kafka protocol.
        """
        if self.connected:
            return
        async with self._connect_lock:
            if self.connected:
                return
            self._reset()
            self._state = "connecting"
            timeout = self.options.connect_timeout
            try:
                await asyncio.wait_for(self._set_up(), timeout)
            except KafkaError as exc:
                self._fail(exc)
                log.warning("connecting to broker %s failed: %s", self._where, exc)
                raise
            except asyncio.TimeoutError:
                err = KafkaTimeoutError(
                    f"connecting to broker {self._where} took longer than connect_timeout "
                    f"({timeout:g} s) during {self._phase}"
                )
                self._fail(err)
                log.warning("%s", err)
                raise err from None
            except BaseException as exc:
                self._fail(ConnectionError(f"connecting to broker {self._where} was interrupted"))
                if isinstance(exc, Exception):
                    raise ConnectionError(
                        f"connecting to broker {self._where} failed: {exc!r}"
                    ) from exc
                raise
            self._state = "ready"
            log.info(
                "connected to broker %s (%s%s)",
                self._where,
                "TLS" if self.options.ssl_context is not None else "plaintext",
                f", SASL {self.options.sasl.mechanism} as {self.options.sasl.login!r}"
                if self.options.sasl is not None
                else "",
            )

    async def _set_up(self) -> None:
        await self._open()
        await self._negotiate()
        if self.options.sasl is not None:
            await self._authenticate()

    def _reset(self) -> None:
        self._reader = None
        self._writer = None
        self._read_task = None
        self._reauth_task = None
        self._in_flight.clear()
        self._drained.set()
        self._sends_open.set()
        self._closed_error = None
        self._received_any = False
        self._broker_ranges = {}
        self._versions = {}
        self.session_lifetime_ms = 0

    async def _open(self) -> None:
        ctx = self.options.ssl_context
        self._phase = "TCP connect" if ctx is None else "TCP connect and TLS handshake"
        try:
            if ctx is None:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            else:
                reader, writer = await asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=ctx,
                    server_hostname=self.host,
                    ssl_handshake_timeout=self.options.connect_timeout,
                )
        except ssl.SSLError as exc:
            tls_error = tls.classify_handshake_error(exc, self.host, self.port, ctx)
            raise (tls_error or TLSError(f"TLS with broker {self._where} failed: {exc}")) from exc
        except OSError as exc:
            if ctx is not None and isinstance(exc, _PEER_GONE):
                # Closed before the handshake finished, without a TLS alert: not a TLS peer.
                raise TLSError(
                    f"broker {self._where} closed the connection during the TLS handshake "
                    "(is this a plaintext listener? then leave ssl off)"
                ) from exc
            raise ConnectionError(
                f"cannot connect to broker {self._where}: {exc.strerror or exc}"
            ) from exc
        self._reader = reader
        self._writer = writer
        self._read_task = asyncio.create_task(
            self._read_loop(reader), name=f"kaffe-net-reader {self.host}:{self.port}"
        )

    async def _negotiate(self) -> None:
        self._phase = "ApiVersions"
        mine = versions.client_ranges(self.options.cap_versions)
        version = mine[ApiKey.API_VERSIONS][1]
        for _attempt in range(3):
            body = versions.api_versions_request(version, __version__)
            payload = await self._roundtrip(ApiKey.API_VERSIONS, version, body, gate=False)
            code = versions.peek_error_code(payload)
            if code == ErrorCode.UNSUPPORTED_VERSION:
                # The broker answers in v0 with its own ranges; retry with its highest.
                _cid, v0 = self._decode(ApiKey.API_VERSIONS, 0, payload)
                theirs = versions.broker_ranges(v0).get(ApiKey.API_VERSIONS)
                lower = min(theirs[1], mine[ApiKey.API_VERSIONS][1]) if theirs else 0
                if lower < 0:
                    break
                log.debug(
                    "broker %s: ApiVersions v%d unsupported, retrying with v%d",
                    self._where,
                    version,
                    lower,
                )
                version = lower
                continue
            _cid, decoded = self._decode(ApiKey.API_VERSIONS, version, payload)
            if code != 0:
                raise for_code(code, f"ApiVersions v{version} to broker {self._where}")
            self._broker_ranges = versions.broker_ranges(decoded)
            self._versions = versions.negotiate(
                self._broker_ranges, mine, self.options.api_version_overrides
            )
            log.debug("broker %s: negotiated versions %s", self._where, self._versions)
            return
        raise ProtocolError(f"broker {self._where} accepts no ApiVersions version kaffe can send")

    async def _authenticate(self) -> None:
        options = self.options.sasl
        assert options is not None
        self._phase = "SASL authentication"
        for api_key in (ApiKey.SASL_HANDSHAKE, ApiKey.SASL_AUTHENTICATE):
            if api_key not in self._versions:
                raise AuthenticationError(
                    f"broker {self._where} does not support {versions.api_name(api_key)}"
                )
        if self._versions[ApiKey.SASL_HANDSHAKE] < 1:
            raise AuthenticationError(
                f"broker {self._where} supports only SaslHandshake v0 (Kafka < 1.0)"
            )

        async def send(api_key: int, body: dict[str, Any]) -> dict[str, Any]:
            version = 1 if api_key == ApiKey.SASL_HANDSHAKE else self._versions[api_key]
            payload = await self._roundtrip(api_key, version, body, gate=False)
            return self._decode(api_key, version, payload)[1]

        lifetime = await sasl.authenticate(send, options)
        self.session_lifetime_ms = lifetime
        if lifetime > 0:
            delay = lifetime / 1000.0 * random.uniform(0.85, 0.95)
            self._reauth_task = asyncio.create_task(
                self._reauthenticate_after(delay),
                name=f"kaffe-net-reauth {self.host}:{self.port}",
            )
            log.debug(
                "broker %s: SASL session lifetime %d ms, re-authenticating in %.1f s",
                self._where,
                lifetime,
                delay,
            )

    async def _reauthenticate_after(self, delay: float) -> None:
        """KIP-368: pause new requests, let in-flight ones finish, authenticate again."""
        await asyncio.sleep(delay)
        if self._state != "ready":
            return
        self._sends_open.clear()
        try:
            await asyncio.wait_for(
                self._drain_and_authenticate(),
                self.options.connect_timeout + self.options.request_timeout,
            )
            self.reauthentications += 1
            log.info("re-authenticated with broker %s", self._where)
        except asyncio.CancelledError:
            raise
        except KafkaError as exc:
            log.warning("re-authentication with broker %s failed: %s", self._where, exc)
            self._fail(exc)
        except asyncio.TimeoutError:
            self._fail(KafkaTimeoutError(f"re-authentication with broker {self._where} timed out"))
        finally:
            self._sends_open.set()

    async def _drain_and_authenticate(self) -> None:
        await self._drained.wait()
        await self._authenticate()

    # ------------------------------------------------------------------ requests

    async def request(
        self,
        api_key: int,
        body: dict[str, Any],
        *,
        version: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one request and return the decoded response body.

        Args:
            api_key: the API (``0`` Produce, ``3`` Metadata, ...).
            body: the request body as the codec takes it (snake_case spec field names).
            version: the version to use; default the negotiated one.
            timeout: seconds until :class:`kaffe.KafkaTimeoutError`; default
                ``request_timeout``.

        Produce with ``acks=0`` gets no response: ``{}`` is returned once the request is written.
        Error codes inside the body are not raised; the caller inspects them.

        Raises:
            kaffe.KafkaTimeoutError: no response within the deadline (the connection is closed).
            kaffe.ConnectionError: not connected, or the connection dropped.
            kaffe.ProtocolError: the response (or any frame) is not Kafka protocol.
            kaffe.UnsupportedVersionError: no common version of the API.
        """
        if not self.connected:
            raise self._closed_error_or_new()
        use = self.api_version(api_key) if version is None else version
        limit = self.options.request_timeout if timeout is None else timeout
        sent: list[bool] = []
        try:
            payload = await asyncio.wait_for(
                self._roundtrip(api_key, use, body, gate=True, sent=sent), limit
            )
        except KafkaError:
            raise
        except asyncio.TimeoutError:
            err = KafkaTimeoutError(
                f"{versions.api_name(api_key)} v{use} request to broker {self._where} got no "
                f"response within {limit:g} s"
            )
            if sent:
                self._fail(
                    ConnectionError(
                        f"connection to broker {self._where} closed after a "
                        f"{versions.api_name(api_key)} request timed out"
                    )
                )
            raise err from None
        if not payload:
            return {}
        return self._decode(api_key, use, payload)[1]

    def request_nowait(
        self,
        api_key: int,
        body: dict[str, Any],
        callback: Callable[[dict[str, Any] | KafkaError], None],
        *,
        version: int,
        timeout: float,
    ) -> bool:
        """Write one request now, without a task or an await, and call ``callback`` (on the
        loop) with the decoded response body or the :class:`kaffe.KafkaError` that ended it
        (timeout, lost connection, undecodable response), exactly once.

        Returns ``False`` (nothing written, ``callback`` never called) when the request cannot
        be written at once: the connection is not ready, re-authenticating, another writer is
        waiting for the socket to drain, or its write buffer is full; then use
        :meth:`request`. The hot paths (Produce) use this: it saves the event-loop turns a
        task and ``wait_for`` cost per request.
        """
        writer = self._writer
        if (
            self._state != "ready"
            or writer is None
            or writer.transport.is_closing()
            or not self._sends_open.is_set()
            or self._write_lock.locked()
            or writer.transport.get_write_buffer_size() > _WRITE_BUFFER_FAST
        ):
            return False
        expect_response = not (api_key == ApiKey.PRODUCE and body.get("acks") == 0)
        loop = asyncio.get_running_loop()
        cid = self._next_correlation_id()
        data = encode_request(api_key, version, cid, self.options.client_id, body)
        if expect_response:
            entry = _InFlight(loop.create_future(), api_key, version, callback)
            entry.timer = loop.call_later(timeout, self._expire, cid, timeout)
            self._in_flight[cid] = entry
            self._drained.clear()
        writer.write(framing.frame(data))
        if not expect_response:
            loop.call_soon(callback, {})
        return True

    def _deliver(self, entry: _InFlight, outcome: bytes | KafkaError) -> None:
        """Hand a callback request its decoded response or its error (never raises)."""
        if entry.timer is not None:
            entry.timer.cancel()
        callback = entry.callback
        assert callback is not None
        entry.callback = None  # exactly once
        result: dict[str, Any] | KafkaError
        if isinstance(outcome, KafkaError):
            result = outcome
        else:
            try:
                result = self._decode(entry.api_key, entry.version, outcome)[1]
            except KafkaError as exc:
                result = exc
        try:
            callback(result)
        except Exception:  # pragma: no cover - a bug in the callback: logged, not fatal
            log.exception("response callback for broker %s failed", self._where)

    def _expire(self, cid: int, timeout: float) -> None:
        """A callback request got no response in time: it fails, and so does the connection
        (the broker may still answer it, and responses must match requests in order)."""
        entry = self._in_flight.get(cid)
        if entry is None or entry.callback is None:
            return
        del self._in_flight[cid]
        self._deliver(
            entry,
            KafkaTimeoutError(
                f"{versions.api_name(entry.api_key)} v{entry.version} request to broker "
                f"{self._where} got no response within {timeout:g} s"
            ),
        )
        self._fail(
            ConnectionError(
                f"connection to broker {self._where} closed after a "
                f"{versions.api_name(entry.api_key)} request timed out"
            )
        )

    def _closed_error_or_new(self) -> KafkaError:
        if self._closed_error is not None:
            return ConnectionError(f"not connected to broker {self._where}: {self._closed_error}")
        return ConnectionError(f"not connected to broker {self._where}")

    def _next_correlation_id(self) -> int:
        cid = self._next_id
        self._next_id = 0 if cid >= _MAX_CORRELATION_ID else cid + 1
        return cid

    async def _roundtrip(
        self,
        api_key: int,
        version: int,
        body: dict[str, Any],
        *,
        gate: bool,
        sent: list[bool] | None = None,
    ) -> bytes:
        """Write one request and wait for its raw response payload (``b""`` for acks=0)."""
        expect_response = not (api_key == ApiKey.PRODUCE and body.get("acks") == 0)
        loop = asyncio.get_running_loop()
        while True:
            if gate:
                await self._sends_open.wait()
            async with self._write_lock:
                if gate and not self._sends_open.is_set():
                    continue  # re-authentication started while we waited for the lock
                writer = self._writer
                if self._state not in ("connecting", "ready") or writer is None:
                    raise self._closed_error_or_new()
                cid = self._next_correlation_id()
                data = encode_request(api_key, version, cid, self.options.client_id, body)
                future: asyncio.Future[bytes] = loop.create_future()
                if expect_response:
                    self._in_flight[cid] = _InFlight(future, api_key, version)
                    self._drained.clear()
                if sent is not None:
                    sent.append(True)
                writer.write(framing.frame(data))
                try:
                    await writer.drain()
                except (OSError, RuntimeError) as exc:
                    err = ConnectionError(f"writing to broker {self._where} failed: {exc}")
                    self._fail(err)
                    raise err from exc
                break
        if not expect_response:
            return b""
        return await future

    def _decode(self, api_key: int, version: int, payload: bytes) -> tuple[int, dict[str, Any]]:
        try:
            cid, body = decode_response(api_key, version, payload)
        except (ProtocolError, ValueError) as exc:
            err = ProtocolError(
                f"undecodable {versions.api_name(api_key)} v{version} response from broker "
                f"{self._where}: {exc}"
            )
            self._fail(err)
            raise err from exc
        return cid, body

    # ------------------------------------------------------------------ reading

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                payload = await framing.read_frame(reader, self.options.max_frame_bytes)
                if payload is None:
                    self._fail(self._dropped(None))
                    return
                self._received_any = True
                cid = framing.correlation_id(payload)
                if not self._in_flight:
                    raise ProtocolError(
                        f"broker {self._where} sent a response (correlation id {cid}) while no "
                        "request was in flight"
                    )
                oldest = next(iter(self._in_flight))
                if cid != oldest:
                    known = "another in-flight request's" if cid in self._in_flight else "unknown"
                    raise ProtocolError(
                        f"broker {self._where} sent a response with {known} correlation id "
                        f"{cid}; expected {oldest}"
                    )
                entry = self._in_flight.pop(oldest)
                if not self._in_flight:
                    self._drained.set()
                if entry.callback is not None:
                    self._deliver(entry, payload)
                elif not entry.future.done():
                    entry.future.set_result(payload)
        except asyncio.CancelledError:
            raise
        except ProtocolError as exc:
            log.warning("closing connection to broker %s: %s", self._where, exc)
            self._fail(exc)
        except (OSError, EOFError, ssl.SSLError) as exc:  # IncompleteReadError is an EOFError
            self._fail(self._dropped(exc))

    def _dropped(self, exc: BaseException | None) -> KafkaError:
        """The error for a connection that ended under us (``exc``: what reading raised)."""
        ctx = self.options.ssl_context
        # TLS 1.3: the broker checks the client certificate after the client finished the
        # handshake, so its refusal arrives as an alert (or EOF) on the first read.
        if (
            ctx is not None
            and not self._received_any
            and self._state == "connecting"
            and (exc is None or tls.is_tls_alert(exc) or isinstance(exc, _PEER_GONE))
        ):
            detail = getattr(exc, "reason", None) if exc is not None else None
            return tls.client_certificate_rejected(
                self.host, self.port, ctx, detail=detail if isinstance(detail, str) else None
            )
        if exc is None or isinstance(exc, asyncio.IncompleteReadError):
            why = "the broker closed the connection"
            if self._state == "connecting" and not self._received_any:
                why += " before answering ApiVersions"
                # The hint only when the few bytes that did arrive start like a TLS record (a
                # TLS listener's alert cut short); a bare hang-up says nothing about TLS.
                partial = exc.partial if isinstance(exc, asyncio.IncompleteReadError) else b""
                if ctx is None and framing.looks_like_tls(partial):
                    why += framing.TLS_HINT
        else:
            why = f"the connection failed: {exc}"
        pending = len(self._in_flight)
        log.info(
            "connection to broker %s lost: %s (%d request(s) in flight)", self._where, why, pending
        )
        return ConnectionError(f"broker {self._where}: {why}")

    # ------------------------------------------------------------------ closing

    def _fail(self, err: KafkaError, *, orderly: bool = False) -> None:
        """Close now: every request in flight fails with ``err``; idempotent."""
        if self._state == "closed":
            return
        self._state = "closed"
        self._closed_error = err
        in_flight = list(self._in_flight.values())
        self._in_flight.clear()
        self._drained.set()
        self._sends_open.set()
        for entry in in_flight:
            if entry.callback is not None:
                self._deliver(entry, err)
            elif not entry.future.done():
                entry.future.set_exception(err)
                entry.future.exception()  # retrieved: no "never retrieved" warning if abandoned
        writer = self._writer
        if writer is not None:
            if orderly:
                writer.close()
            else:
                writer.transport.abort()
        current = asyncio.current_task()
        for task in (self._read_task, self._reauth_task):
            if task is not None and task is not current and not task.done():
                task.cancel()

    async def close(self) -> None:
        """Close the connection; requests in flight fail with ``ConnectionError``."""
        writer = self._writer
        tasks = [t for t in (self._read_task, self._reauth_task) if t is not None]
        self._fail(
            ConnectionError(f"connection to broker {self._where} closed by the client"),
            orderly=True,
        )
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, _CLOSE_WAIT)
        if writer is not None:
            try:
                await asyncio.wait_for(writer.wait_closed(), _CLOSE_WAIT)
            except (asyncio.TimeoutError, OSError, ssl.SSLError):
                writer.transport.abort()
        log.debug("closed connection to broker %s", self._where)


def _fmt_range(r: tuple[int, int] | None) -> str:
    return "none" if r is None else f"v{r[0]}-v{r[1]}"


__all__ = ["BrokerConnection"]
