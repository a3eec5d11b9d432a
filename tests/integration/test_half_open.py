"""Connections that went half-open are given up soon, and a short fault costs nothing more.

Through the fault proxy of the ``fault_cluster``, a broker's connections go half-open (requests
reach the broker, answers are lost) for a few seconds, then new connections work again; the
connections open during the fault stay dead.

* Fetch: the fault hits a long poll in flight. The fetcher must notice that its answer is overdue
  (``max_wait_time`` + a few seconds), drop the node's connections and fetch on a fresh one.
  Waiting for ``max_wait_time`` + 30 s, as it did, stalled the partition for 40 s; the bound here
  is 25 s.
* Group: the fault hits the coordinator. A heartbeat left unanswered must be given up after a
  few seconds and the next one sent on a fresh connection, so the member keeps its generation
  and its partitions. Waiting for the answer until the session timeout, as it did, made the
  member give its partitions up and rejoin.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from tests.integration.group_support import Collect, group, wait_until

import kaffe
from faults.cluster import Coordinator, FaultCluster
from faults.proxy import HALF_OPEN, PASS
from kaffe._cluster.client import Cluster
from kaffe._fetch.fetcher import Fetcher, FetchSettings, PartitionFetch
from kaffe.config import ClientConfig
from kafka_harness.process import poll_until

pytestmark = pytest.mark.cluster

FAULT_S = 3.0
"""How long the leader's connections stay half-open (new ones pass again afterwards)."""
STALL_BOUND_S = 25.0
"""From the fault to the first message produced after it: the long poll in flight when the fault
began is due after ``max_wait_time`` (10 s) + the fetch grace; the old +30 s took 40 s."""


def _produce(bootstrap: str, topic: str, value: str) -> None:
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as producer:
        producer.produce_sync(topic, 0, [(None, value)])


async def _until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.02)


async def _next_values(fetcher: Fetcher, state: PartitionFetch, timeout: float) -> list[bytes]:
    got = await asyncio.wait_for(fetcher.next_batch(state), timeout)
    assert got is not None
    messages, nbytes = got
    fetcher.ack(state, len(messages), nbytes)
    return [m.value or b"" for m in messages]


@pytest.mark.timeout(300)
def test_fetch_resumes_soon_after_a_half_open_leader_heals(fault_cluster: FaultCluster) -> None:
    fc = fault_cluster
    topic = fc.create_topic(1, prefix="half-open-fetch")
    # The admin tool's describe can fail or time out once under load; ask until it answers.
    leader = poll_until(
        lambda: fc.leader(topic, 0), timeout=60.0, what=f"the leader of {topic}/0", interval=0.5
    )
    proxy = fc.proxy(leader)
    _produce(fc.bootstrap, topic, "before")

    async def main() -> float:
        cluster = Cluster(ClientConfig.from_kwargs(endpoints=fc.bootstrap))
        fetcher = Fetcher(cluster, FetchSettings(max_wait_time=10.0))
        try:
            await cluster.bootstrap(timeout=30.0)
            state = fetcher.assign(topic, 0, 0)
            assert await _next_values(fetcher, state, 60.0) == [b"before"]

            def polling_just_now() -> bool:
                lane = state.lane
                return lane is not None and lane.busy and time.monotonic() - lane.started < 0.5

            # the fault hits a long poll just sent: its answer is due in max_wait_time
            await _until(polling_just_now, 30.0, "a long poll in flight")
            faulted = time.monotonic()
            await asyncio.to_thread(proxy.set_mode, HALF_OPEN)
            try:
                await asyncio.sleep(FAULT_S)  # the fault's duration, not a synchronisation
            finally:
                await asyncio.to_thread(proxy.set_mode, PASS)
            await asyncio.to_thread(_produce, fc.bootstrap, topic, "after")
            assert await _next_values(fetcher, state, 120.0) == [b"after"]
            return time.monotonic() - faulted
        finally:
            await fetcher.close()
            await cluster.close()

    try:
        stall = asyncio.run(main())
    finally:
        proxy.set_mode(PASS)
    assert stall < STALL_BOUND_S, f"the partition stalled {stall:.1f} s after the fault"


SESSION_S = 30.0
"""The member's session timeout (the default)."""
COORDINATOR_FAULT_S = 7.0
"""Longer than a heartbeat may go unanswered (5 s with these settings), far below the session."""


@pytest.mark.timeout(300)
def test_member_keeps_its_partitions_through_a_short_half_open_coordinator(
    fault_cluster: FaultCluster,
) -> None:
    fc = fault_cluster
    topic = fc.create_topic(1, prefix="half-open-group")
    gid = group()
    got = Collect()
    sup = kaffe.GroupMemberSupervisor(
        endpoints=fc.bootstrap,
        topics=[topic],
        consumer_group=gid,
        message_handler=got,
        session_timeout_seconds=SESSION_S,
        start_with_earliest_message=True,
    )
    sup.start()
    proxy = fc.proxy(fc.resolve(Coordinator(gid)))
    try:
        engine = sup._engine
        assert engine is not None
        wait_until(
            lambda: engine.generation is not None and engine.heartbeats > 0, 60.0, "a member"
        )
        generation = engine.generation
        assert generation is not None
        faulted = time.monotonic()
        proxy.set_mode(HALF_OPEN)
        try:
            time.sleep(COORDINATOR_FAULT_S)  # the fault's duration, not a synchronisation
        finally:
            proxy.set_mode(PASS)
        after_fault = engine.heartbeats
        wait_until(lambda: engine.heartbeats > after_fault, SESSION_S, "a heartbeat after it")
        # the member that waited for the lost answer gave its partitions up a session timeout
        # after the fault: look past that moment
        wait_until(
            lambda: time.monotonic() - faulted > SESSION_S + 5.0, SESSION_S + 10.0, "the session"
        )
        now = engine.generation
        assert now is not None
        assert now.generation_id == generation.generation_id
        assert engine.rebalances == 1
        assert got.revoked == []
    finally:
        proxy.set_mode(PASS)
        sup.stop()
