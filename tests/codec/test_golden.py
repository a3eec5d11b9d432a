"""Golden vectors: real broker log segments written by the Java client and librdkafka.

``tests/fixtures/golden/`` holds ``00000000000000000000.log`` segment files of an Apache Kafka
broker (how they were made: its ``README.md``; regenerate with ``python -m golden``).
``expected.json`` comes from the producers' input, not from kaffe. These tests need no broker:

* every file decodes completely, CRCs checked, into exactly the expected records and batches;
* batch-level facts hold: codec, timestamp type, producer ids/epochs/sequences, the
  transactional and control flags, control markers (aborted data stays in the log);
* every uncompressed batch (both clients, data and control) re-encodes byte for byte;
* every compressed batch holds, once decompressed, exactly the bytes kaffe encodes for its
  records, and re-encoding it with kaffe's own compressor decodes to the same records.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import crc32c as crc32c_pkg
import pytest
from kafka import codec as kp_codec

import kaffe
from kaffe import _core

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
EXPECTED: dict[str, Any] = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
FILES: list[str] = sorted(EXPECTED["files"])
PAYLOADS: dict[str, bytes] = {k: base64.b64decode(v) for k, v in EXPECTED["payloads"].items()}

#: Record batch v2 header: everything before the records (61 bytes); the CRC covers bytes 21...
V2_HEADER = 61
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
#: Independent decompressors (kafka-python's helpers over zlib, python-snappy with xerial
#: framing, lz4.frame and zstandard), used as oracles next to kaffe's own.
ORACLE_DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": kp_codec.gzip_decode,
    "snappy": kp_codec.snappy_decode,
    "lz4": kp_codec.lz4_decode,
    "zstd": kp_codec.zstd_decode,
}


def payload(ref: str | None) -> bytes | None:
    """Resolve a payload id of ``expected.json``."""
    return None if ref is None else PAYLOADS[ref]


@functools.cache
def load(name: str) -> tuple[bytes, list[_core.RecordBatch], list[bytes]]:
    """The file's bytes, kaffe's decoded batches, and each batch's own bytes."""
    data = (GOLDEN / name).read_bytes()
    batches, consumed = _core.decode_record_batches(data)
    assert consumed == len(data), f"{name}: decoded {consumed} of {len(data)} bytes"
    slices: list[bytes] = []
    pos = 0
    for batch in batches:
        # Frame each batch from its own length field, independently of kaffe's size_in_bytes.
        (length,) = struct.unpack_from(">i", data, pos + 8)
        assert batch.size_in_bytes == 12 + length
        slices.append(data[pos : pos + 12 + length])
        pos += 12 + length
    assert pos == len(data)
    return data, batches, slices


def expected_records(batch_doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The decoded form ``(offset, timestamp, key, value, headers)`` of an expected data batch."""
    return [
        (
            r["offset"],
            r["timestamp"],
            payload(r["key"]),
            payload(r["value"]),
            tuple((name, payload(value)) for name, value in r["headers"]),
        )
        for r in batch_doc["records"]
    ]


def reencode(batch: _core.RecordBatch, compression: str) -> bytes:
    """Encode ``batch``'s records again with its decoded header fields."""
    return _core.encode_record_batch(
        [(key, value, list(headers), ts) for _, ts, key, value, headers in batch.records],
        base_offset=batch.base_offset,
        compression=compression,
        timestamp_type=batch.timestamp_type,
        transactional=batch.is_transactional,
        control=batch.is_control,
        producer_id=batch.producer_id,
        producer_epoch=batch.producer_epoch,
        base_sequence=batch.base_sequence,
        partition_leader_epoch=batch.partition_leader_epoch,
        max_timestamp=batch.max_timestamp,
    )


def batch_cases(*, compressed: bool) -> list[Any]:
    """``pytest.param(file, index)`` for every (un)compressed batch listed in expected.json."""
    cases = []
    for name in FILES:
        for i, doc in enumerate(EXPECTED["files"][name]["batches"]):
            if (doc["compression"] != "none") == compressed:
                cases.append(pytest.param(name, i, id=f"{name}-batch{i}"))
    return cases


UNCOMPRESSED = batch_cases(compressed=False)
COMPRESSED = batch_cases(compressed=True)


# --------------------------------------------------------------------------- the fixture set


def test_fixture_set_is_complete_and_intact() -> None:
    on_disk = sorted(p.name for p in GOLDEN.glob("*.log"))
    assert on_disk == FILES
    kinds = {(f["client"], f["codec"], f["mode"]) for f in EXPECTED["files"].values()}
    for client in ("java", "rdkafka"):
        for codec in CODEC_IDS:
            assert (client, codec, "plain") in kinds
        assert (client, "none", "idempotent") in kinds
        assert (client, "none", "transactional") in kinds
    total = 0
    for name in FILES:
        data = (GOLDEN / name).read_bytes()
        info = EXPECTED["files"][name]
        assert len(data) == info["size"], name
        assert hashlib.sha256(data).hexdigest() == info["sha256"], name
        total += len(data)
    assert total < 1024 * 1024
    # Something of every kind is really there to be checked below.
    assert len(UNCOMPRESSED) >= 20
    compressed_files = {case.values[0] for case in COMPRESSED}
    codecs = {EXPECTED["files"][n]["codec"] for n in compressed_files}
    assert codecs == {"gzip", "snappy", "lz4", "zstd"}


# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("name", FILES)
def test_file_decodes_to_the_expected_records(name: str) -> None:
    _, batches, _ = load(name)
    info = EXPECTED["files"][name]
    docs = info["batches"]
    assert [(b.base_offset, b.last_offset) for b in batches] == [
        (d["base_offset"], d["last_offset"]) for d in docs
    ]
    low, high = info["produced_between_ms"]
    for batch, doc in zip(batches, docs, strict=True):
        assert len(batch) == len(doc["records"])
        if doc["control"] is None:
            assert batch.records == expected_records(doc)
            continue
        ((offset, ts, key, value, headers),) = batch.records
        (want,) = doc["records"]
        assert offset == want["offset"]
        assert key == payload(want["key"])
        assert headers == ()
        # Value: int16 version, int32 coordinator epoch (the broker's choice).
        assert value is not None
        assert len(value) == 6
        version, coordinator_epoch = struct.unpack(">hi", value)
        assert version == want["value_version"]
        assert coordinator_epoch >= 0
        # The coordinator stamps markers with its clock while the producer ran.
        assert low <= ts <= high


@pytest.mark.parametrize("name", FILES)
def test_crcs_are_checked_and_correct(name: str) -> None:
    data, batches, slices = load(name)
    for batch, raw in zip(batches, slices, strict=True):
        (stored,) = struct.unpack_from(">I", raw, 17)
        assert batch.crc == stored
        assert crc32c_pkg.crc32c(raw[21:]) == stored
    # One flipped bit in the last batch's records must be caught by the CRC check.
    corrupt = bytearray(data)
    corrupt[-1] ^= 0x01
    with pytest.raises(kaffe.CorruptRecordError):
        _core.decode_record_batches(bytes(corrupt))


@pytest.mark.parametrize("name", FILES)
def test_batch_level_facts(name: str) -> None:
    _, batches, _ = load(name)
    info = EXPECTED["files"][name]
    docs = info["batches"]
    for batch, doc in zip(batches, docs, strict=True):
        assert batch.magic == 2
        assert batch.compression == doc["compression"]
        assert batch.timestamp_type == info["timestamp_type"]
        assert batch.is_transactional is doc["transactional"]
        assert batch.is_control is (doc["control"] is not None)
        assert batch.partition_leader_epoch == info["partition_leader_epoch"]
        # The raw attributes agree with the decoded flags.
        attrs = batch.attributes
        assert attrs & 0x07 == CODEC_IDS[doc["compression"]]
        assert bool(attrs & 0x08) is (info["timestamp_type"] == "append")
        assert bool(attrs & 0x10) is doc["transactional"]
        assert bool(attrs & 0x20) is (doc["control"] is not None)
        timestamps = [r[1] for r in batch.records]
        assert batch.base_timestamp == timestamps[0]  # the first record's, not the smallest
        assert batch.max_timestamp == max(timestamps)
        if doc["base_sequence"] is not None:
            assert batch.base_sequence == doc["base_sequence"]

    if info["producer_id"] == "none":
        assert {(b.producer_id, b.producer_epoch) for b in batches} == {(-1, -1)}
        return
    assert len({b.producer_id for b in batches}) == 1
    assert batches[0].producer_id >= 0
    if info["mode"] == "idempotent":
        assert len({b.producer_epoch for b in batches}) == 1
        assert batches[0].producer_epoch >= 0
        return

    # Transactional. Epochs never go back; a control marker carries the epoch of the
    # transaction it ends, or the next one (transactions v2 bump the epoch on every end).
    # Sequences continue within an epoch and restart at 0 after a bump.
    epochs = [b.producer_epoch for b in batches]
    assert epochs == sorted(epochs)
    assert epochs[0] >= 0
    next_seq: dict[int, int] = {}
    last_data_epoch = -1
    for batch in batches:
        if batch.is_control:
            assert batch.base_sequence == -1
            assert batch.producer_epoch in (last_data_epoch, last_data_epoch + 1)
            continue
        assert batch.base_sequence == next_seq.get(batch.producer_epoch, 0)
        next_seq[batch.producer_epoch] = batch.base_sequence + len(batch)
        last_data_epoch = batch.producer_epoch

    outcomes = [r["transaction"] for d in docs for r in d["records"] if d["control"] is None]
    assert "aborted" in outcomes
    assert "committed" in outcomes
    markers = [d["control"] for d in docs if d["control"] is not None]
    assert markers == ["commit", "abort", "commit"]


# --------------------------------------------------------------------------- re-encoding


@pytest.mark.parametrize(("name", "index"), UNCOMPRESSED)
def test_uncompressed_batch_reencodes_byte_for_byte(name: str, index: int) -> None:
    _, batches, slices = load(name)
    batch = batches[index]
    assert batch.compression == "none"
    assert reencode(batch, "none") == slices[index]


@pytest.mark.parametrize(("name", "index"), COMPRESSED)
def test_compressed_batch_holds_kaffes_record_bytes(name: str, index: int) -> None:
    _, batches, slices = load(name)
    batch, raw = batches[index], slices[index]
    codec = batch.compression
    inner = _core.decompress(codec, raw[V2_HEADER:])
    assert ORACLE_DECOMPRESS[codec](raw[V2_HEADER:]) == inner
    plain = reencode(batch, "none")
    assert inner == plain[V2_HEADER:]
    # Apart from the codec bits, length and CRC, the headers are identical too.
    assert raw[:8] == plain[:8]  # base offset
    assert raw[12:17] == plain[12:17]  # partition leader epoch, magic
    assert raw[21] == plain[21]  # attributes, high byte
    assert raw[22] & ~0x07 == plain[22] & ~0x07  # attributes, low byte without the codec
    assert raw[23:V2_HEADER] == plain[23:V2_HEADER]  # last offset delta ... record count


@pytest.mark.parametrize(("name", "index"), COMPRESSED)
def test_compressed_batch_reencodes_to_the_same_records(name: str, index: int) -> None:
    _, batches, _ = load(name)
    batch = batches[index]
    encoded = reencode(batch, batch.compression)
    (again,), consumed = _core.decode_record_batches(encoded)
    assert consumed == len(encoded)
    assert again.compression == batch.compression
    assert again.records == batch.records
    for attr in (
        "base_offset",
        "last_offset",
        "partition_leader_epoch",
        "attributes",
        "producer_id",
        "producer_epoch",
        "base_sequence",
        "base_timestamp",
        "max_timestamp",
    ):
        assert getattr(again, attr) == getattr(batch, attr), attr
