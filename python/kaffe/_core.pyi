"""Type stubs for :mod:`kaffe._core`, kaffe's native module (Rust, PyO3).

Checked against the built module with ``python -m mypy.stubtest kaffe._core``.
"""

from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeAlias, TypeVar, final

__all__ = [
    "RecordBatch",
    "api_versions_table",
    "compress",
    "crc32",
    "crc32c",
    "decode_data",
    "decode_record_batches",
    "decode_request",
    "decode_response",
    "decompress",
    "encode_data",
    "encode_record_batch",
    "encode_request",
    "encode_response",
    "murmur2",
    "normalize_pairs",
    "partition_md5",
    "partition_murmur2",
    "partitions_md5",
    "partitions_murmur2",
    "snappy_compress_raw",
    "wrap_records",
]

_CodecName: TypeAlias = Literal["none", "gzip", "snappy", "lz4", "zstd"]
_Payload: TypeAlias = bytes | str | None
_HeaderIn: TypeAlias = tuple[str, bytes | str | None]
_HeadersIn: TypeAlias = list[_HeaderIn] | tuple[_HeaderIn, ...]
_RecordIn: TypeAlias = tuple[_Payload, _Payload, _HeadersIn, int]
"""``(key, value, headers, timestamp_ms)`` as :func:`encode_record_batch` takes it."""
_Header: TypeAlias = tuple[str, bytes | None]
"""A decoded record header: ``(key, value)``."""
_Record: TypeAlias = tuple[int, int, bytes | None, bytes | None, tuple[_Header, ...]]
"""A decoded record: ``(offset, timestamp_ms, key, value, headers)``; ``headers`` is a tuple of
``(key, value)`` pairs, ``()`` when there are none."""

def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``, as used by record batch v2."""

def crc32(data: bytes) -> int:
    """CRC-32 (IEEE, as ``zlib.crc32``) of ``data``, as used by legacy message sets v0/v1."""

def compress(codec: str | int, data: bytes, level: int | None = None) -> bytes:
    """Compress ``data`` with ``codec`` (a name or Kafka's codec id).

    Snappy output uses the xerial framing the Java client writes. ``level`` is the codec's own
    level; ``None`` is the codec's default. Unknown names are a :class:`ValueError`, codec ids
    Kafka does not define a :class:`kaffe.UnsupportedCompressionTypeError`.
    """

def decompress(codec: str | int, data: bytes, limit: int = 268435456) -> bytes:
    """Decompress ``data``, refusing to produce more than ``limit`` bytes.

    Invalid data, or output over ``limit``, raises :class:`kaffe.CorruptRecordError`. Snappy
    accepts xerial framing and raw blocks; lz4 the standard frame format.
    """

def snappy_compress_raw(data: bytes) -> bytes:
    """Compress ``data`` as one raw (unframed) snappy block."""

def murmur2(data: bytes) -> int:
    """Java's ``Utils.murmur2`` of ``data`` (seed 0x9747b28c), as a signed 32-bit int."""

def partition_murmur2(key: bytes, count: int) -> int:
    """Java's default partitioner: ``(murmur2(key) & 0x7fffffff) % count``; ``count >= 1``."""

def partition_md5(key: bytes, count: int) -> int:
    """Kaffe's md5 partitioner: the sum of md5(key)'s 16 bytes modulo ``count``; ``count >= 1``."""

def partitions_md5(keys: Iterable[bytes], count: int) -> list[int]:
    """:func:`partition_md5` of every key, in one call."""

def partitions_murmur2(keys: Iterable[bytes], count: int) -> list[int]:
    """:func:`partition_murmur2` of every key, in one call."""

def encode_record_batch(
    records: Iterable[_RecordIn],
    *,
    base_offset: int = 0,
    compression: str | int = "none",
    compression_level: int | None = None,
    timestamp_type: Literal["create", "append"] = "create",
    transactional: bool = False,
    control: bool = False,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    partition_leader_epoch: int = -1,
    max_timestamp: int | None = None,
) -> bytes:
    """Encode one v2 record batch from ``(key, value, headers, timestamp_ms)`` tuples.

    Keys, values and header values are ``bytes``, ``str`` (encoded as UTF-8) or ``None``; header
    keys are ``str``. A wrong type raises :class:`TypeError` naming the record and field; an
    empty ``records`` or an impossible option raises :class:`ValueError`. ``max_timestamp=None``
    uses the largest record timestamp.
    """

def decode_record_batches(
    data: bytes, *, check_crc: bool = True, max_decompressed_bytes: int = 268435456
) -> tuple[list[RecordBatch], int]:
    """Decode concatenated record batches (v2) and legacy messages (v0/v1).

    Returns ``(batches, consumed)``. A partial batch at the end of ``data`` (a fetch response
    cut it) stops decoding without an error; ``consumed`` counts the bytes of complete batches.
    Malformed data raises :class:`kaffe.CorruptRecordError`, an unknown codec
    :class:`kaffe.UnsupportedCompressionTypeError`.
    """

@final
class RecordBatch:
    """One decoded record batch (v2), or one legacy v0/v1 message with its inner messages."""

    @property
    def base_offset(self) -> int:
        """Offset of the first record."""
    @property
    def last_offset(self) -> int:
        """Offset of the last record (``base_offset + last_offset_delta``)."""
    @property
    def partition_leader_epoch(self) -> int:
        """Leader epoch stamped by the broker (-1 for legacy messages)."""
    @property
    def magic(self) -> int:
        """Message format version: 0, 1 or 2."""
    @property
    def crc(self) -> int:
        """The stored CRC (CRC-32C for v2, CRC-32 for legacy messages)."""
    @property
    def attributes(self) -> int:
        """The raw attributes field."""
    @property
    def compression(self) -> _CodecName:
        """The codec the batch was compressed with."""
    @property
    def timestamp_type(self) -> Literal["create", "append"]:
        """``"create"`` (producer's clock) or ``"append"`` (broker's log-append time)."""
    @property
    def is_transactional(self) -> bool:
        """Whether the batch belongs to a transaction."""
    @property
    def is_control(self) -> bool:
        """Whether the batch holds control records (transaction markers)."""
    @property
    def producer_id(self) -> int:
        """Idempotent/transactional producer id, -1 if none."""
    @property
    def producer_epoch(self) -> int:
        """Producer epoch, -1 if none."""
    @property
    def base_sequence(self) -> int:
        """Sequence number of the first record, -1 if none."""
    @property
    def base_timestamp(self) -> int:
        """Timestamp of the first record in ms (-1 for legacy v0)."""
    @property
    def max_timestamp(self) -> int:
        """Largest timestamp in the batch, in ms."""
    @property
    def size_in_bytes(self) -> int:
        """Bytes the batch occupied in the decoded input."""
    @property
    def records(self) -> list[_Record]:
        """``(offset, timestamp_ms, key, value, headers)`` for every record, in offset order.

        Each record is an immutable tuple holding only ints, ``bytes``/``None`` and a tuple of
        ``(str, bytes | None)`` header pairs, so it costs Python's cycle collector nothing.
        """
    def __len__(self) -> int:
        """Number of records."""

# Kafka protocol messages (rust/kaffe-py/src/protocol.rs). Bodies are dicts keyed by the
# snake_case field names of Kafka's JSON specs; malformed bytes raise kaffe.ProtocolError.

def encode_request(
    api_key: int,
    api_version: int,
    correlation_id: int,
    client_id: str | None,
    body: Mapping[str, Any],
) -> bytes:
    """Encode a request frame (header and body) without the 4-byte size prefix."""

def decode_response(api_key: int, api_version: int, data: bytes) -> tuple[int, dict[str, Any]]:
    """Decode a response frame (no size prefix) to ``(correlation_id, body)``."""

def encode_response(
    api_key: int, api_version: int, correlation_id: int, body: Mapping[str, Any]
) -> bytes:
    """Encode a response frame (header and body) without the 4-byte size prefix."""

def decode_request(data: bytes) -> tuple[int, int, int, str | None, dict[str, Any]]:
    """Decode a request frame to ``(api_key, api_version, correlation_id, client_id, body)``."""

def encode_data(name: str, version: int, body: Mapping[str, Any]) -> bytes:
    """Encode a data message (such as ``ConsumerProtocolSubscription``) at ``version``."""

def decode_data(name: str, version: int, data: bytes) -> dict[str, Any]:
    """Decode a data message at ``version``."""

def api_versions_table() -> dict[int, tuple[str, int, int]]:
    """The APIs the codec handles: ``{api_key: (name, min_version, max_version)}``."""

_T = TypeVar("_T", bound=tuple[Any, ...])

def wrap_records(
    cls: type[_T],
    topic: str,
    partition: int,
    records: list[_Record],
    ts_type: str | None,
) -> list[_T]:
    """``[cls((topic, partition, record, ts_type)) for record in records]`` in one call, the
    results untracked by the cycle collector (they can hold no cycle).

    ``cls`` must be a tuple subclass with ``__slots__ = ()`` (``kaffe.Message``) and ``records``
    exact tuples as :func:`decode_record_batches` returns them; anything else is a
    ``TypeError``.
    """

def normalize_pairs(
    messages: object, ts: int, overhead: int
) -> tuple[list[tuple[bytes | None, bytes | None, tuple[()], int]], list[int]] | None:
    """The producer's common case in one call: for a list of ``(key, value)`` tuples of
    ``bytes``/``str``/``None``, the records ``(key, value, (), ts)`` (str encoded as UTF-8) and
    their estimated sizes ``overhead + len(key) + len(value)``, the records untracked by the
    cycle collector. ``None`` when ``messages`` is not such a list (the caller takes the general
    path).
    """
