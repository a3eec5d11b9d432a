"""Hostile record-batch inputs, shared by test_fuzz.py (not a test module).

Run as a script, it decodes every hostile input and decompression bomb under an address-space
limit (``RLIMIT_AS``) of the current size plus ``--headroom-mib``: a decoder that trusts a length
field or materialises a bomb fails its allocation and aborts the process, which the calling test
sees as a non-zero exit status. A decoder that handles the failed allocation and reports it
as ``CorruptRecordError`` is caught too: the error must come from a check of the input, so a
message that mentions memory or allocation counts as a failure. It prints one line per case and
``ALL OK`` at the end.
"""

from __future__ import annotations

import argparse
import gzip
import re
import resource
import struct
import sys
import zlib
from collections.abc import Callable, Iterator

import crc32c as crc32c_pkg
import lz4.frame
import snappy
import zstandard

from kaffe import CorruptRecordError, _core

_ALLOCATION_FAILURE = re.compile(r"memory|alloc", re.IGNORECASE)

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
HEADER_SIZE = 61
ATTRIBUTES_AT = 21
CRC_AT = 17
LENGTH_AT = 8
RECORD_COUNT_AT = 57


def zigzag_varint(value: int) -> bytes:
    """Kafka's signed varint (zigzag, then base-128 little-endian groups)."""
    n = ((value << 1) ^ (value >> 63)) & ((1 << 64) - 1)
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if not n:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def v2_batch(section: bytes, count: int, *, attributes: int = 0) -> bytes:
    """A v2 batch around an arbitrary records section, with a correct length and CRC-32C (so
    the decoder gets past the CRC check to the part under test)."""
    body = struct.pack(
        ">hiqqqhii",
        attributes,
        max(count - 1, 0),  # last offset delta
        1_700_000_000_000,
        1_700_000_000_000,
        -1,
        -1,
        -1,
        count,
    )
    body += section
    crc = crc32c_pkg.crc32c(body)
    return struct.pack(">qiibI", 0, 4 + 1 + 4 + len(body), -1, 2, crc) + body


def with_crc(batch: bytes | bytearray) -> bytes:
    """``batch`` with its CRC-32C recomputed."""
    out = bytearray(batch)
    out[CRC_AT : CRC_AT + 4] = struct.pack(">I", crc32c_pkg.crc32c(bytes(out[ATTRIBUTES_AT:])))
    return bytes(out)


def record(body: bytes) -> bytes:
    """A record: its length prefix, then ``body``."""
    return zigzag_varint(len(body)) + body


#: Record bodies (after the length prefix) with one hostile field each.
HOSTILE_RECORD_BODIES = {
    "key length 2^31-1": b"\x00\x00\x00" + zigzag_varint(2**31 - 1) + b"k",
    "key length -2^31": b"\x00\x00\x00" + zigzag_varint(-(2**31)),
    "key length -2": b"\x00\x00\x00" + zigzag_varint(-2),
    "value length 2^31-1": b"\x00\x00\x00\x02k" + zigzag_varint(2**31 - 1) + b"v",
    "header count 2^31-1": b"\x00\x00\x00\x02k\x02v" + zigzag_varint(2**31 - 1),
    "header count -5": b"\x00\x00\x00\x02k\x02v" + zigzag_varint(-5),
    "header key length 2^31-1": b"\x00\x00\x00\x02k\x02v\x02" + zigzag_varint(2**31 - 1) + b"h",
    "null header key": b"\x00\x00\x00\x02k\x02v\x02" + zigzag_varint(-1) + b"\x00",
    "header value length 2^31-1": b"\x00\x00\x00\x02k\x02v\x02\x02h" + zigzag_varint(2**31 - 1),
    "11-byte varlong": b"\x00" + b"\xff" * 10 + b"\x01\x00",
    "6-byte varint": b"\x00\x00" + b"\xff" * 5 + b"\x01\x00\x00\x00",
    "header key not UTF-8": b"\x00\x00\x00\x02k\x02v\x02\x04\xff\xfe\x00",
    "bytes left inside the record": b"\x00\x00\x00\x02k\x02v\x00trailing",
}


def hostile_batches() -> Iterator[tuple[str, bytes]]:
    """``(name, data)`` pairs that must each raise ``CorruptRecordError``."""
    one = _core.encode_record_batch([(b"k", b"v", [], 1)])[HEADER_SIZE:]
    for count in (2**31 - 1, 2**30, 10_000_000, -1, -(2**31)):
        for codec in ("none", "zstd"):
            section = one if codec == "none" else _core.compress(codec, one)
            yield (
                f"record count {count} ({codec})",
                v2_batch(section, count, attributes=CODECS.index(codec)),
            )
    for name, body in HOSTILE_RECORD_BODIES.items():
        for codec in ("none", "lz4"):
            section = record(body)
            if codec != "none":
                section = _core.compress(codec, section)
            yield f"{name} ({codec})", v2_batch(section, 1, attributes=CODECS.index(codec))
    for length in (2**31 - 1, -(2**31), 1 << 40, 10_000):
        section = zigzag_varint(length) + b"\x00\x00\x00\x02k\x02v\x00"
        yield f"record length prefix {length}", v2_batch(section, 1)


def _zero_chunks(total: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    zeros = bytes(chunk)
    for _ in range(total // chunk):
        yield zeros


def bombs(size: int) -> dict[str, tuple[str, bytes]]:
    """``name -> (codec, data)``: compressed streams that expand to ``size`` zero bytes, built
    in 1 MiB steps so building them does not need ``size`` bytes of memory."""
    zstd_stream = zstandard.ZstdCompressor(level=3).compressobj()
    zstd_data = b"".join(zstd_stream.compress(c) for c in _zero_chunks(size)) + zstd_stream.flush()

    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    gzip_data = b"".join(deflate.compress(c) for c in _zero_chunks(size)) + deflate.flush()

    lz4_stream = lz4.frame.LZ4FrameCompressor(block_size=lz4.frame.BLOCKSIZE_MAX64KB)
    lz4_data = lz4_stream.begin() + b"".join(lz4_stream.compress(c) for c in _zero_chunks(size))
    lz4_data += lz4_stream.flush()

    # xerial framing: magic, version 1, compatible 1, then (big-endian length, raw block)*.
    block = snappy.compress(bytes(32 * 1024))
    framed_block = struct.pack(">i", len(block)) + block
    snappy_data = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    snappy_data += framed_block * (size // (32 * 1024))

    return {
        "zstd": ("zstd", zstd_data),
        "zstd one-shot": ("zstd", zstandard.ZstdCompressor(level=3).compress(bytes(1 << 20))),
        "gzip": ("gzip", gzip_data),
        "gzip one-shot": ("gzip", gzip.compress(bytes(1 << 20))),
        "lz4": ("lz4", lz4_data),
        "snappy": ("snappy", snappy_data),
    }


def _vm_size_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def main() -> int:
    """Decode every hostile input under an address-space limit; exit 0 only if all raise."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bomb-mib", type=int, default=1024)
    parser.add_argument("--headroom-mib", type=int, default=256)
    parser.add_argument("--limit-mib", type=int, default=1)
    args = parser.parse_args()

    cases = list(hostile_batches())
    bomb_cases = bombs(args.bomb_mib << 20)
    limit = (args.limit_mib << 20) - 1  # the one-shot bombs expand to exactly limit_mib
    cap = _vm_size_bytes() + (args.headroom_mib << 20)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    failures = 0

    def check(name: str, call: Callable[..., object], *args: object, **kwargs: object) -> None:
        nonlocal failures
        try:
            call(*args, **kwargs)
        except CorruptRecordError as err:
            if _ALLOCATION_FAILURE.search(str(err)):
                failures += 1
                print(f"FAIL {name}: allocation failed under the cap: {err}")
            else:
                print(f"ok   {name}: {err}")
        else:
            failures += 1
            print(f"FAIL {name}: no error")

    for name, data in cases:
        check(name, _core.decode_record_batches, data)
    for name, (codec, data) in bomb_cases.items():
        batch = v2_batch(data, 1, attributes=CODECS.index(codec))
        check(
            f"bomb {name} via decompress ({len(data)} bytes)", _core.decompress, codec, data, limit
        )
        check(
            f"bomb {name} via decode_record_batches",
            _core.decode_record_batches,
            batch,
            max_decompressed_bytes=limit,
        )
    if failures:
        print(f"{failures} FAILED")
        return 1
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
