"""Pure parts of the producer's MESSAGE_TOO_LARGE recovery: cutting a batch's chunks in two
(:func:`kaffe._producer.accumulator.halve`) and resolving a cut chunk from its parts."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kaffe
from kaffe._producer.accumulator import Chunk, halve
from kaffe._producer.messages import Record, normalize, record_size


def _chunks(loop: asyncio.AbstractEventLoop, lengths: list[list[int]]) -> list[Chunk]:
    out = []
    n = 0
    for sizes in lengths:
        records: list[Record] = []
        for size in sizes:
            records.append((None, f"{n}:".encode().ljust(size, b"."), (), 0))
            n += 1
        total = sum(record_size(r) for r in records)
        out.append(Chunk(records, total, loop.create_future(), 10.0))
    return out


@given(
    st.lists(
        st.lists(st.integers(min_value=4, max_value=5000), min_size=1, max_size=8),
        min_size=1,
        max_size=6,
    ).filter(lambda cs: sum(len(c) for c in cs) >= 2)
)
def test_halve_keeps_order_and_cuts_in_at_least_two(lengths: list[list[int]]) -> None:
    loop = asyncio.new_event_loop()
    try:
        chunks = _chunks(loop, lengths)
        runs = halve(chunks)
        flat = [r for run in runs for c in run for r in c.records]
        assert flat == [r for c in chunks for r in c.records]
        assert len(runs) >= 2
        assert all(run and all(c.records for c in run) for run in runs)
        total = sum(c.size for c in chunks)
        for run in runs:
            size = sum(c.size for c in run)
            n = sum(len(c.records) for c in run)
            assert size <= (total + 1) // 2 or n == 1  # a run over half is one record
        # A chunk is kept whole in one run, or replaced by parts spread over several runs.
        for c in chunks:
            whole = sum(1 for run in runs for x in run if x is c)
            assert whole <= 1
            if whole == 0:
                holders = [run for run in runs if any(x.records[0] in c.records for x in run)]
                assert len(holders) >= 2
    finally:
        loop.close()


def test_record_size_matches_normalize() -> None:
    records, sizes = normalize(
        [("k", "v"), (None, b"x" * 100, [("h", "1"), ("n", None)]), {"value": None}], ts=1
    )
    assert [record_size(r) for r in records] == sizes


def _cut_chunk(loop: asyncio.AbstractEventLoop) -> tuple[Chunk, list[Chunk]]:
    """One chunk of two equal records: halve must cut it into two parts."""
    (chunk,) = _chunks(loop, [[1000, 1000]])
    runs = halve([chunk])
    parts = [c for run in runs for c in run]
    assert len(parts) == 2
    assert all(p is not chunk for p in parts)
    return chunk, parts


def test_cut_chunk_resolves_to_its_first_parts_offset_when_all_parts_succeed() -> None:
    async def main() -> int:
        chunk, (first, second) = _cut_chunk(asyncio.get_running_loop())
        second.future.set_result(41)
        await asyncio.sleep(0)
        assert not chunk.future.done()
        first.future.set_result(40)
        return await asyncio.wait_for(chunk.future, 5)

    assert asyncio.run(main()) == 40


def test_cut_chunk_fails_with_a_failed_parts_error() -> None:
    async def main() -> None:
        chunk, (first, second) = _cut_chunk(asyncio.get_running_loop())
        first.future.set_result(40)
        second.future.set_exception(kaffe.MessageTooLargeError("t/0: too large"))
        await asyncio.wait_for(chunk.future, 5)

    with pytest.raises(kaffe.MessageTooLargeError, match="t/0"):
        asyncio.run(main())
