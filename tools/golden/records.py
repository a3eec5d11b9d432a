"""The fixed input of the golden vectors: records, producer scripts and what they must become.

Everything here is pure and deterministic.  A *script* is the list of operations a producer
replays (send a record, flush, begin/commit/abort a transaction); both the Java program and the
librdkafka runner replay the same script.  :func:`expected_batches` derives, from the script
alone, the batches and offsets the broker stores: every ``FLUSH`` (and the flush inside every
``COMMIT``/``ABORT``) closes one batch, every record takes the next offset, and every commit or
abort adds one control batch holding one marker record.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

#: Codecs, in the order files are produced.
CODECS: tuple[str, ...] = ("none", "gzip", "snappy", "lz4", "zstd")
#: Producer modes: plain (no producer id), idempotent, transactional.
Mode = Literal["plain", "idempotent", "transactional"]

#: Base of every record timestamp (2023-11-14T22:13:20Z): in the past, so the broker's
#: ``message.timestamp.after.max.ms`` never rejects it (topics disable time retention).
T0 = 1_700_000_000_000
#: Size of the one large value.
BIG_VALUE_SIZE = 50_000

#: Control record types (``ControlRecordType``): the key is ``int16 version, int16 type``.
CONTROL_ABORT = 0
CONTROL_COMMIT = 1

Header = tuple[str, bytes | None]


@dataclass(frozen=True)
class Record:
    """One record as the producer sends it."""

    key: bytes | None
    value: bytes | None
    timestamp: int
    headers: tuple[Header, ...] = ()


@dataclass(frozen=True)
class Op:
    """One script step: ``SEND`` (with ``record``), ``FLUSH``, ``BEGIN``, ``COMMIT``, ``ABORT``."""

    kind: Literal["SEND", "FLUSH", "BEGIN", "COMMIT", "ABORT"]
    record: Record | None = None


@dataclass
class ExpectedRecord:
    """A record as the log must hold it."""

    offset: int
    record: Record
    #: ``"committed"``/``"aborted"`` inside a transaction, ``None`` outside one.
    transaction: str | None = None


@dataclass
class ExpectedBatch:
    """A batch the log must hold: data records, or one control marker."""

    records: list[ExpectedRecord] = field(default_factory=list)
    #: ``"commit"``/``"abort"`` for a control batch, ``None`` for data.
    control: str | None = None
    control_offset: int = -1

    @property
    def base_offset(self) -> int:
        """Offset of the first record."""
        return self.control_offset if self.control else self.records[0].offset

    @property
    def last_offset(self) -> int:
        """Offset of the last record."""
        return self.control_offset if self.control else self.records[-1].offset


def filler(tag: str, repeats: int) -> bytes:
    """A compressible value (librdkafka sends a batch uncompressed if compressing grows it)."""
    return (f"{tag}: " + "the quick brown fox jumps over the lazy dog; " * repeats).encode()


def big_value(size: int = BIG_VALUE_SIZE) -> bytes:
    """``size`` bytes of hex digits from a SHA-256 chain: deterministic, half compressible."""
    out = bytearray()
    digest = b"kaffe golden vectors"
    while len(out) < size:
        digest = hashlib.sha256(digest).digest()
        out += digest.hex().encode()
    return bytes(out[:size])


def main_records() -> list[list[Record]]:
    """The records of every per-codec file, grouped by batch."""
    unicode_value = ("unicode ✓ grüße 日本語 🎉 " * 6).encode()
    return [
        [
            Record(b"key-0", filler("value-0", 4), T0, (("trace-id", b"abc123"),)),
            Record(None, filler("value-1, null key", 4), T0 + 1),
            Record(b"key-2, null value", None, T0 + 2, (("kind", b"tombstone"),)),
            Record(b"key-3, empty value", b"", T0 + 3, (("empty", b""),)),
            Record(
                b"",
                unicode_value,
                T0 + 4,
                (
                    ("grüße", "wert ✓".encode()),
                    ("日本語", None),
                    ("emoji 🎉", b"\x00\x01\xfe\xff"),
                    ("dup", b"1"),
                    ("dup", b"2"),
                ),
            ),
            # Earlier than the batch's first record: a negative timestamp delta.
            Record(b"key-5, earlier timestamp", filler("value-5", 4), T0 - 86_400_000),
        ],
        [
            Record(b"big", big_value(), T0 + 1_000, (("size", str(BIG_VALUE_SIZE).encode()),)),
            Record(b"after-big", filler("value-7", 4), T0 + 1_001),
        ],
        [Record(b"single", filler("single record batch", 6), T0 + 2_000, (("h", b"v"),))],
    ]


def small_records(tag: str, count: int, start_ms: int) -> list[Record]:
    """``count`` small compressible records for the idempotent and transactional files."""
    return [
        Record(
            f"{tag}-key-{i}".encode(),
            filler(f"{tag} value {i}", 2),
            start_ms + i,
            (("seq", str(i).encode()),),
        )
        for i in range(count)
    ]


def _sends(records: Sequence[Record]) -> list[Op]:
    return [Op("SEND", r) for r in records]


def script(mode: Mode) -> list[Op]:
    """The operations a producer in ``mode`` replays."""
    ops: list[Op] = []
    if mode == "plain":
        for group in main_records():
            ops += [*_sends(group), Op("FLUSH")]
    elif mode == "idempotent":
        ops += [*_sends(small_records("idem-a", 3, T0 + 10_000)), Op("FLUSH")]
        ops += [*_sends(small_records("idem-b", 2, T0 + 11_000)), Op("FLUSH")]
        ops += [*_sends(small_records("idem-c", 1, T0 + 12_000)), Op("FLUSH")]
    else:
        # Data is flushed before COMMIT/ABORT so the aborted batch really reaches the log.
        plan: tuple[tuple[int, Literal["COMMIT", "ABORT"]], ...] = (
            (3, "COMMIT"),
            (2, "ABORT"),
            (2, "COMMIT"),
        )
        for n, (count, end) in enumerate(plan, start=1):
            records = small_records(f"txn-{n}", count, T0 + 20_000 + 1_000 * n)
            ops += [Op("BEGIN"), *_sends(records), Op("FLUSH"), Op(end)]
    return ops


def expected_batches(ops: Sequence[Op]) -> list[ExpectedBatch]:
    """The batches (in log order) that replaying ``ops`` leaves in the partition."""
    batches: list[ExpectedBatch] = []
    current = ExpectedBatch()
    in_txn: list[ExpectedRecord] = []
    offset = 0
    transaction = False
    for op in ops:
        if op.kind == "SEND":
            if op.record is None:
                raise ValueError("SEND without a record")
            rec = ExpectedRecord(offset, op.record, "open" if transaction else None)
            current.records.append(rec)
            if transaction:
                in_txn.append(rec)
            offset += 1
            continue
        if current.records:
            batches.append(current)
            current = ExpectedBatch()
        if op.kind == "BEGIN":
            transaction = True
        elif op.kind in ("COMMIT", "ABORT"):
            outcome = "committed" if op.kind == "COMMIT" else "aborted"
            for rec in in_txn:
                rec.transaction = outcome
            in_txn = []
            transaction = False
            kind = "commit" if op.kind == "COMMIT" else "abort"
            batches.append(ExpectedBatch(control=kind, control_offset=offset))
            offset += 1
    if current.records or transaction:
        raise ValueError("a script must end with FLUSH, COMMIT or ABORT")
    return batches


def control_key(kind: str) -> bytes:
    """The key of a control record: ``int16 version 0, int16 type``."""
    return struct.pack(">hh", 0, CONTROL_COMMIT if kind == "commit" else CONTROL_ABORT)


def _payload_field(data: bytes | None) -> str:
    return "-" if data is None else "x" + data.hex()


def script_lines(ops: Sequence[Op]) -> Iterator[str]:
    """The script in the line format ``GoldenProducer.java`` reads."""
    for op in ops:
        if op.kind != "SEND":
            yield op.kind
            continue
        rec = op.record
        if rec is None:
            raise ValueError("SEND without a record")
        fields = ["SEND", str(rec.timestamp), _payload_field(rec.key), _payload_field(rec.value)]
        fields.append(str(len(rec.headers)))
        for name, value in rec.headers:
            fields += [_payload_field(name.encode()), _payload_field(value)]
        yield " ".join(fields)
