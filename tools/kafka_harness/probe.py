"""A tiny raw-wire Kafka probe for the harness's readiness checks and the integration tests.

This is TEST-SUPPORT code, deliberately small and independent of kaffe: it is *not* kaffe's
protocol layer (that lives in the Rust core) and must not grow into one.  It speaks exactly:

* ApiVersions v0 (api key 18): request header v1, response header v0;
* SaslHandshake v1 (17) + SaslAuthenticate v0 (36) for the PLAIN mechanism;

over a plain TCP socket or a TLS socket (:mod:`ssl`), with a deadline on every operation and a
hard cap on response sizes so a bad length field cannot make it allocate or wait forever.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

API_PRODUCE = 0
API_FETCH = 1
API_SASL_HANDSHAKE = 17
API_API_VERSIONS = 18
API_SASL_AUTHENTICATE = 36

MAX_RESPONSE_BYTES = 1 << 20
"""Largest response frame the probe accepts (ApiVersions responses are a few hundred bytes)."""
DEFAULT_TIMEOUT_S = 5.0
CLIENT_ID = "kaffe-harness-probe"


class ProbeError(Exception):
    """Malformed, truncated, oversized or mismatched response, or the peer closed early."""


# ------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ApiVersionRange:
    """One entry of an ApiVersions response."""

    api_key: int
    min_version: int
    max_version: int


@dataclass(frozen=True)
class ApiVersionsResult:
    """ApiVersions v0 response: top-level error code and supported ranges by api key."""

    error_code: int
    apis: dict[int, ApiVersionRange]


@dataclass(frozen=True)
class SaslHandshakeResult:
    """SaslHandshake v1 response."""

    error_code: int
    mechanisms: tuple[str, ...]


@dataclass(frozen=True)
class SaslAuthenticateResult:
    """SaslAuthenticate v0 response."""

    error_code: int
    error_message: str | None
    auth_bytes: bytes


# ------------------------------------------------------------------------- encoding


def _string(value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > 0x7FFF:
        raise ValueError("string too long for an INT16 length")
    return struct.pack(">h", len(raw)) + raw


def encode_request(
    api_key: int, api_version: int, correlation_id: int, body: bytes, client_id: str = CLIENT_ID
) -> bytes:
    """Frame a request: INT32 size, request header v1 (key, version, correlation, client id)."""
    header = struct.pack(">hhi", api_key, api_version, correlation_id) + _string(client_id)
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def encode_api_versions_v0(correlation_id: int, client_id: str = CLIENT_ID) -> bytes:
    """ApiVersions v0 request (empty body)."""
    return encode_request(API_API_VERSIONS, 0, correlation_id, b"", client_id)


def encode_sasl_handshake_v1(
    correlation_id: int, mechanism: str, client_id: str = CLIENT_ID
) -> bytes:
    """SaslHandshake v1 request: the mechanism name."""
    return encode_request(API_SASL_HANDSHAKE, 1, correlation_id, _string(mechanism), client_id)


def encode_sasl_authenticate_v0(
    correlation_id: int, auth_bytes: bytes, client_id: str = CLIENT_ID
) -> bytes:
    """SaslAuthenticate v0 request: INT32-length auth bytes."""
    body = struct.pack(">i", len(auth_bytes)) + auth_bytes
    return encode_request(API_SASL_AUTHENTICATE, 0, correlation_id, body, client_id)


def plain_token(username: str, password: str, authzid: str = "") -> bytes:
    """RFC 4616 PLAIN initial response: ``authzid NUL authcid NUL passwd``."""
    return b"\0".join(s.encode("utf-8") for s in (authzid, username, password))


# ------------------------------------------------------------------------- decoding


class _Reader:
    """Bounds-checked cursor over a response body."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProbeError(f"truncated response: need {n} bytes at offset {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int16(self) -> int:
        value: int = struct.unpack(">h", self._take(2))[0]
        return value

    def int32(self) -> int:
        value: int = struct.unpack(">i", self._take(4))[0]
        return value

    def nullable_string(self) -> str | None:
        n = self.int16()
        if n == -1:
            return None
        if n < 0:
            raise ProbeError(f"invalid string length {n}")
        return self._take(n).decode("utf-8", errors="replace")

    def string(self) -> str:
        value = self.nullable_string()
        if value is None:
            raise ProbeError("unexpected null string")
        return value

    def nullable_bytes(self) -> bytes | None:
        n = self.int32()
        if n == -1:
            return None
        if n < 0:
            raise ProbeError(f"invalid bytes length {n}")
        return self._take(n)

    def array_len(self, min_entry_size: int) -> int:
        n = self.int32()
        if n < 0:
            return 0  # null array
        if n * min_entry_size > len(self.data) - self.pos:
            raise ProbeError(f"array length {n} exceeds the remaining response")
        return n

    def done(self) -> None:
        if self.pos != len(self.data):
            raise ProbeError(f"{len(self.data) - self.pos} unexpected trailing bytes")


def _check_header(reader: _Reader, correlation_id: int) -> None:
    got = reader.int32()
    if got != correlation_id:
        raise ProbeError(f"correlation id mismatch: sent {correlation_id}, got {got}")


def parse_api_versions_v0(payload: bytes, correlation_id: int) -> ApiVersionsResult:
    """Parse an ApiVersions v0 response frame payload (without the size prefix)."""
    r = _Reader(payload)
    _check_header(r, correlation_id)
    error_code = r.int16()
    apis: dict[int, ApiVersionRange] = {}
    for _ in range(r.array_len(6)):
        key, lo, hi = r.int16(), r.int16(), r.int16()
        apis[key] = ApiVersionRange(key, lo, hi)
    r.done()
    return ApiVersionsResult(error_code, apis)


def parse_sasl_handshake_v1(payload: bytes, correlation_id: int) -> SaslHandshakeResult:
    """Parse a SaslHandshake v1 response payload."""
    r = _Reader(payload)
    _check_header(r, correlation_id)
    error_code = r.int16()
    mechanisms = tuple(r.string() for _ in range(r.array_len(2)))
    r.done()
    return SaslHandshakeResult(error_code, mechanisms)


def parse_sasl_authenticate_v0(payload: bytes, correlation_id: int) -> SaslAuthenticateResult:
    """Parse a SaslAuthenticate v0 response payload."""
    r = _Reader(payload)
    _check_header(r, correlation_id)
    error_code = r.int16()
    message = r.nullable_string()
    auth = r.nullable_bytes() or b""
    r.done()
    return SaslAuthenticateResult(error_code, message, auth)


# ------------------------------------------------------------------------- transport


def client_tls_context(
    ca_pem: str | None,
    cert_path: Path | None = None,
    key_path: Path | None = None,
) -> ssl.SSLContext:
    """TLS client context trusting ``ca_pem`` (hostname checked), optionally with a client cert."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_pem is not None:
        ctx.load_verify_locations(cadata=ca_pem)
    if cert_path is not None:
        ctx.load_cert_chain(str(cert_path), str(key_path) if key_path else None)
    return ctx


class KafkaProbe:
    """One connection to a broker listener; use as a context manager."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        server_hostname: str = "localhost",
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """Describe the connection; :meth:`connect` (or ``with``) opens it."""
        self.host = host
        self.port = port
        self.tls = tls
        self.server_hostname = server_hostname
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._next_id = 1

    def connect(self) -> KafkaProbe:
        """Open TCP (and complete the TLS handshake) within the timeout."""
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_hostname=self.server_hostname)
            except BaseException:
                sock.close()
                raise
        self._sock = sock
        return self

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> KafkaProbe:
        """Connect and return self."""
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the socket."""
        self.close()

    def _recv_exact(self, sock: socket.socket, n: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        remaining = n
        while remaining > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete response within {self.timeout} s")
            sock.settimeout(left)
            chunk = sock.recv(min(remaining, 65536))
            if not chunk:
                raise ProbeError("connection closed by the broker before a full response")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def roundtrip(self, frame: bytes) -> bytes:
        """Send one framed request and return the response payload (size prefix removed)."""
        sock = self._sock
        if sock is None:
            raise ProbeError("not connected")
        deadline = time.monotonic() + self.timeout
        sock.settimeout(self.timeout)
        sock.sendall(frame)
        (size,) = struct.unpack(">i", self._recv_exact(sock, 4, deadline))
        if size < 4 or size > MAX_RESPONSE_BYTES:
            raise ProbeError(f"response size {size} outside [4, {MAX_RESPONSE_BYTES}]")
        return self._recv_exact(sock, size, deadline)

    def _correlation_id(self) -> int:
        cid = self._next_id
        self._next_id += 1
        return cid

    def api_versions(self) -> ApiVersionsResult:
        """Send ApiVersions v0 and parse the answer."""
        cid = self._correlation_id()
        return parse_api_versions_v0(self.roundtrip(encode_api_versions_v0(cid)), cid)

    def sasl_handshake(self, mechanism: str) -> SaslHandshakeResult:
        """Send SaslHandshake v1 for ``mechanism``."""
        cid = self._correlation_id()
        frame = encode_sasl_handshake_v1(cid, mechanism)
        return parse_sasl_handshake_v1(self.roundtrip(frame), cid)

    def sasl_authenticate(self, auth_bytes: bytes) -> SaslAuthenticateResult:
        """Send SaslAuthenticate v0 carrying ``auth_bytes``."""
        cid = self._correlation_id()
        frame = encode_sasl_authenticate_v0(cid, auth_bytes)
        return parse_sasl_authenticate_v0(self.roundtrip(frame), cid)

    def sasl_plain(
        self, username: str, password: str
    ) -> tuple[SaslHandshakeResult, SaslAuthenticateResult | None]:
        """Handshake for PLAIN, then authenticate; the second item is None if the handshake
        itself failed."""
        handshake = self.sasl_handshake("PLAIN")
        if handshake.error_code != 0:
            return handshake, None
        return handshake, self.sasl_authenticate(plain_token(username, password))


def api_versions(
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> ApiVersionsResult:
    """Connect, send ApiVersions v0, return the parsed response, close."""
    with KafkaProbe(host, port, tls=tls, timeout=timeout) as probe:
        return probe.api_versions()
