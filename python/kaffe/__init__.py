"""kaffe: a Kafka client for Python with a Rust core.

The record-batch codec, CRCs, compression and partitioners live in the native module
:mod:`kaffe._core`; this package holds the Python API on top of it.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from kaffe.errors import (
    AuthenticationError,
    ConfigError,
    ConnectionError,
    CorruptRecordError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    ProtocolError,
    UnsupportedCompressionTypeError,
)

try:
    __version__: str = _metadata.version("kaffe")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConnectionError",
    "CorruptRecordError",
    "KafkaConnectionError",
    "KafkaError",
    "KafkaTimeoutError",
    "ProtocolError",
    "UnsupportedCompressionTypeError",
    "__version__",
]
