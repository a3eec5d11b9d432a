"""Property tests: whatever kaffe encodes, kaffe decodes back to the same records."""

from __future__ import annotations

import pytest
from codec_strategies import (
    CODECS,
    BatchSpec,
    RecordIn,
    as_bytes,
    batch_options,
    batch_specs,
    check_batch,
    examples,
    large_bytes,
    payloads,
)
from hypothesis import given
from hypothesis import strategies as st

from kaffe import _core


@examples(300)
@given(batch_specs())
def test_encode_decode_identity(spec: BatchSpec) -> None:
    data = _core.encode_record_batch(spec.record_tuples(), **spec.options)
    batches, consumed = _core.decode_record_batches(data)
    assert consumed == len(data)
    assert len(batches) == 1
    assert batches[0].size_in_bytes == len(data)
    check_batch(batches[0], spec)


@examples(100)
@given(batch_specs())
def test_decode_without_crc_check_gives_the_same(spec: BatchSpec) -> None:
    data = _core.encode_record_batch(spec.record_tuples(), **spec.options)
    (checked,), _ = _core.decode_record_batches(data)
    (unchecked,), consumed = _core.decode_record_batches(data, check_crc=False)
    assert consumed == len(data)
    assert unchecked.records == checked.records
    assert unchecked.crc == checked.crc


@examples(12)
@given(
    st.sampled_from(CODECS),
    st.lists(st.tuples(payloads, large_bytes), min_size=1, max_size=3),
)
def test_large_values_round_trip(codec: str, pairs: list[tuple[object, bytes]]) -> None:
    recs = [(k, v, [], 1_700_000_000_000 + i) for i, (k, v) in enumerate(pairs)]
    data = _core.encode_record_batch(recs, compression=codec)  # type: ignore[arg-type]
    (batch,), consumed = _core.decode_record_batches(data)
    assert consumed == len(data)
    assert batch.compression == codec
    assert [(r[2], r[3]) for r in batch.records] == [(as_bytes(k), v) for k, v, _, _ in recs]  # type: ignore[arg-type]


@examples(150)
@given(st.lists(batch_specs(), min_size=1, max_size=6), st.data())
def test_concatenated_batches_and_truncated_tails(
    specs: list[BatchSpec], data: st.DataObject
) -> None:
    encoded = [_core.encode_record_batch(s.record_tuples(), **s.options) for s in specs]
    whole = b"".join(encoded)
    batches, consumed = _core.decode_record_batches(whole)
    assert consumed == len(whole)
    assert len(batches) == len(specs)
    for batch, spec, raw in zip(batches, specs, encoded, strict=True):
        assert batch.size_in_bytes == len(raw)
        check_batch(batch, spec)

    # Cut anywhere: every batch that ends before the cut comes back, nothing else, no error.
    cut = data.draw(st.integers(0, len(whole)), label="cut")
    ends = []
    total = 0
    for raw in encoded:
        total += len(raw)
        ends.append(total)
    complete = sum(1 for end in ends if end <= cut)
    prefix, consumed = _core.decode_record_batches(whole[:cut])
    assert len(prefix) == complete
    assert consumed == (ends[complete - 1] if complete else 0)
    for batch, spec in zip(prefix, specs, strict=False):
        check_batch(batch, spec)


@examples(60)
@given(batch_options(), st.integers(1, 3000))
def test_many_records_per_batch(options: dict[str, object], n: int) -> None:
    spec = BatchSpec(
        [RecordIn(b"k%d" % i, b"v" * (i % 50), [], 1_000 + i // 7) for i in range(n)],
        dict(options),
    )
    data = _core.encode_record_batch(spec.record_tuples(), **spec.options)  # type: ignore[arg-type]
    (batch,), _ = _core.decode_record_batches(data)
    check_batch(batch, spec)


def test_decoded_record_shape() -> None:
    data = _core.encode_record_batch(
        [
            (b"k", "v\u00e9", [("h\u00e9", None), ("x", b"1"), ("s", "t")], 5),
            (None, None, [], 6),
        ]
    )
    (batch,), _ = _core.decode_record_batches(data)
    first, second = batch.records
    assert type(first) is tuple
    assert first == (0, 5, b"k", "v\u00e9".encode(), (("h\u00e9", None), ("x", b"1"), ("s", b"t")))
    assert type(first[4]) is tuple
    assert second == (1, 6, None, None, ())
    assert "RecordBatch(" in repr(batch)
    assert "v\u00e9" not in repr(batch)
    assert "b'k'" not in repr(batch)


@pytest.mark.parametrize("codec", CODECS)
def test_codec_ids_and_names_are_equivalent(codec: str) -> None:
    recs = [(b"key", b"value" * 20, [("a", b"b")], 1234)]
    by_name = _core.encode_record_batch(recs, compression=codec)
    by_id = _core.encode_record_batch(recs, compression=CODECS.index(codec))
    assert by_name == by_id
    (batch,), _ = _core.decode_record_batches(by_name)
    assert batch.compression == codec
    assert batch.records == [(0, 1234, b"key", b"value" * 20, (("a", b"b"),))]
