"""Generate kaffe's Kafka protocol schema tables from Kafka's own message specs.

Kafka ships every request, response and header definition as JSON (with ``//`` comments) inside
``kafka-clients.jar`` under ``common/message/``. This package reads those files straight out of the
pinned jar (fetched through Maven), keeps only the facts a codec needs (names, types, versions,
nullability, tags, defaults; no prose) and writes them as Rust ``static`` tables into
``rust/kaffe-core/src/protocol/generated/``. It also runs ``java/KafkaErrorCodes.java`` against
the same jar for Kafka's error-code table (code, name, retriable, default message). From both it
writes the Python protocol facts into ``python/kaffe/_protocol/``: the ``ApiKey`` and
``ErrorCode`` enums and one exception class per error code (re-exported by ``kaffe.errors``).

Usage (from the repository root)::

    PYTHONPATH=tools python -m codegen            # regenerate the committed tables
    PYTHONPATH=tools python -m codegen --check    # exit 1 if the committed output drifted
"""

from __future__ import annotations

KAFKA_VERSION = "4.1.2"
"""The Kafka release whose ``kafka-clients`` jar the tables come from."""

KAFKA_CLIENTS_SHA256 = "afe861c05067f4018a3148d73c1ed1e5fc90808757c15b043527d7e535a5d431"
"""SHA-256 of ``kafka-clients-4.1.2.jar`` as published on Maven Central (pins the input)."""

SLF4J_API_VERSION = "1.7.36"
"""The ``slf4j-api`` that ``kafka-clients`` 4.1.2 declares (its ``Errors`` class needs it)."""

__all__ = ["KAFKA_CLIENTS_SHA256", "KAFKA_VERSION", "SLF4J_API_VERSION"]
