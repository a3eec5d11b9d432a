"""The producer's configuration keys (Kaffe's names and defaults, brod's where Kaffe has none).

``ack_timeout`` is Kaffe's 1000 ms (brod's is 10000); ``partition_buffer_limit`` Kaffe's 512.
``partition_onwire_limit`` defaults to ``None``: 5 batches in flight per partition with
idempotence (which keeps them in order; Kaffe's default is 1, which makes every message produced
while a batch is on the wire wait a full round trip), 1 without.

Retries are bounded by time, not by a count: ``max_retries`` defaults to ``None`` (Kaffe's is
3), so a batch that fails retriably (a dropped connection, a broker that cannot be reached, a
request timeout, ``NOT_LEADER_OR_FOLLOWER``, ``NOT_ENOUGH_REPLICAS``... while the cluster
elects a new leader) is re-sent until its delivery deadline, ``delivery_timeout_ms`` (120000,
the Java client's default), as the Java client and librdkafka do. A count applies only where
set (``max_retries=3`` is Kaffe's behaviour: give up after 3 retries or at the deadline,
whichever comes first); ``-1`` is accepted as a synonym of ``None``. Between retries a batch
waits ``retry_backoff_ms`` (Kaffe's 500), doubled after each retry up to
``retry_backoff_max_ms`` (1000, the Java client's; never below ``retry_backoff_ms``), each wait
jittered by +-20 % (KIP-580, see :meth:`ProducerSettings.retry_backoff`).

Beyond Kaffe: ``enable_idempotence`` (``None`` = on when the broker supports it and
``required_acks`` is -1), ``transactional_id``, ``transaction_timeout_ms``,
``delivery_timeout_ms`` and ``retry_backoff_max_ms``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kaffe._util import backoff_delay
from kaffe.config import (
    CLIENT_KEYS,
    ClientConfig,
    ConfigKey,
    KeyTable,
    bad,
    boolean,
    number,
    one_of,
)

__all__ = ["DELIVERY_TIMEOUT_MS", "PRODUCER_KEYS", "ProducerSettings"]

DELIVERY_TIMEOUT_MS = 120_000
"""The default ``delivery_timeout_ms`` (the Java client's ``delivery.timeout.ms``)."""

PartitionStrategy = str | Callable[[str, int, bytes | None, bytes | None], int]

_STRATEGY_ALLOWED = (
    '"md5", "random", "murmur2" or a callable (topic, partitions_count, key, value) -> int'
)
_COMPRESSION = {
    "none": "none",
    "no_compression": "none",
    "gzip": "gzip",
    "snappy": "snappy",
    "lz4": "lz4",
    "zstd": "zstd",
}


def parse_strategy(key: str, value: Any) -> PartitionStrategy:
    """``partition_strategy``: one of the names or a callable."""
    if isinstance(value, str) and value in ("md5", "random", "murmur2"):
        return value
    if callable(value) and not isinstance(value, str | bytes | type):
        return value  # type: ignore[no-any-return]
    raise bad(key, value, _STRATEGY_ALLOWED)


def parse_compression(key: str, value: Any) -> str:
    """``compression``: a codec name. ``None`` (kafka-python's and aiokafka's spelling) and
    Kaffe's ``no_compression`` mean ``none``."""
    if value is None:
        return "none"
    if isinstance(value, str) and value.lower() in _COMPRESSION:
        return _COMPRESSION[value.lower()]
    raise bad(key, value, '"none" (or None, "no_compression"), "gzip", "snappy", "lz4" or "zstd"')


def parse_topics(key: str, value: Any) -> tuple[str, ...]:
    """``topics``: a list of topic names (the first is the default of ``produce_sync(k, v)``)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(t, str) and t for t in value):
        raise bad(key, value, "a list of non-empty topic names")
    return tuple(value)


def parse_optional_bool(key: str, value: Any) -> bool | None:
    """``None`` (automatic) or a bool."""
    return None if value is None else boolean(key, value)


def parse_optional_text(key: str, value: Any) -> str | None:
    """``None`` or a non-empty string."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise bad(key, value, "None or a non-empty string")
    return value


def parse_delivery_timeout(key: str, value: Any) -> int:
    """``delivery_timeout_ms``: milliseconds >= 1 (``None``: the default, 120000)."""
    if value is None:
        return DELIVERY_TIMEOUT_MS
    return int(number(1, integer=True, unit="milliseconds")(key, value))


def parse_retries(key: str, value: Any) -> int | None:
    """``max_retries``: ``None`` (no count: retry until the delivery deadline), an int >= 0, or
    -1 (the same as ``None``)."""
    if value is None or (type(value) is int and value == -1):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad(
            key, value, "None (retry until the delivery deadline; -1 means the same) or an int >= 0"
        )
    return value


def parse_onwire(key: str, value: Any) -> int | None:
    """``partition_onwire_limit``: ``None`` (automatic) or an int >= 1."""
    if value is None:
        return None
    return int(number(1, integer=True)(key, value))


def _any(key: str, value: Any) -> Any:
    return value


PRODUCER_KEYS: KeyTable = CLIENT_KEYS.extend(
    ConfigKey("topics", (), parse_topics, "a list of topic names"),
    ConfigKey("partition_strategy", "md5", parse_strategy, _STRATEGY_ALLOWED),
    ConfigKey("client_name", "kaffe_producer_client", _any, "any name (kept for Kaffe configs)"),
    ConfigKey("auto_start_producers", True, boolean, "True or False (kept for Kaffe configs)"),
    ConfigKey("required_acks", -1, one_of(-1, 0, 1), "-1 (all in-sync replicas), 0 or 1"),
    ConfigKey("ack_timeout", 1000, number(1, integer=True, unit="milliseconds"), "ms >= 1"),
    ConfigKey("partition_buffer_limit", 512, number(1, integer=True), "an int >= 1"),
    ConfigKey(
        "partition_onwire_limit",
        None,
        parse_onwire,
        "None (5 with idempotence, else 1) or an int >= 1",
    ),
    ConfigKey("max_batch_size", 1_048_576, number(1024, integer=True), "bytes >= 1024"),
    ConfigKey("max_retries", None, parse_retries, "None (until the deadline) or an int >= 0"),
    ConfigKey("retry_backoff_ms", 500, number(0, integer=True, unit="milliseconds"), "ms >= 0"),
    ConfigKey(
        "retry_backoff_max_ms", 1000, number(0, integer=True, unit="milliseconds"), "ms >= 0"
    ),
    ConfigKey("compression", "none", parse_compression, "a codec name or None"),
    ConfigKey("min_compression_batch_size", 1024, number(0, integer=True), "bytes >= 0"),
    ConfigKey("max_linger_ms", 0, number(0, integer=True, unit="milliseconds"), "ms >= 0"),
    ConfigKey("max_linger_count", 0, number(0, integer=True), "an int >= 0"),
    ConfigKey("enable_idempotence", None, parse_optional_bool, "None (auto), True or False"),
    ConfigKey("transactional_id", None, parse_optional_text, "None or a non-empty string"),
    ConfigKey(
        "transaction_timeout_ms", 60000, number(1, integer=True, unit="milliseconds"), "ms >= 1"
    ),
    ConfigKey("delivery_timeout_ms", DELIVERY_TIMEOUT_MS, parse_delivery_timeout, "ms >= 1"),
)
"""Every key a producer accepts: :data:`kaffe.config.CLIENT_KEYS` plus the producer's own."""


@dataclass(frozen=True)
class ProducerSettings:
    """The validated producer configuration."""

    client: ClientConfig
    topics: tuple[str, ...]
    partition_strategy: PartitionStrategy
    required_acks: int
    ack_timeout_ms: int
    partition_buffer_limit: int
    partition_onwire_limit: int | None
    max_batch_size: int
    max_retries: int | None
    retry_backoff_ms: int
    retry_backoff_max_ms: int
    compression: str
    min_compression_batch_size: int
    max_linger_ms: int
    max_linger_count: int
    enable_idempotence: bool | None
    transactional_id: str | None
    transaction_timeout_ms: int
    delivery_timeout: float

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
    ) -> ProducerSettings:
        """Validate ``values`` (keyword arguments or a mapping) with :data:`PRODUCER_KEYS`."""
        parsed = PRODUCER_KEYS.parse(values, component="Producer")
        client = ClientConfig.from_parsed(parsed, environ=environ)
        txn = parsed["transactional_id"]
        idem = parsed["enable_idempotence"]
        if txn is not None:
            if idem is False:
                raise bad(
                    "enable_idempotence",
                    idem,
                    "True or None when 'transactional_id' is set",
                    why="transactions need idempotence",
                )
            if parsed["required_acks"] != -1:
                raise bad(
                    "required_acks",
                    parsed["required_acks"],
                    "-1 when 'transactional_id' is set",
                    why="transactions need acks from all in-sync replicas",
                )
            idem = True
        if idem is True and parsed["required_acks"] != -1:
            raise bad(
                "required_acks",
                parsed["required_acks"],
                "-1 when enable_idempotence=True",
                why="idempotence needs acks from all in-sync replicas",
            )
        return cls(
            client=client,
            topics=tuple(client.apply_prefix(t) for t in parsed["topics"]),
            partition_strategy=parsed["partition_strategy"],
            required_acks=parsed["required_acks"],
            ack_timeout_ms=parsed["ack_timeout"],
            partition_buffer_limit=parsed["partition_buffer_limit"],
            partition_onwire_limit=parsed["partition_onwire_limit"],
            max_batch_size=parsed["max_batch_size"],
            max_retries=parsed["max_retries"],
            retry_backoff_ms=parsed["retry_backoff_ms"],
            retry_backoff_max_ms=parsed["retry_backoff_max_ms"],
            compression=parsed["compression"],
            min_compression_batch_size=parsed["min_compression_batch_size"],
            max_linger_ms=parsed["max_linger_ms"],
            max_linger_count=parsed["max_linger_count"],
            enable_idempotence=idem,
            transactional_id=txn,
            transaction_timeout_ms=parsed["transaction_timeout_ms"],
            delivery_timeout=parsed["delivery_timeout_ms"] / 1000.0,
        )

    def retry_backoff(self, retries: int) -> float:
        """Seconds a batch waits before it is re-sent after its ``retries``-th failure (>= 1).

        ``retry_backoff_ms`` doubled after each retry, capped at ``retry_backoff_max_ms`` (or
        ``retry_backoff_ms`` if that is larger), jittered by +-20 % so that producers do not
        retry in step (KIP-580, as the Java client's ``retry.backoff.ms`` /
        ``retry.backoff.max.ms``): between 0.8 and 1.2 times
        ``min(cap, retry_backoff_ms * 2 ** (retries - 1))``.
        """
        base = self.retry_backoff_ms / 1000.0
        return backoff_delay(retries, base, max(base, self.retry_backoff_max_ms / 1000.0))
