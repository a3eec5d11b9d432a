"""Turning Kafka error codes from response bodies into kaffe exceptions."""

from __future__ import annotations

from kaffe._protocol_errors import ERROR_CODES
from kaffe.errors import KafkaError, error_class_for_code

__all__ = [
    "COORDINATOR_LOAD_IN_PROGRESS",
    "COORDINATOR_NOT_AVAILABLE",
    "LEADER_NOT_AVAILABLE",
    "NOT_CONTROLLER",
    "NOT_COORDINATOR",
    "NOT_LEADER_OR_FOLLOWER",
    "UNKNOWN_TOPIC_OR_PARTITION",
    "error_for",
    "error_name",
    "is_retriable",
]

UNKNOWN_TOPIC_OR_PARTITION = 3
LEADER_NOT_AVAILABLE = 5
NOT_LEADER_OR_FOLLOWER = 6
REQUEST_TIMED_OUT = 7
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
NOT_CONTROLLER = 41
TOPIC_ALREADY_EXISTS = 36

COORDINATOR_ERRORS = frozenset(
    {COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR}
)
"""Codes after which the coordinator must be looked up again."""

STALE_METADATA_ERRORS = frozenset(
    {
        UNKNOWN_TOPIC_OR_PARTITION,
        LEADER_NOT_AVAILABLE,
        NOT_LEADER_OR_FOLLOWER,
        REQUEST_TIMED_OUT,
        9,  # REPLICA_NOT_AVAILABLE
        19,  # NOT_ENOUGH_REPLICAS
        NOT_CONTROLLER,
        74,  # FENCED_LEADER_EPOCH
        75,  # UNKNOWN_LEADER_EPOCH
        78,  # OFFSET_NOT_AVAILABLE
        100,  # UNKNOWN_TOPIC_ID
        103,  # INCONSISTENT_TOPIC_ID
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
    """The kaffe exception for Kafka error ``code``, its message naming ``context``
    (``"topic 'orders' partition 2"``) and the broker's own ``message`` if any."""
    cls = error_class_for_code(code)
    text = f"{context}: {error_name(code)} (error code {code})"
    if message:
        text += f": {message}"
    if cls is KafkaError:
        return KafkaError(text, code=code, retriable=is_retriable(code))
    return cls(text)
