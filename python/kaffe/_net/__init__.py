"""kaffe's connection layer: framing, version negotiation, TLS, SASL, pooled connections.

Modules, one job each:

* :mod:`~kaffe._net.options`: :class:`ConnectionOptions`, :class:`SaslOptions`
* :mod:`~kaffe._net.framing`: size-prefixed frames
* :mod:`~kaffe._net.versions`: ApiVersions and per-API version choice
* :mod:`~kaffe._net.tls`: ``build_ssl_context`` and TLS failure messages
* :mod:`~kaffe._net.scram`, :mod:`~kaffe._net.sasl`: SASL PLAIN and SCRAM
* :mod:`~kaffe._net.connection`: :class:`BrokerConnection`
* :mod:`~kaffe._net.pool`: :class:`ConnectionPool` (also importable from ``connection``)
"""

from __future__ import annotations

from kaffe._net.connection import BrokerConnection
from kaffe._net.options import ConnectionOptions, SaslOptions
from kaffe._net.pool import ConnectionPool
from kaffe._net.tls import build_ssl_context

__all__ = [
    "BrokerConnection",
    "ConnectionOptions",
    "ConnectionPool",
    "SaslOptions",
    "build_ssl_context",
]
