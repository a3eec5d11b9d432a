"""Kaffe's message forms turned into the record tuples :func:`kaffe._core.encode_record_batch`
takes: ``(key, value, headers, timestamp_ms)`` with ``bytes``/``None`` key and value.

A message is ``(key, value)``, ``(key, value, headers)`` or a mapping with ``key``, ``value`` and
optional ``headers`` and ``ts``. Keys and values are ``bytes`` (also ``bytearray``/``memoryview``),
``str`` (encoded as UTF-8) or ``None``. Headers are a list of ``(str, bytes | str | None)`` pairs
or a mapping. A message without ``ts`` gets the current time in milliseconds, as Kaffe does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from kaffe._core import normalize_pairs

__all__ = ["RECORD_OVERHEAD", "Record", "normalize", "now_ms", "payload", "record_size"]

Header = tuple[str, bytes | None]
Record = tuple[bytes | None, bytes | None, list[Header] | tuple[Header, ...], int]
"""``(key, value, headers, timestamp_ms)``."""

RECORD_OVERHEAD = 32
"""Bytes a record costs in a v2 batch beyond its key, value and headers (varints, attributes,
deltas), rounded up: used to keep batches under ``max_batch_size``."""

_NO_HEADERS: tuple[Header, ...] = ()
_MESSAGE_FORMS = (
    "(key, value), (key, value, headers) or a mapping with 'key', 'value' and optional "
    "'headers' and 'ts'"
)


def now_ms() -> int:
    """The current time in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def payload(what: str, value: object) -> bytes | None:
    """A key, value or header value as ``bytes`` (``str`` encoded as UTF-8) or ``None``."""
    if value is None or type(value) is bytes:
        return value  # type: ignore[return-value,unused-ignore]
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, str or None, not {type(value).__name__}")


def _headers(index: int, raw: object) -> tuple[list[Header] | tuple[Header, ...], int]:
    if raw is None:
        return _NO_HEADERS, 0
    items: Any = raw.items() if isinstance(raw, Mapping) else raw
    if isinstance(items, str | bytes) or not hasattr(items, "__iter__"):
        raise TypeError(
            f"message {index}: headers must be a list of (str, bytes | str) pairs or a mapping, "
            f"not {type(raw).__name__}"
        )
    out: list[Header] = []
    size = 0
    for pair in items:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError(f"message {index}: header {pair!r} is not a (name, value) pair")
        name, value = pair
        if not isinstance(name, str):
            raise TypeError(f"message {index}: header name {name!r} is not a str")
        data = payload(f"message {index}: header {name!r} value", value)
        out.append((name, data))
        size += len(name) * 4 + (len(data) if data is not None else 0) + 10
    return out, size


def record_size(record: Record) -> int:
    """The estimated encoded size of one record, as :func:`normalize` estimates it."""
    key, value, headers, _ts = record
    size = RECORD_OVERHEAD + (len(key) if key is not None else 0)
    size += len(value) if value is not None else 0
    for name, data in headers:
        size += len(name) * 4 + (len(data) if data is not None else 0) + 10
    return size


def normalize(
    messages: Sequence[object], ts: int | None = None, start: int = 0
) -> tuple[list[Record], list[int]]:
    """Records and their estimated encoded sizes for a list of messages in any form.

    ``start`` is the index of ``messages[0]`` in the caller's list (for error messages).

    Raises:
        TypeError: a message, key, value or header of the wrong type (naming its index).
        ValueError: a ``ts`` that is not a non-negative int.
    """
    if ts is None:
        ts = now_ms()
    # The common form, a list of (key, value) pairs of bytes/str/None, in one native call
    # (None for anything else: then the loop below handles it and raises the precise error).
    fast = normalize_pairs(messages, ts, RECORD_OVERHEAD)
    if fast is not None:
        return cast("tuple[list[Record], list[int]]", fast)
    records: list[Record] = []
    sizes: list[int] = []
    append = records.append
    size_append = sizes.append
    for index, msg in enumerate(messages, start):
        headers: list[Header] | tuple[Header, ...] = _NO_HEADERS
        extra = 0
        stamp = ts
        if type(msg) is tuple and len(msg) == 2:
            key, value = msg
        elif isinstance(msg, tuple | list) and len(msg) == 3:
            key, value, raw_headers = msg
            headers, extra = _headers(index, raw_headers)
        elif isinstance(msg, tuple) and len(msg) == 2:
            key, value = msg
        elif isinstance(msg, Mapping):
            unknown = [k for k in msg if k not in ("key", "value", "headers", "ts")]
            if unknown:
                raise TypeError(
                    f"message {index}: unknown field(s) {unknown!r}; allowed: key, value, "
                    "headers, ts"
                )
            key = msg.get("key")
            value = msg.get("value")
            headers, extra = _headers(index, msg.get("headers"))
            given = msg.get("ts")
            if given is not None:
                if isinstance(given, bool) or not isinstance(given, int) or given < 0:
                    raise ValueError(
                        f"message {index}: ts must be an int of milliseconds >= 0, not {given!r}"
                    )
                stamp = given
        else:
            raise TypeError(
                f"message {index} is a {type(msg).__name__}; a message is {_MESSAGE_FORMS}"
            )
        if type(key) is not bytes and key is not None:
            key = payload(f"message {index}: key", key)
        if type(value) is not bytes and value is not None:
            value = payload(f"message {index}: value", value)
        append((key, value, headers, stamp))
        size_append(
            RECORD_OVERHEAD
            + extra
            + (len(key) if key is not None else 0)
            + (len(value) if value is not None else 0)
        )
    return records, sizes
