"""The argument handling of kaffe._core: types, ranges and error messages."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kaffe import CorruptRecordError, UnsupportedCompressionTypeError, _core

REC = (b"k", b"v", [], 1)


def _decode_one(data: bytes) -> Any:
    (batch,), consumed = _core.decode_record_batches(data)
    assert consumed == len(data)
    return batch


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (
            [REC, [b"k", b"v", [], 1]],
            r"records\[1\]: expected a \(key, value, headers, timestamp_ms\) tuple, got list",
        ),
        ([REC, (b"k", b"v", [])], r"records\[1\]: .* tuple of length 3"),
        ([(1, b"v", [], 1)], r"records\[0\]\.key: expected bytes, str or None, got int"),
        ([REC, REC, (b"k", bytearray(b"v"), [], 1)], r"records\[2\]\.value: .* got bytearray"),
        ([(b"k", b"v", None, 1)], r"records\[0\]\.headers: expected a list or tuple"),
        ([(b"k", b"v", {"a": b"b"}, 1)], r"records\[0\]\.headers: .* got dict"),
        ([(b"k", b"v", [("a", b"b"), ["c", b"d"]], 1)], r"records\[0\]\.headers\[1\]: .* got list"),
        ([(b"k", b"v", [("a",)], 1)], r"records\[0\]\.headers\[0\]: .* tuple of length 1"),
        (
            [(b"k", b"v", [(b"a", b"b")], 1)],
            r"records\[0\]\.headers\[0\] key: expected str, got bytes",
        ),
        ([(b"k", b"v", [("a", 3)], 1)], r"records\[0\]\.headers\[0\] value: .* got int"),
        ([(b"k", b"v", [], 1.5)], r"records\[0\]\.timestamp_ms: expected int, got float"),
        ([(b"k", b"v", [], None)], r"records\[0\]\.timestamp_ms: expected int, got NoneType"),
        (b"not records", r"records: expected a sequence"),
        ("not records", r"records: expected a sequence"),
        (5, r"not iterable"),
    ],
)
def test_encode_type_errors_name_the_record_and_field(records: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        _core.encode_record_batch(records)


def test_encode_value_errors() -> None:
    with pytest.raises(ValueError, match="at least one record"):
        _core.encode_record_batch([])
    with pytest.raises(ValueError, match=r"records\[0\]\.timestamp_ms: out of range"):
        _core.encode_record_batch([(b"k", b"v", [], 2**63)])
    with pytest.raises(ValueError, match=r"records\[0\]\.key: str cannot be encoded as UTF-8"):
        _core.encode_record_batch([("\ud800", b"v", [], 1)])
    with pytest.raises(ValueError, match=r"headers\[0\] key: str cannot be encoded"):
        _core.encode_record_batch([(b"k", b"v", [("\udfff", None)], 1)])
    with pytest.raises(ValueError, match="timestamp_type"):
        _core.encode_record_batch([REC], timestamp_type="log_append")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="producer_epoch"):
        _core.encode_record_batch([REC], producer_epoch=2**15)
    with pytest.raises(ValueError, match="unknown codec"):
        _core.encode_record_batch([REC], compression="brotli")
    with pytest.raises(ValueError, match="out of range"):
        _core.encode_record_batch([REC], compression=256)
    with pytest.raises(ValueError, match="level"):
        _core.encode_record_batch([REC], compression="none", compression_level=3)
    with pytest.raises(ValueError, match="level"):
        _core.encode_record_batch([REC], compression="zstd", compression_level=99)
    with pytest.raises(ValueError, match="level"):
        _core.encode_record_batch([REC], compression="gzip", compression_level=10)
    with pytest.raises(OverflowError):
        _core.encode_record_batch([REC], base_sequence=2**31)


@pytest.mark.parametrize("codec_id", [5, 6, 7, 255])
def test_undefined_codec_ids_are_unsupported(codec_id: int) -> None:
    with pytest.raises(UnsupportedCompressionTypeError) as info:
        _core.encode_record_batch([REC], compression=codec_id)
    assert info.value.code == 76
    with pytest.raises(UnsupportedCompressionTypeError):
        _core.compress(codec_id, b"data")
    with pytest.raises(UnsupportedCompressionTypeError):
        _core.decompress(codec_id, b"data")


@pytest.mark.parametrize("codec", [True, 1.0, None, b"gzip"])
def test_codec_of_the_wrong_type(codec: Any) -> None:
    with pytest.raises(TypeError, match="codec"):
        _core.compress(codec, b"data")


def test_codec_names_are_case_insensitive() -> None:
    assert _core.decompress("GZIP", _core.compress("Gzip", b"abc")) == b"abc"
    assert _decode_one(_core.encode_record_batch([REC], compression="ZsTd")).compression == "zstd"


def test_str_payloads_are_utf8_and_tuples_or_lists_of_headers_work() -> None:
    batch = _decode_one(
        _core.encode_record_batch(
            [("k\u00ef", "\u2603", (("h", "\u00e9"),), 7), ("", "", [], 8)],
        )
    )
    assert batch.records == [
        (0, 7, "k\u00ef".encode(), "\u2603".encode(), (("h", "\u00e9".encode()),)),
        (1, 8, b"", b"", ()),
    ]


def test_records_may_be_any_iterable_and_tuple_subclasses() -> None:
    from typing import NamedTuple

    class Rec(NamedTuple):
        key: bytes | None
        value: bytes | None
        headers: list[tuple[str, bytes | None]]
        ts: int

    rows = [Rec(b"a", b"1", [], 1), Rec(None, b"2", [("x", None)], 2)]
    from_gen = _core.encode_record_batch(r for r in rows)
    assert from_gen == _core.encode_record_batch(rows) == _core.encode_record_batch(tuple(rows))
    assert [r[2:4] for r in _decode_one(from_gen).records] == [(b"a", b"1"), (None, b"2")]


def test_batch_options_are_written() -> None:
    data = _core.encode_record_batch(
        [REC, (b"k2", None, [], 10)],
        base_offset=1000,
        timestamp_type="append",
        max_timestamp=99,
        transactional=True,
        producer_id=5,
        producer_epoch=6,
        base_sequence=7,
        partition_leader_epoch=8,
    )
    batch = _decode_one(data)
    assert (batch.base_offset, batch.last_offset) == (1000, 1001)
    assert batch.timestamp_type == "append"
    assert batch.max_timestamp == 99
    assert batch.base_timestamp == 1
    assert [r[1] for r in batch.records] == [99, 99]  # LogAppendTime: every record gets it
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == (5, 6, 7)
    assert batch.partition_leader_epoch == 8
    assert batch.is_transactional
    assert not batch.is_control
    assert batch.attributes == 0x18
    assert batch.magic == 2


def test_record_batch_is_read_only_and_not_constructible() -> None:
    batch = _decode_one(_core.encode_record_batch([REC]))
    with pytest.raises(AttributeError):
        batch.base_offset = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        _core.RecordBatch()  # type: ignore[call-arg]
    assert len(batch) == 1
    assert repr(batch).startswith("RecordBatch(base_offset=0, last_offset=0, records=1, magic=2")


def test_decode_argument_types() -> None:
    with pytest.raises(TypeError):
        _core.decode_record_batches("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _core.decode_record_batches(bytearray(8))  # type: ignore[arg-type]
    assert _core.decode_record_batches(b"") == ([], 0)


def test_threads_share_the_codec_safely() -> None:
    """Large batches run without the GIL; several threads at once must still get exact results."""
    rows = [(b"key%d" % i, bytes([i % 251]) * 300, [("i", b"%d" % i)], i) for i in range(600)]
    expected = {
        codec: _decode_one(_core.encode_record_batch(rows, compression=codec)).records
        for codec in ("none", "lz4", "zstd", "gzip", "snappy")
    }
    failures: list[str] = []

    def work(codec: str) -> None:
        for _ in range(10):
            data = _core.encode_record_batch(rows, compression=codec)
            if _decode_one(data).records != expected[codec]:
                failures.append(codec)
            if _core.crc32c(data) != _core.crc32c(bytes(data)):
                failures.append(codec + " crc")

    threads = [threading.Thread(target=work, args=(c,)) for c in expected for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive()
    assert failures == []


def test_corrupt_error_for_invalid_compressed_data() -> None:
    with pytest.raises(CorruptRecordError):
        _core.decompress("lz4", b"definitely not an lz4 frame")
    with pytest.raises(CorruptRecordError):
        _core.decompress("none", b"12345", 4)
