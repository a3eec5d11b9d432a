"""kaffe's connection layer: framing, version negotiation, TLS, SASL, pooled connections.

Modules, one job each:

* :mod:`~kaffe._net.framing`: size-prefixed frames
* :mod:`~kaffe._net.versions`: ApiVersions and per-API version choice
* :mod:`~kaffe._net.tls`: TLS handshake failures as kaffe errors
* :mod:`~kaffe._net.scram`, :mod:`~kaffe._net.sasl`: SASL PLAIN and SCRAM
* :mod:`~kaffe._net.connection`: :class:`BrokerConnection`
* :mod:`~kaffe._net.pool`: :class:`ConnectionPool`

The settings connections are made with (:class:`kaffe.config.ConnectionOptions`,
:class:`kaffe.config.SaslSettings`, :func:`kaffe.config.build_ssl_context`) live in
:mod:`kaffe.config`, below this layer.
"""

from __future__ import annotations

from kaffe._net.connection import BrokerConnection
from kaffe._net.pool import ConnectionPool

__all__ = ["BrokerConnection", "ConnectionPool"]
