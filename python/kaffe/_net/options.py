"""Plain settings a broker connection needs; built by :mod:`kaffe.config`."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

SaslMechanism = Literal["plain", "scram_sha_256", "scram_sha_512"]
"""The SASL mechanisms kaffe speaks, in Kaffe's spelling."""

DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024
"""Largest response frame accepted (256 MiB); a bigger size prefix is a ``ProtocolError``."""


@dataclass(frozen=True)
class SaslOptions:
    """SASL credentials. ``repr()`` never shows the password."""

    mechanism: SaslMechanism
    login: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        """Mechanism and login only."""
        return f"SaslOptions(mechanism={self.mechanism!r}, login={self.login!r}, password=***)"


@dataclass(frozen=True)
class ConnectionOptions:
    """What every connection of a client is made with.

    Attributes:
        client_id: sent in every request header.
        ssl_context: ``None`` for plaintext; see :func:`kaffe._net.tls.build_ssl_context`.
        sasl: SASL credentials, or ``None``.
        connect_timeout: seconds for TCP connect + TLS handshake + ApiVersions + SASL.
        request_timeout: default deadline of one request, in seconds.
        reconnect_backoff: first delay before reconnecting to a broker that failed, in seconds.
        reconnect_backoff_max: cap of the (exponential, jittered) reconnect delay, in seconds.
            Authentication failures wait at least this long before the next attempt.
        cap_versions: negotiate only the APIs kaffe's clients send, each at most at its
            :data:`kaffe._net.versions.CLIENT_MAX_VERSION` (``ClientConfig.connection_options``
            sets it). Off, every version the codec knows is negotiated (protocol tests, tools).
        api_version_overrides: ``api_key -> highest version to use``; only for exotic brokers.
        max_frame_bytes: the largest response frame accepted.
    """

    client_id: str = "kaffe"
    ssl_context: ssl.SSLContext | None = None
    sasl: SaslOptions | None = None
    connect_timeout: float = 5.0
    request_timeout: float = 240.0
    reconnect_backoff: float = 0.1
    reconnect_backoff_max: float = 10.0
    cap_versions: bool = False
    api_version_overrides: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
