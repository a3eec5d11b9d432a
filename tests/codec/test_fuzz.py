"""Fuzzing the decoders with hostile input: only kaffe's typed errors may come out.

Random bytes, mutated valid batches (bit flips, truncations, rewritten length fields), absurd
length fields and decompression bombs go into ``decode_record_batches`` and ``decompress``. The
only exceptions allowed are ``CorruptRecordError`` and ``UnsupportedCompressionTypeError``; a
panic would surface as ``pyo3_runtime.PanicException`` and fail the test; an abort kills the
test process. ``test_hostile_inputs_under_an_address_space_cap`` runs the hostile length fields
and 1 GiB bombs in a child process with a capped address space, so trusting a length field or
materialising a bomb fails an allocation there instead of passing unnoticed.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from codec_strategies import CODECS, BatchSpec, batch_specs, examples
from hostile_inputs import (
    ATTRIBUTES_AT,
    HEADER_SIZE,
    LENGTH_AT,
    RECORD_COUNT_AT,
    bombs,
    hostile_batches,
    v2_batch,
    with_crc,
)
from hypothesis import given
from hypothesis import strategies as st

from kaffe import CorruptRecordError, UnsupportedCompressionTypeError, _core

ALLOWED = (CorruptRecordError, UnsupportedCompressionTypeError)


def decode_or_typed_error(data: bytes, **kwargs: Any) -> None:
    """Decode ``data``; a typed kaffe error is fine, and so is success (checked for sanity)."""
    error: Exception | None = None
    try:
        batches, consumed = _core.decode_record_batches(data, **kwargs)
    except ALLOWED as err:
        error = err
    if error is not None:
        assert getattr(error, "retriable", None) is False
        return
    assert 0 <= consumed <= len(data)
    assert sum(b.size_in_bytes for b in batches) == consumed
    for batch in batches:
        assert len(batch) == len(batch.records)
        for offset, ts, key, value, headers in batch.records:
            assert isinstance(offset, int)
            assert isinstance(ts, int)
            assert key is None or isinstance(key, bytes)
            assert value is None or isinstance(value, bytes)
            assert all(isinstance(k, str) for k, _ in headers)


# ---------------------------------------------------------------------------------------------
# Random and mutated input


@examples(400)
@given(st.binary(max_size=512), st.booleans())
def test_random_bytes(data: bytes, check_crc: bool) -> None:
    decode_or_typed_error(data, check_crc=check_crc)


@examples(300)
@given(st.binary(min_size=61, max_size=400), st.sampled_from([0, 1, 2, 3, 7, 255]))
def test_random_bytes_with_a_plausible_frame(body: bytes, magic: int) -> None:
    # A length field that matches and a chosen magic byte, so the random bytes reach the parser.
    data = bytearray(body)
    data[LENGTH_AT : LENGTH_AT + 4] = struct.pack(">i", len(body) - 12)
    data[16] = magic
    decode_or_typed_error(bytes(data), check_crc=False)
    if magic == 2:
        decode_or_typed_error(with_crc(data))


@examples(300)
@given(batch_specs(), st.data())
def test_bit_flips(spec: BatchSpec, data: st.DataObject) -> None:
    batch = bytearray(_core.encode_record_batch(spec.record_tuples(), **spec.options))
    for _ in range(data.draw(st.integers(1, 4), label="flips")):
        bit = data.draw(st.integers(0, len(batch) * 8 - 1), label="bit")
        batch[bit // 8] ^= 1 << (bit % 8)
    decode_or_typed_error(bytes(batch))
    decode_or_typed_error(bytes(batch), check_crc=False)
    decode_or_typed_error(with_crc(batch))


@examples(200)
@given(batch_specs(), st.data())
def test_random_byte_rewrites_past_the_crc(spec: BatchSpec, data: st.DataObject) -> None:
    batch = bytearray(_core.encode_record_batch(spec.record_tuples(), **spec.options))
    for _ in range(data.draw(st.integers(1, 6), label="writes")):
        at = data.draw(st.integers(ATTRIBUTES_AT, len(batch) - 1), label="at")
        batch[at] = data.draw(st.integers(0, 255), label="byte")
    decode_or_typed_error(with_crc(batch))


@examples(200)
@given(batch_specs(), st.data())
def test_truncations_and_length_rewrites(spec: BatchSpec, data: st.DataObject) -> None:
    batch = _core.encode_record_batch(spec.record_tuples(), **spec.options)
    cut = data.draw(st.integers(0, len(batch)), label="cut")
    # A cut batch on its own is a partial batch: no error, nothing consumed.
    batches, consumed = _core.decode_record_batches(batch[:cut])
    if cut < len(batch):
        assert (batches, consumed) == ([], 0)
    else:
        assert (len(batches), consumed) == (1, len(batch))

    # The batch length field rewritten to anything: a typed error, a partial batch, or (when
    # it names a shorter batch) a decode of the bytes it covers.
    fake_len = data.draw(st.integers(-(2**31), 2**31 - 1), label="batch length")
    rewritten = bytearray(batch)
    rewritten[LENGTH_AT : LENGTH_AT + 4] = struct.pack(">i", fake_len)
    decode_or_typed_error(bytes(rewritten), check_crc=False)
    decode_or_typed_error(bytes(rewritten) + batch)

    # The record count rewritten, CRC fixed so the records section is really parsed.
    fake_count = data.draw(
        st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(0, len(spec.records) + 3)),
        label="record count",
    )
    recounted = bytearray(batch)
    recounted[RECORD_COUNT_AT : RECORD_COUNT_AT + 4] = struct.pack(">i", fake_count)
    decode_or_typed_error(with_crc(recounted))


@examples(100)
@given(batch_specs(codecs=["gzip", "snappy", "lz4", "zstd"]), st.data())
def test_corrupted_compressed_payloads(spec: BatchSpec, data: st.DataObject) -> None:
    batch = bytearray(_core.encode_record_batch(spec.record_tuples(), **spec.options))
    payload_len = len(batch) - HEADER_SIZE
    if data.draw(st.booleans(), label="truncate payload"):
        keep = data.draw(st.integers(0, payload_len), label="keep")
        batch = batch[: HEADER_SIZE + keep]
        batch[LENGTH_AT : LENGTH_AT + 4] = struct.pack(">i", len(batch) - 12)
    else:
        for _ in range(data.draw(st.integers(1, 8), label="writes")):
            at = data.draw(st.integers(HEADER_SIZE, len(batch) - 1), label="at")
            batch[at] = data.draw(st.integers(0, 255), label="byte")
    decode_or_typed_error(with_crc(batch), max_decompressed_bytes=1 << 20)


@examples(60)
@given(st.sampled_from(CODECS), st.binary(max_size=1024), st.integers(0, 1 << 16))
def test_decompress_random_bytes(codec: str, data: bytes, limit: int) -> None:
    error: CorruptRecordError | None = None
    try:
        out = _core.decompress(codec, data, limit)
    except CorruptRecordError as err:
        error = err
    if error is not None:
        assert error.retriable is False
    else:
        assert len(out) <= limit


@pytest.mark.parametrize("attributes", [5, 6, 7, 0x0D, 0x3F])
def test_undefined_codec_ids(attributes: int) -> None:
    # 5, 6 and 7 are not Kafka codecs; the other bits (timestamp type, transactional, control)
    # must not matter.
    batch = v2_batch(b"\x00" * 16, 1, attributes=attributes)
    with pytest.raises(UnsupportedCompressionTypeError) as info:
        _core.decode_record_batches(batch)
    assert info.value.code == 76


# ---------------------------------------------------------------------------------------------
# Hostile length fields and decompression bombs


def test_batch_length_of_2_31_minus_1_is_a_partial_batch() -> None:
    good = _core.encode_record_batch([(b"k", b"v", [], 1)])
    hostile = bytearray(good)
    hostile[LENGTH_AT : LENGTH_AT + 4] = (2**31 - 1).to_bytes(4, "big")
    assert _core.decode_record_batches(bytes(hostile)) == ([], 0)
    batches, consumed = _core.decode_record_batches(good + bytes(hostile))
    assert (len(batches), consumed) == (1, len(good))


@pytest.mark.parametrize(("name", "data"), list(hostile_batches()))
def test_hostile_fields(name: str, data: bytes) -> None:
    with pytest.raises(CorruptRecordError) as info:
        _core.decode_record_batches(data)
    assert info.value.retriable is False


@pytest.fixture(scope="module")
def small_bombs() -> dict[str, tuple[str, bytes]]:
    """Compressed inputs that expand to 64 MiB (the subprocess test uses 1 GiB ones)."""
    return bombs(64 << 20)


@pytest.mark.parametrize(
    "name", ["zstd", "zstd one-shot", "gzip", "gzip one-shot", "lz4", "snappy"]
)
def test_decompression_bombs_stop_at_the_limit(
    small_bombs: dict[str, tuple[str, bytes]], name: str
) -> None:
    codec, bomb = small_bombs[name]
    limit = (1 << 20) - 1  # the one-shot bombs expand to exactly 1 MiB
    with pytest.raises(CorruptRecordError) as info:
        _core.decompress(codec, bomb, limit)
    assert info.value.retriable is False
    with pytest.raises(CorruptRecordError):
        _core.decode_record_batches(
            v2_batch(bomb, 1, attributes=CODECS.index(codec)), max_decompressed_bytes=limit
        )
    # Exactly at the limit is fine.
    small = bytes(limit)
    assert _core.decompress(codec, _core.compress(codec, small), limit) == small


def test_hostile_inputs_under_an_address_space_cap() -> None:
    """Every hostile length field and 1 GiB bomb, in a child process whose address space is
    capped at its size plus 256 MiB: trusting a length or materialising a bomb would make an
    allocation fail and abort the child."""
    script = Path(__file__).with_name("hostile_inputs.py")
    result = subprocess.run(
        [sys.executable, str(script), "--bomb-mib", "1024", "--headroom-mib", "256"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("ALL OK")


def test_limits_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="limit"):
        _core.decompress("gzip", _core.compress("gzip", b"x"), -1)
    with pytest.raises(ValueError, match="max_decompressed_bytes"):
        _core.decode_record_batches(b"", max_decompressed_bytes=-1)
