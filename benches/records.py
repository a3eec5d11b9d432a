"""Record-batch encode/decode throughput: kaffe against aiokafka (C extension) and kafka-python.

Every library encodes the same records (``--records`` of them, ``--value-size``-byte values,
random ~10-byte keys, millisecond timestamps that advance every 200 records) into v2 batches of
``--batch-size`` records, and decodes the same kaffe-written bytes, fed ``--fetch-batches``
batches at a time as a fetch response would carry them. Rows:

* ``encode``: records (``(key, value, headers, timestamp)`` tuples) to batch bytes. kaffe takes a
  whole batch per call; the peers' builders take one ``append`` call per record (their API).
* ``decode``: one fetch's bytes to per-record Python objects, all of the fetch's records alive
  at the end (as a consumer holds them until it has handed them on). kaffe returns
  ``(offset, timestamp, key, value, headers)`` tuples; the peers' readers are iterated into
  lists of their record objects (the cheapest complete decode they offer).
* ``decode+read``: the same, then read every record's offset, timestamp, key, value and
  headers, which is what a consumer does (tuple unpacking for kaffe, attributes for the peers).

Holding a fetch's records matters: the peers' record objects are tracked by Python's cycle
collector, which then walks them again and again while more are allocated; kaffe's record
tuples hold only immutable atoms and are untracked at creation.

Each measurement is the best of ``--repeat`` runs, timed with ``--clock``: ``wall``
(``perf_counter``, the default) or ``cpu`` (this thread's CPU time, steadier on a busy machine;
all the work is on the calling thread). A sample of batches is checked for
correctness (kaffe against the input, the peers against kaffe) before anything is timed.
Run: ``python benches/records.py [--records N]`` (``make bench-records`` builds kaffe first).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from kaffe import _core

CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}

Record = tuple[bytes, bytes, list[tuple[str, bytes]], int]


@dataclass
class Peer:
    """A library under test: how it encodes a batch and decodes a fetch-sized chunk."""

    name: str
    encode: Callable[[Sequence[Record], int, str], Any]
    decode: Callable[[bytes], int]
    decode_read: Callable[[bytes], int]


# ---------------------------------------------------------------------------------------------
# kaffe


def kaffe_encode(records: Sequence[Record], base_offset: int, codec: str) -> bytes:
    return _core.encode_record_batch(records, base_offset=base_offset, compression=codec)


def kaffe_decode(data: bytes) -> int:
    batches, _ = _core.decode_record_batches(data)
    return sum(len(b.records) for b in batches)


def kaffe_decode_read(data: bytes) -> int:
    batches, _ = _core.decode_record_batches(data)
    n = 0
    for batch in batches:
        for offset, ts, key, value, headers in batch.records:
            _row = (offset, ts, key, value, headers)
            n += 1
    return n


# ---------------------------------------------------------------------------------------------
# the peers: aiokafka and kafka-python share one builder/reader shape


def _builder_peer(
    name: str, new_builder: Callable[[str], Any], memory_records: Callable[[bytes], Any]
) -> Peer:
    """A peer whose batches are built by ``append`` calls on ``new_builder(codec)`` and read by
    iterating ``memory_records(data).next_batch()`` (kafka-python's API, which aiokafka kept)."""

    def encode(records: Sequence[Record], base_offset: int, codec: str) -> Any:
        builder = new_builder(codec)
        append = builder.append
        for i, (key, value, headers, ts) in enumerate(records):
            append(i, ts, key, value, headers)
        return builder.build()

    def decode_kept(data: bytes) -> list[list[Any]]:
        records = memory_records(data)
        kept = []
        while (batch := records.next_batch()) is not None:
            kept.append(list(batch))
        return kept

    def decode(data: bytes) -> int:
        return sum(len(batch) for batch in decode_kept(data))

    def decode_read(data: bytes) -> int:
        n = 0
        for batch in decode_kept(data):
            for r in batch:
                _row = (r.offset, r.timestamp, r.key, r.value, r.headers)
                n += 1
        return n

    return Peer(name, encode, decode, decode_read)


# ---------------------------------------------------------------------------------------------
# aiokafka (C extension)


def make_aiokafka() -> Peer:
    from aiokafka.record import _crecords
    from aiokafka.record import default_records as aio_default
    from aiokafka.record import memory_records as aio_memory

    builder_cls = aio_default.DefaultRecordBatchBuilder
    memory_records = aio_memory.MemoryRecords
    if builder_cls is not _crecords.DefaultRecordBatchBuilder or (
        memory_records is not _crecords.MemoryRecords
    ):
        sys.exit("aiokafka is not using its C extension (is AIOKAFKA_NO_EXTENSIONS set?)")

    return _builder_peer(
        "aiokafka (C)",
        lambda codec: builder_cls(2, CODEC_IDS[codec], 0, -1, -1, -1, 1 << 30),
        memory_records,
    )


# ---------------------------------------------------------------------------------------------
# kafka-python


def make_kafka_python() -> Peer:
    from kafka.record.default_records import DefaultRecordBatchBuilder
    from kafka.record.memory_records import MemoryRecords

    return _builder_peer(
        "kafka-python",
        lambda codec: DefaultRecordBatchBuilder(2, CODEC_IDS[codec], False, -1, -1, -1, 1 << 30),
        MemoryRecords,
    )


# ---------------------------------------------------------------------------------------------
# Data, checks, timing


def make_records(n: int, value_size: int, values: str, seed: int) -> list[Record]:
    """``n`` records: random ~10-byte keys, ``value_size``-byte values, no headers."""
    rng = random.Random(seed)
    start_ms = 1_700_000_000_000
    out: list[Record] = []
    words = [b"alpha", b"beta", b"gamma", b"delta", b"kafka", b"kaffe", b"order", b"user"]
    letters = b"abcdefghijklmnopqrstuvwxyz "
    text_pool = bytes(rng.choice(letters) for _ in range(1 << 16))
    for i in range(n):
        key = rng.randbytes(rng.randint(8, 12))
        if values == "random":
            value = rng.randbytes(value_size)
        else:
            # JSON-like text: compressible, as real payloads usually are.
            text = b'{"id":%d,"user":"%s","kind":"%s","amount":%d.%02d,"note":"' % (
                i,
                rng.choice(words),
                rng.choice(words),
                rng.randint(0, 99_999),
                rng.randint(0, 99),
            )
            at = rng.randrange(len(text_pool) - value_size)
            pad = text_pool[at : at + value_size]
            value = (text + pad)[: value_size - 2] + b'"}'
        out.append((key, value, [], start_ms + i // 200))
    return out


def chunks(seq: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [seq[i : i + size] for i in range(0, len(seq), size)]


def check(peers: list[Peer], records: list[Record], batch_size: int, codec: str) -> None:
    """Correctness before speed: kaffe's batches decode to the input, every peer's batches
    decode (with kaffe) to the same records, and every peer reads kaffe's batches the same."""
    sample = records[: batch_size * 3]
    batches = chunks(sample, batch_size)
    data = b"".join(kaffe_encode(b, i * batch_size, codec) for i, b in enumerate(batches))
    decoded, consumed = _core.decode_record_batches(data)
    assert consumed == len(data)
    got = [r for b in decoded for r in b.records]
    want = [(i, ts, k, v, ()) for i, (k, v, _, ts) in enumerate(sample)]
    assert got == want, "kaffe round trip mismatch"
    for peer in peers[1:]:
        own = bytes(peer.encode(batches[0], 0, codec))
        (own_batch,), _ = _core.decode_record_batches(own)
        assert own_batch.records == want[:batch_size], f"{peer.name} batch reads back wrongly"
        assert peer.decode(data) == len(sample), f"{peer.name} miscounts kaffe's batches"
    from aiokafka.record.memory_records import MemoryRecords

    aio_rows = []
    reader = MemoryRecords(data)
    while (batch := reader.next_batch()) is not None:
        aio_rows.extend((r.offset, r.timestamp, r.key, r.value, tuple(r.headers)) for r in batch)
    assert aio_rows == want, "aiokafka reads kaffe's batches differently"


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.thread_time}
clock = time.perf_counter


def best_of(repeat: int, run: Callable[[], int], expected: int) -> float:
    """Best time of ``repeat`` runs of ``run`` (which returns how many records it did)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = clock()
        done = run()
        elapsed = clock() - start
        assert done == expected, f"processed {done} records, expected {expected}"
        best = min(best, elapsed)
    return best


def measure(
    peer: Peer,
    records: list[Record],
    batch_size: int,
    fetch_batches: int,
    codec: str,
    fetches: list[bytes],
    repeat: int,
) -> dict[str, float]:
    """Records per second for encode, decode and decode+read."""
    batches = chunks(records, batch_size)
    n = len(records)

    def encode_all() -> int:
        for i, batch in enumerate(batches):
            peer.encode(batch, i * batch_size, codec)
        return n

    def decode_all() -> int:
        return sum(peer.decode(f) for f in fetches)

    def decode_read_all() -> int:
        return sum(peer.decode_read(f) for f in fetches)

    return {
        "encode": n / best_of(repeat, encode_all, n),
        "decode": n / best_of(repeat, decode_all, n),
        "decode+read": n / best_of(repeat, decode_read_all, n),
    }


def fmt_rate(rate: float) -> str:
    if rate >= 1e6:
        return f"{rate / 1e6:.2f} M/s"
    return f"{rate / 1e3:.0f} k/s"


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records per run")
    parser.add_argument("--batch-size", type=int, default=1000, help="records per batch")
    parser.add_argument("--value-size", type=int, default=100, help="bytes per value")
    parser.add_argument(
        "--values", choices=["text", "random"], default="text", help="value contents"
    )
    parser.add_argument(
        "--fetch-batches", type=int, default=10, help="batches per decode call (one fetch)"
    )
    parser.add_argument("--codecs", default="none,lz4,zstd", help="comma-separated codecs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best)")
    parser.add_argument("--no-kafka-python", action="store_true", help="skip kafka-python")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall", help="timer")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    global clock
    clock = CLOCKS[args.clock]
    if args.records < args.batch_size:
        parser.error("--records must be at least --batch-size")

    peers = [Peer("kaffe", kaffe_encode, kaffe_decode, kaffe_decode_read), make_aiokafka()]
    if not args.no_kafka_python:
        peers.append(make_kafka_python())
    codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]

    print(
        f"records={args.records:,} batch={args.batch_size} value={args.value_size} B "
        f"({args.values}) fetch={args.fetch_batches} batches/call repeat={args.repeat} "
        f"clock={args.clock}"
    )
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"kaffe {version('kaffe')}, aiokafka {version('aiokafka')} (C extension), "
        f"kafka-python {version('kafka-python')}"
    )
    records = make_records(args.records, args.value_size, args.values, args.seed)

    results: dict[tuple[str, str], dict[str, float]] = {}
    for codec in codecs:
        check(peers, records, args.batch_size, codec)
        encoded = [
            kaffe_encode(b, i * args.batch_size, codec)
            for i, b in enumerate(chunks(records, args.batch_size))
        ]
        fetches = [b"".join(group) for group in chunks(encoded, args.fetch_batches)]
        size = sum(len(e) for e in encoded)
        print(f"  {codec}: {len(encoded)} batches, {size / len(encoded) / 1024:.1f} KiB each")
        for peer in peers:
            results[(codec, peer.name)] = measure(
                peer,
                records,
                args.batch_size,
                args.fetch_batches,
                codec,
                fetches,
                args.repeat,
            )

    others = [p.name for p in peers[1:]]
    header = ["operation", "codec", "kaffe"]
    for name in others:
        header += [name, f"x vs {name}"]
    rows = [header]
    for op in ("encode", "decode", "decode+read"):
        for codec in codecs:
            ours = results[(codec, "kaffe")][op]
            row = [op, codec, fmt_rate(ours)]
            for name in others:
                theirs = results[(codec, name)][op]
                row += [fmt_rate(theirs), f"{ours / theirs:.1f}x"]
            rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    print()
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
