"""Messages delivered to handlers, and the values a batch handler returns.

:class:`Message` wraps one decoded record (the tuple :func:`kaffe._core.decode_record_batches`
produces) without copying it; ``headers`` is converted to a list only when asked for.

A batch handler (``handle_messages``) returns one of:

* ``None`` or :data:`OK`: commit the offset after the last message of the batch;
* :data:`NO_COMMIT`: commit nothing for this batch;
* :func:`commit_offset` ``(n)``: commit ``n`` (a restart or rebalance resumes at ``n``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final, Literal

from kaffe._core import wrap_records as _wrap_records

__all__ = [
    "NO_COMMIT",
    "OK",
    "CommitOffset",
    "HandlerResult",
    "Message",
    "commit_offset",
    "wrap_records",
]

TimestampType = Literal["create", "append"]

_Record = tuple[int, int, bytes | None, bytes | None, tuple[tuple[str, bytes | None], ...]]

_FIELDS: Final = ("topic", "partition", "offset", "key", "value", "headers", "ts", "ts_type")


class Message(tuple[Any, ...]):
    """One Kafka record, immutable.

    Attributes:
        topic: the topic it was read from.
        partition: the partition it was read from.
        offset: its offset in the partition.
        key: the key (``bytes``, or ``None`` when the record has no key).
        value: the value (``bytes``, or ``None`` for a tombstone).
        headers: a new list of ``(str, bytes)`` pairs on every access (a header whose value is
            null on the wire has ``None``).
        ts: the timestamp in milliseconds (``-1`` when the record has none).
        ts_type: ``"create"`` (the producer's clock), ``"append"`` (the broker's log-append
            time) or ``None`` (legacy v0 records have no timestamp).

    ``message["key"]`` works like ``message.key``, and ``dict(message)`` gives the fields, for
    code ported from Kaffe's maps. (A message is a tuple underneath, so that the fetcher can
    build thousands per fetch without a Python call each; that layout is not part of the API.)
    """

    __slots__ = ()

    def __new__(
        cls,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None = None,
        value: bytes | None = None,
        headers: Any = (),
        ts: int = -1,
        ts_type: TimestampType | None = "create",
    ) -> Message:
        """Build a message (handy in tests of your own handlers); headers are ``(str, bytes)``
        pairs or a mapping."""
        pairs = headers.items() if isinstance(headers, dict) else headers
        hdrs = tuple((str(k), v.encode() if isinstance(v, str) else v) for k, v in pairs)
        return _tuple_new(cls, (topic, partition, (offset, ts, key, value, hdrs), ts_type))

    @classmethod
    def _from_record(
        cls, topic: str, partition: int, record: _Record, ts_type: TimestampType | None
    ) -> Message:
        """Wrap a decoded record tuple without copying it."""
        return _tuple_new(cls, (topic, partition, record, ts_type))

    @property
    def topic(self) -> str:
        """The topic."""
        return _item(self, 0)  # type: ignore[no-any-return]

    @property
    def partition(self) -> int:
        """The partition."""
        return _item(self, 1)  # type: ignore[no-any-return]

    @property
    def offset(self) -> int:
        """The offset."""
        return _item(self, 2)[0]  # type: ignore[no-any-return]

    @property
    def ts(self) -> int:
        """The timestamp in ms."""
        return _item(self, 2)[1]  # type: ignore[no-any-return]

    @property
    def key(self) -> bytes | None:
        """The key."""
        return _item(self, 2)[2]  # type: ignore[no-any-return]

    @property
    def value(self) -> bytes | None:
        """The value."""
        return _item(self, 2)[3]  # type: ignore[no-any-return]

    @property
    def headers(self) -> list[tuple[str, bytes | None]]:
        """The headers, as a new list of ``(name, value)`` pairs."""
        return list(_item(self, 2)[4])

    @property
    def ts_type(self) -> TimestampType | None:
        """``"create"``, ``"append"`` or ``None``."""
        return _item(self, 3)

    def __getitem__(self, name: str) -> Any:  # type: ignore[override]
        """``message["value"]`` is ``message.value`` (for the field names of Kaffe's map)."""
        if name not in _FIELDS:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        """Like ``dict.get``: the field, or ``default`` for an unknown name."""
        return getattr(self, name) if name in _FIELDS else default

    def keys(self) -> tuple[str, ...]:
        """The field names (so ``dict(message)`` works)."""
        return _FIELDS

    def __iter__(self) -> Iterator[str]:
        """The field names, as for a mapping."""
        return iter(_FIELDS)

    def __len__(self) -> int:
        """The number of fields."""
        return len(_FIELDS)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle support."""
        return (_restore, (tuple(_tuple_iter(self)),))

    def __repr__(self) -> str:
        """Position, key and value size."""
        v = self.value
        size = "None" if v is None else f"{len(v)} bytes"
        return (
            f"Message(topic={self.topic!r}, partition={self.partition}, offset={self.offset}, "
            f"key={self.key!r}, value=<{size}>, ts={self.ts}, ts_type={self.ts_type!r})"
        )


_tuple_new = tuple.__new__
_tuple_iter = tuple.__iter__
_item = tuple.__getitem__


def _restore(items: tuple[Any, ...]) -> Message:
    return _tuple_new(Message, items)


def wrap_records(
    topic: str,
    partition: int,
    records: Iterable[_Record],
    ts_type: TimestampType | None,
) -> list[Message]:
    """:class:`Message` objects for decoded records, built in one native call.

    The messages are left untracked by Python's cycle collector (they hold only atoms and the
    decoder's immutable record tuples, so they cannot be part of a cycle); a consumer holding
    a million of them costs the collector nothing.
    """
    recs = records if isinstance(records, list) else list(records)
    return _wrap_records(Message, topic, partition, recs, ts_type)


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"kaffe.{self._name}"

    def __reduce__(self) -> str:
        return self._name


OK: Final = _Sentinel("OK")
"""Handler return value: commit the offset after the last message (same as ``None``)."""

NO_COMMIT: Final = _Sentinel("NO_COMMIT")
"""Handler return value: commit nothing for this batch (the worker still moves on)."""


class CommitOffset:
    """Handler return value made by :func:`commit_offset`: commit exactly ``offset``."""

    __slots__ = ("offset",)

    offset: int

    def __init__(self, offset: int) -> None:
        """``offset`` is the next offset to consume after a restart (an int >= 0)."""
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"commit_offset needs an int >= 0, got {offset!r}")
        object.__setattr__(self, "offset", offset)

    def __setattr__(self, name: str, value: object) -> None:
        """Immutable."""
        raise AttributeError("CommitOffset is immutable")

    def __eq__(self, other: object) -> bool:
        """Equal when the offsets are."""
        return isinstance(other, CommitOffset) and other.offset == self.offset

    def __hash__(self) -> int:
        """Hash of the offset."""
        return hash(("commit_offset", self.offset))

    def __repr__(self) -> str:
        """``kaffe.commit_offset(n)``."""
        return f"kaffe.commit_offset({self.offset})"


def commit_offset(n: int) -> CommitOffset:
    """Handler return value: commit offset ``n``; a restart or rebalance resumes at ``n``.

    The committed offset never passes messages that were not processed: an ``n`` beyond the
    offset after the batch's last message is lowered to it (with a warning).
    """
    return CommitOffset(n)


HandlerResult = None | _Sentinel | CommitOffset
"""What ``handle_messages`` may return."""
