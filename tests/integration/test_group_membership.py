"""Membership details against the real broker: heartbeats while handlers run, static membership
(KIP-345) and fencing, a handler past the rebalance timeout reported loudly, and
``rebalance_delay_ms`` dropping a stale generation's assignment."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from tests.integration.group_support import (
    FAST,
    Collect,
    bootstrap_fixture,  # noqa: F401  (the bootstrap fixture)
    group,
    members_fixture,  # noqa: F401  (the members fixture)
    wait_until,
)

import kaffe

pytestmark = pytest.mark.broker


def test_heartbeats_continue_while_a_handler_runs_past_the_session_timeout(
    bootstrap: str, topic_factory: Any, members: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    topic = topic_factory(1)
    started = threading.Event()
    release = threading.Event()
    done: list[int] = []

    def slow(messages: list[kaffe.Message]) -> None:
        started.set()
        release.wait(30)
        done.extend(m.offset for m in messages)

    caplog.set_level(logging.ERROR, logger="kaffe.group")
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=group(),
        message_handler=slow,
        **{**FAST, "rebalance_timeout_seconds": 3},
    )
    members.append(sup.start())
    with kaffe.Producer(endpoints=bootstrap, topics=[topic]) as p:
        p.produce_sync(topic, [(None, "x")])
    wait_until(started.is_set, 30, "the handler to start")
    engine = sup._engine
    assert engine is not None
    # The handler outlives the session timeout (6 s) and the rebalance timeout (3 s) ...
    wait_until(
        lambda: any("longer than the rebalance timeout" in r.getMessage() for r in caplog.records),
        30,
        "the slow handler to be reported",
    )
    record = next(r for r in caplog.records if "rebalance timeout" in r.getMessage())
    assert record.levelno == logging.ERROR
    assert f"{topic}/0" in record.getMessage()
    beats = engine.heartbeats
    # 8 heartbeats at 1 s intervals: longer than the 6 s session timeout
    wait_until(lambda: engine.heartbeats >= beats + 8, 30, "heartbeats while the handler runs")
    assert not release.is_set()
    assert not done  # the handler is still running
    # ... yet the member kept its membership: heartbeats ran on the loop meanwhile.
    assert engine.rebalances == 1
    assert sup.assignment() == [(topic, 0)]
    release.set()
    wait_until(lambda: done == [0], 10, "the handler to finish")


def test_static_member_restart_keeps_partitions_without_rebalance(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(4)
    g = group()
    kw = dict(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=g,
        partition_assignment_strategy="range",
        **{**FAST, "session_timeout_seconds": 20},
    )
    a, b = Collect(), Collect()
    sup_a = kaffe.GroupMemberSupervisor(message_handler=a, group_instance_id="inst-a", **kw)
    sup_b = kaffe.GroupMemberSupervisor(message_handler=b, group_instance_id="inst-b", **kw)
    members += [sup_a.start(), sup_b.start()]
    wait_until(lambda: len(sup_a.assignment()) == 2 and len(sup_b.assignment()) == 2, 40, "2 each")
    before = sup_a.assignment()
    b_events = len(b.assigned)
    sup_a.stop()  # a static member does not leave the group
    a2 = Collect()
    sup_a2 = kaffe.GroupMemberSupervisor(message_handler=a2, group_instance_id="inst-a", **kw)
    members.append(sup_a2.start())
    wait_until(lambda: sup_a2.assignment() == before, 30, "the same partitions back")
    assert len(sup_b.assignment()) == 2
    assert b.revoked == []  # b never noticed
    assert len(b.assigned) == b_events


def test_same_group_instance_id_fences_the_older_member(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(1)
    g = group()
    kw = dict(endpoints=bootstrap, topics=[topic], consumer_group=g, **FAST)
    old = kaffe.GroupMemberSupervisor(message_handler=Collect(), group_instance_id="twin", **kw)
    members.append(old.start())
    wait_until(old.assignment, 30, "the first member's partition")
    new = kaffe.GroupMemberSupervisor(message_handler=Collect(), group_instance_id="twin", **kw)
    members.append(new.start())
    wait_until(lambda: old.failure is not None, 30, "the older member to be fenced")
    assert isinstance(old.failure, kaffe.FencedInstanceIdError)
    wait_until(new.assignment, 30, "the new member's partition")


def test_rebalance_delay_drops_a_stale_generation(
    bootstrap: str, topic_factory: Any, members: list[Any]
) -> None:
    topic = topic_factory(4)
    g = group()
    a, b = Collect(), Collect()
    kw = dict(endpoints=bootstrap, topics=[topic], consumer_group=g, **FAST)
    sup_a = kaffe.GroupMemberSupervisor(message_handler=a, **{**kw, "rebalance_delay_ms": 10_000})
    members.append(sup_a.start())
    wait_until(lambda: sup_a._engine and sup_a._engine.generation, 30, "a's first generation")
    sup_b = kaffe.GroupMemberSupervisor(message_handler=b, **kw)
    members.append(sup_b.start())
    wait_until(lambda: len(sup_b.assignment()) == 2, 40, "b's share")
    wait_until(lambda: len(sup_a.assignment()) == 2, 40, "a's share, after its delay")
    with a.lock:
        assert len(a.assigned) == 1  # generation 1 (all 4 partitions) was never started
        assert len(a.assigned[0]) == 2


def test_first_join_repeats_with_the_member_id_the_broker_gave(
    bootstrap: str, topic_factory: Any, members: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    topic = topic_factory(1)
    caplog.set_level(logging.DEBUG, logger="kaffe.group")
    sup = kaffe.GroupMemberSupervisor(
        endpoints=bootstrap,
        topics=[topic],
        consumer_group=group(),
        message_handler=Collect(),
        **FAST,
    )
    members.append(sup.start())
    wait_until(sup.assignment, 30, "the assignment")
    engine = sup._engine
    assert engine is not None
    kip394 = [r.getMessage() for r in caplog.records if "KIP-394" in r.getMessage()]
    assert len(kip394) == 1  # MEMBER_ID_REQUIRED once, then the join went through
    assert engine.member_id in kip394[0]
