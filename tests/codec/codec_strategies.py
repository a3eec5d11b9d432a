"""Hypothesis strategies and helpers shared by the codec tests (not a test module).

``KAFFE_CODEC_EXAMPLES`` scales every property test's example count: the default keeps the whole
codec suite to about a minute on two cores; set it higher (e.g. 1000) for a thorough run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}

_SCALE = float(os.environ.get("KAFFE_CODEC_EXAMPLES", "1"))

F = TypeVar("F", bound=Callable[..., Any])


def examples(n: int) -> Callable[[F], F]:
    """Hypothesis settings for a property test: ``n`` examples (times the scale), no deadline."""
    return settings(  # type: ignore[return-value]
        max_examples=max(1, int(n * _SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


Payload = bytes | str | None
HeaderIn = tuple[str, Payload]


@dataclass
class RecordIn:
    """One input record plus what decoding it must give back."""

    key: Payload
    value: Payload
    headers: list[HeaderIn]
    timestamp: int

    def as_tuple(self) -> tuple[Payload, Payload, list[HeaderIn], int]:
        """The tuple ``encode_record_batch`` takes."""
        return (self.key, self.value, self.headers, self.timestamp)


def as_bytes(payload: Payload) -> bytes | None:
    """What a key/value/header value looks like after a round trip (str comes back UTF-8)."""
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return payload


@dataclass
class BatchSpec:
    """Arguments for one ``encode_record_batch`` call."""

    records: list[RecordIn]
    options: dict[str, Any] = field(default_factory=dict)

    def record_tuples(self) -> list[tuple[Payload, Payload, list[HeaderIn], int]]:
        """The records as ``encode_record_batch`` takes them."""
        return [r.as_tuple() for r in self.records]


def _seeded_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


small_bytes = st.binary(max_size=64)
payloads: st.SearchStrategy[Payload] = st.one_of(
    st.none(), st.just(b""), small_bytes, st.text(max_size=32)
)
#: Values up to ~1 MiB, drawn rarely (they are generated from a seed, not by Hypothesis).
large_bytes = st.builds(_seeded_bytes, st.integers(64 * 1024, 1024 * 1024), st.integers(0, 2**32))
header_keys = st.text(max_size=16)
headers = st.lists(st.tuples(header_keys, payloads), max_size=4)
timestamps = st.one_of(
    st.just(-1),
    st.integers(0, 2**45),
    st.integers(-(2**63), 2**63 - 1),
)


@st.composite
def records(draw: st.DrawFn, min_size: int = 1, max_size: int = 12) -> list[RecordIn]:
    """A list of records; timestamps are usually close together, sometimes anywhere."""
    n = draw(st.integers(min_size, max_size))
    base = draw(timestamps)
    spread = draw(st.sampled_from([0, 5, 10_000, None]))
    out = []
    for _ in range(n):
        if spread is None:
            ts = draw(timestamps)
        else:
            ts = max(-(2**63), min(2**63 - 1, base + draw(st.integers(-spread, spread))))
        out.append(RecordIn(draw(payloads), draw(payloads), draw(headers), ts))
    return out


int16 = st.integers(-(2**15), 2**15 - 1)
int32 = st.integers(-(2**31), 2**31 - 1)
int64 = st.integers(-(2**63), 2**63 - 1)


@st.composite
def batch_options(draw: st.DrawFn, codecs: Sequence[str] = CODECS) -> dict[str, Any]:
    """Random keyword options for ``encode_record_batch`` (only valid ones)."""
    opts: dict[str, Any] = {}
    codec = draw(st.sampled_from(list(codecs)))
    opts["compression"] = draw(st.sampled_from([codec, codec.upper(), CODEC_IDS[codec]]))
    if draw(st.booleans()):
        opts["base_offset"] = draw(st.integers(0, 2**62))
    if draw(st.booleans()):
        opts["timestamp_type"] = draw(st.sampled_from(["create", "append"]))
    if draw(st.booleans()):
        opts["transactional"] = draw(st.booleans())
    if draw(st.booleans()):
        opts["control"] = draw(st.booleans())
    if draw(st.booleans()):
        opts["producer_id"] = draw(int64)
        opts["producer_epoch"] = draw(int16)
        opts["base_sequence"] = draw(int32)
    if draw(st.booleans()):
        opts["partition_leader_epoch"] = draw(int32)
    if draw(st.booleans()):
        opts["max_timestamp"] = draw(int64)
    if draw(st.booleans()):
        level = {
            "none": None,
            "snappy": None,
            "gzip": draw(st.sampled_from([-1, *range(1, 10)])),
            "lz4": draw(st.integers(1, 17)),
            "zstd": draw(st.integers(-5, 19)),
        }[codec]
        if level is not None:
            opts["compression_level"] = level
    return opts


@st.composite
def batch_specs(draw: st.DrawFn, codecs: Sequence[str] = CODECS) -> BatchSpec:
    """Records plus options for one batch."""
    return BatchSpec(draw(records()), draw(batch_options(codecs)))


def check_batch(batch: Any, spec: BatchSpec, base_offset: int | None = None) -> None:
    """Assert that a decoded ``RecordBatch`` matches what ``spec`` encoded."""
    opts = spec.options
    recs = spec.records
    expected_base = opts.get("base_offset", 0) if base_offset is None else base_offset
    codec = opts.get("compression", "none")
    codec_name = codec if isinstance(codec, int) else codec.lower()
    if isinstance(codec_name, int):
        codec_name = CODECS[codec_name]
    log_append = opts.get("timestamp_type", "create") == "append"
    max_ts = opts.get("max_timestamp")
    if max_ts is None:
        max_ts = max(r.timestamp for r in recs)

    assert batch.magic == 2
    assert batch.base_offset == expected_base
    assert batch.last_offset == expected_base + len(recs) - 1
    assert len(batch) == len(recs)
    assert batch.compression == codec_name
    assert batch.timestamp_type == ("append" if log_append else "create")
    assert batch.is_transactional == opts.get("transactional", False)
    assert batch.is_control == opts.get("control", False)
    assert batch.producer_id == opts.get("producer_id", -1)
    assert batch.producer_epoch == opts.get("producer_epoch", -1)
    assert batch.base_sequence == opts.get("base_sequence", -1)
    assert batch.partition_leader_epoch == opts.get("partition_leader_epoch", -1)
    assert batch.base_timestamp == recs[0].timestamp
    assert batch.max_timestamp == max_ts
    assert batch.attributes & 0x07 == CODECS.index(codec_name)
    assert len(batch.records) == len(recs)
    for i, (got, want) in enumerate(zip(batch.records, recs, strict=True)):
        offset, ts, key, value, hdrs = got
        assert offset == expected_base + i
        assert ts == (max_ts if log_append else want.timestamp)
        assert key == as_bytes(want.key)
        assert value == as_bytes(want.value)
        assert list(hdrs) == [(k, as_bytes(v)) for k, v in want.headers]
