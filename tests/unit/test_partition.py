"""Partitioners: Kaffe's md5 formula and Java's murmur2."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaffe import _core


def kaffe_md5_partition(key: bytes, count: int) -> int:
    """Kaffe's formula (lib/kaffe/partition_selector.ex), written out independently: the sum of
    the 16 bytes of md5(key), as unsigned integers, modulo the partition count."""
    return sum(hashlib.md5(key).digest()) % count


def test_md5_issue_acceptance_examples() -> None:
    assert _core.partition_md5(b"key8", 32) == 17
    assert _core.partition_md5(b"key12", 32) == 17


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 100_000))
def test_md5_matches_the_formula(key: bytes, count: int) -> None:
    assert _core.partition_md5(key, count) == kaffe_md5_partition(key, count)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=50), st.integers(1, 1000))
def test_bulk_partitioners_match_the_single_ones(keys: list[bytes], count: int) -> None:
    assert _core.partitions_md5(keys, count) == [kaffe_md5_partition(k, count) for k in keys]
    assert _core.partitions_murmur2(keys, count) == [
        _core.partition_murmur2(k, count) for k in keys
    ]
    assert _core.partitions_md5(tuple(keys), count) == _core.partitions_md5(keys, count)
    assert _core.partitions_md5(iter(keys), count) == _core.partitions_md5(keys, count)


# org.apache.kafka.common.utils.UtilsTest#testMurmur2: input -> Java's (signed) Utils.murmur2.
JAVA_MURMUR2_VECTORS = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]


@pytest.mark.parametrize(("key", "expected"), JAVA_MURMUR2_VECTORS)
def test_murmur2_java_vectors(key: bytes, expected: int) -> None:
    assert _core.murmur2(key) == expected
    # Java's default partitioner: toPositive(murmur2(key)) % numPartitions.
    for count in (1, 3, 12, 100):
        assert _core.partition_murmur2(key, count) == (expected & 0x7FFFFFFF) % count


@pytest.mark.parametrize(
    "func",
    [_core.partition_md5, _core.partition_murmur2, _core.partitions_md5, _core.partitions_murmur2],
)
@pytest.mark.parametrize("count", [0, -1, -(2**40)])
def test_partition_count_below_one_is_a_value_error(func: object, count: int) -> None:
    arg: object = [b"k"] if func in (_core.partitions_md5, _core.partitions_murmur2) else b"k"
    with pytest.raises(ValueError, match="partition count"):
        func(arg, count)  # type: ignore[operator]


def test_partition_count_too_large_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="too large"):
        _core.partition_md5(b"k", 2**32)


def test_partitions_in_range_for_every_count() -> None:
    keys = [b"key%d" % i for i in range(200)]
    for count in (1, 2, 7, 32, 1000):
        assert all(0 <= p < count for p in _core.partitions_md5(keys, count))
        assert all(0 <= p < count for p in _core.partitions_murmur2(keys, count))


def test_bulk_keys_must_be_bytes() -> None:
    with pytest.raises(TypeError, match=r"keys\[1\]: expected bytes, got str"):
        _core.partitions_md5([b"a", "b"], 3)
    with pytest.raises(TypeError, match=r"keys\[0\]"):
        _core.partitions_murmur2([None], 3)
    with pytest.raises(TypeError):
        _core.partition_md5("key", 3)  # type: ignore[arg-type]
