"""kaffe demo (for now: the local broker only, until kaffe's producer exists).

Starts a real single-node Kafka broker from the pinned Maven jars, creates the topic
``kaffe-demo`` with 6 partitions, prints the listeners and the topic, and stops everything.
Exit code 0 on success; non-zero with a clear message on any failure (the broker's logs are
then kept and their path printed).

Run with ``make demo`` or ``PYTHONPATH=tools .venv/bin/python examples/demo.py``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

_TOOLS = Path(__file__).resolve().parents[1] / "tools"
if str(_TOOLS) not in sys.path:
    sys.path.insert(0, str(_TOOLS))

from kafka_harness.broker import LocalBroker  # noqa: E402
from kafka_harness.jars import fetch  # noqa: E402

TOPIC = "kaffe-demo"
PARTITIONS = 6


def run() -> None:
    """Start the broker, create and describe the topic, stop the broker."""
    broker = LocalBroker(fetch())
    ok = False
    try:
        broker.start()
        print(f"Kafka {broker.version} is up (cluster {broker.cluster_id}):")
        for name, (host, port) in broker.listeners.items():
            print(f"  {name:<15} {host}:{port}")
        broker.admin.create_topic(TOPIC, PARTITIONS, 1)
        topic = broker.admin.describe_topic(TOPIC)
        print(f"topic {topic.name} ({topic.topic_id}): {len(topic.partitions)} partitions")
        for p in topic.partitions:
            print(f"  partition {p.partition}: leader {p.leader}, isr {list(p.isr)}")
        if len(topic.partitions) != PARTITIONS:
            raise RuntimeError(f"expected {PARTITIONS} partitions, got {len(topic.partitions)}")
        ok = True
    finally:
        broker.stop()
        if ok:
            broker.remove_run_dir()
        else:
            print(f"broker logs kept in {broker.run_dir}", file=sys.stderr)


def main() -> int:
    """Entry point; returns the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        run()
    except Exception as exc:
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("demo finished: broker stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
