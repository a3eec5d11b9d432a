"""Runs inside a fresh virtualenv that holds only the installed wheel (stdlib and kaffe).

    python -I probe.py import                 the import check
    python -I probe.py roundtrip HOST:PORT    produce and consume through a real broker

``-I`` keeps this file's directory, ``PYTHONPATH`` and the user site out of ``sys.path``, so the
only kaffe it can find is the one pip installed. Exits non-zero (an ``AssertionError`` with the
reason) when a check fails.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
import sysconfig
import threading
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType

OTHER_CLIENTS = frozenset({"confluent_kafka", "aiokafka", "kafka"})
ROUND_TRIP_MESSAGES = 2_000
ROUND_TRIP_PARTITIONS = 3
DEADLINE_S = 120.0


def _installed_file(module: ModuleType) -> Path:
    site = Path(sysconfig.get_paths()["platlib"]).resolve()
    where = Path(str(module.__file__)).resolve()
    assert site in where.parents, f"{module.__name__} was imported from {where}, not from {site}"
    return where


def check_import() -> None:
    """kaffe, kaffe.aio and kaffe._core import from site-packages, with no Rust and no peer."""
    for tool in ("cargo", "rustc"):
        found = shutil.which(tool)
        assert found is None, f"{tool} is on PATH ({found}); the check must run without Rust"

    import kaffe
    import kaffe._core
    import kaffe.aio

    files = {m.__name__: _installed_file(m) for m in (kaffe, kaffe.aio, kaffe._core)}
    loaded = sorted(OTHER_CLIENTS & {name.partition(".")[0] for name in sys.modules})
    assert not loaded, f"importing kaffe loaded other Kafka clients: {loaded}"
    assert kaffe.__version__ == importlib.metadata.version("kaffe"), kaffe.__version__

    batch = kaffe._core.encode_record_batch(
        [(b"k", b"v", [("h", b"x")], 1_700_000_000_000)], base_offset=7, compression="zstd"
    )
    (decoded,), consumed = kaffe._core.decode_record_batches(batch)
    assert consumed == len(batch)
    assert decoded.records[0] == (7, 1_700_000_000_000, b"k", b"v", (("h", b"x"),))

    print(f"import ok on Python {sys.version.split()[0]}: kaffe {kaffe.__version__}")
    for name, where in files.items():
        print(f"  {name:<12} {where}")


def round_trip(bootstrap: str) -> None:
    """Create a topic, produce to it, consume everything back with a group, delete it."""
    import kaffe

    topic = f"wheelcheck-{os.getpid()}-{time.time_ns()}"
    sent = {(f"k{i}".encode(), f"v{i}".encode()) for i in range(ROUND_TRIP_MESSAGES)}
    with kaffe.AdminClient(endpoints=bootstrap) as admin:
        admin.create_topic(topic, partitions=ROUND_TRIP_PARTITIONS)
    try:
        with kaffe.Producer(endpoints=bootstrap, topics=[topic], compression="zstd") as producer:
            producer.produce_sync(topic, sorted(sent))

        received: list[kaffe.Message] = []
        lock = threading.Lock()
        done = threading.Event()

        class Collector:
            def handle_messages(self, messages: list[kaffe.Message]) -> None:
                with lock:
                    received.extend(messages)
                    if len(received) >= ROUND_TRIP_MESSAGES:
                        done.set()

        member = kaffe.GroupMemberSupervisor(
            endpoints=bootstrap,
            topics=[topic],
            consumer_group=topic,
            message_handler=Collector(),
            start_with_earliest_message=True,
            rebalance_delay_ms=0,
        )
        with member:
            assert done.wait(DEADLINE_S), f"consumed {len(received)} of {len(sent)}"
        with lock:
            got = list(received)
    finally:
        with kaffe.AdminClient(endpoints=bootstrap) as admin:
            admin.delete_topic(topic)

    assert len(got) == len(sent), f"{len(got)} messages back for {len(sent)} sent"
    assert {(m.key, m.value) for m in got} == sent, "the consumed messages differ from the sent"
    offsets: dict[int, list[int]] = defaultdict(list)
    for m in got:
        offsets[m.partition].append(m.offset)
    for partition, seen in offsets.items():
        assert seen == list(range(len(seen))), f"partition {partition} out of order: {seen[:10]}"
    print(
        f"round trip ok: {len(got)} messages through {len(offsets)} partitions of {topic} "
        f"at {bootstrap}"
    )


def main(argv: list[str]) -> int:
    """Dispatch ``import`` or ``roundtrip HOST:PORT``."""
    if argv == ["import"]:
        check_import()
    elif len(argv) == 2 and argv[0] == "roundtrip":
        round_trip(argv[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
