"""The soak sampler on real kaffe clients: the asyncio tasks of a started producer's and group
member's loop threads are counted from another thread, and a closed client adds none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration.group_support import (
    FAST,
    Collect,
    bootstrap_fixture,  # noqa: F401 - fixture
    group,
    wait_until,
)

import kaffe
from soak.sampler import ProcessSampler, client_loops

pytestmark = pytest.mark.broker

DEADLINE_S = 60.0


def _samples(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [json.loads(line) for line in text.splitlines()]


def test_tasks_of_a_producer_and_a_group_member(
    bootstrap: str, topic_factory: Any, tmp_path: Path
) -> None:
    topic = topic_factory(2)
    collect = Collect()
    producer = kaffe.Producer(endpoints=bootstrap)
    member = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=group(),
        message_handler=collect,
        **FAST,
    )
    path = tmp_path / "client.jsonl"
    sampler = ProcessSampler(
        path, "client", client_loops([producer, member]), interval=0.3, task_timeout=0.2
    )
    with sampler:
        try:
            producer.start()
            member.start()
            wait_until(lambda: collect.assigned, DEADLINE_S, "an assignment")
            producer.produce_sync(topic, [("k", "v")])
            wait_until(lambda: collect.values, DEADLINE_S, "the message handled")
            mark = len(_samples(path))
            wait_until(lambda: len(_samples(path)) > mark, DEADLINE_S, "a sample of both")
            both = _samples(path)[-1]
        finally:
            member.stop()
            producer.close()
    assert both["loops"] == 2
    # the group member keeps at least its membership task and its fetcher running
    assert both["asyncio_tasks"] >= 2
    assert both["threads"] >= 3  # this one and the two loop threads
    last = _samples(path)[-1]  # written by stop(), after both clients closed
    assert last["loops"] == 0
    assert last["asyncio_tasks"] is None
