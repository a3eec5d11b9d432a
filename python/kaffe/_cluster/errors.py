"""Turning Kafka error codes from response bodies into kaffe exceptions."""

from __future__ import annotations

from kaffe._protocol.error_codes import ERROR_CODES, ErrorCode
from kaffe.errors import KafkaError, for_code

__all__ = [
    "COORDINATOR_ERRORS",
    "STALE_METADATA_ERRORS",
    "error_for",
    "error_name",
    "is_retriable",
]

COORDINATOR_ERRORS = frozenset(
    {
        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        ErrorCode.NOT_COORDINATOR,
    }
)
"""Codes after which the coordinator must be looked up again."""

STALE_METADATA_ERRORS = frozenset(
    {
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.LEADER_NOT_AVAILABLE,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        ErrorCode.REQUEST_TIMED_OUT,
        ErrorCode.REPLICA_NOT_AVAILABLE,
        ErrorCode.NOT_ENOUGH_REPLICAS,
        ErrorCode.NOT_CONTROLLER,
        ErrorCode.FENCED_LEADER_EPOCH,
        ErrorCode.UNKNOWN_LEADER_EPOCH,
        ErrorCode.OFFSET_NOT_AVAILABLE,
        ErrorCode.UNKNOWN_TOPIC_ID,
        ErrorCode.INCONSISTENT_TOPIC_ID,
    }
)
"""Codes meaning the client's metadata (leaders, controller) may be out of date."""


def error_name(code: int) -> str:
    """Kafka's name for an error code (``"UNKNOWN_TOPIC_OR_PARTITION"``)."""
    entry = ERROR_CODES.get(code)
    return entry[0] if entry is not None else f"UNKNOWN_ERROR_CODE_{code}"


def is_retriable(code: int) -> bool:
    """Whether Kafka marks ``code`` retriable."""
    entry = ERROR_CODES.get(code)
    return entry[1] if entry is not None else False


def error_for(code: int, context: str, message: str | None = None) -> KafkaError:
    """:func:`kaffe.errors.for_code` for a ``code`` (not 0), its text naming ``context``
    (``"topic 'orders' partition 2"``) and the broker's own ``message`` if any."""
    return for_code(code, message, context=context)
