"""Cluster-wide lookups (metadata, any broker, coordinators) do not wait on a dead broker.

A broker that just died sits in its reconnect backoff; a lookup that can ask another broker must
ask that one at once instead of sleeping out the backoff (before this was fixed, a killed group
coordinator stalled the member and every metadata refresh for up to 10 s per attempt). Each test
makes one address fail for real (nothing listens on it) with a 30 s backoff, next to a live
broker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from kaffe import errors
from kaffe._cluster import Cluster
from kaffe._cluster.metadata import BrokerInfo
from kaffe._net import ConnectionPool
from kaffe.config import ClientConfig
from kafka_harness.broker import BrokerHandle

T = TypeVar("T")
BACKOFF_S = 30.0
DEADLINE_S = 8.0  # well under BACKOFF_S: waiting out the backoff would miss it


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def make_cluster(endpoints: str) -> Cluster:
    config = ClientConfig.from_kwargs(endpoints=endpoints)
    options = dataclasses.replace(
        config.connection_options(),
        reconnect_backoff=BACKOFF_S,
        reconnect_backoff_max=BACKOFF_S,
    )
    return Cluster(config, pool=ConnectionPool(options))


async def fail_once(cluster: Cluster, port: int) -> None:
    """One real failed connection attempt: the address is now in a ~30 s backoff."""
    with pytest.raises(errors.ConnectionError):
        await cluster.pool.get("127.0.0.1", port)
    assert cluster.pool.backoff_remaining("127.0.0.1", port) > BACKOFF_S / 2


def test_metadata_and_any_connection_skip_a_broker_in_backoff(kafka_broker: BrokerHandle) -> None:
    dead = closed_port()
    live = kafka_broker.bootstrap

    async def main() -> None:
        cluster = make_cluster(f"127.0.0.1:{dead},{live}")  # the dead one is listed first
        try:
            await fail_once(cluster, dead)
            md = await cluster.refresh_metadata(timeout=DEADLINE_S, force=True)
            assert md.brokers
            conn = await cluster.any_connection(timeout=DEADLINE_S)
            assert f"{conn.host}:{conn.port}" != f"127.0.0.1:{dead}"
            assert conn.connected
            # the coordinator lookup goes through any_connection too
            coord = await cluster.coordinator_node("kaffe-backoff-group", timeout=DEADLINE_S)
            assert coord.node_id in md.brokers
        finally:
            await cluster.close()

    run(main())


def test_only_dead_addresses_fail_fast_with_a_connection_error() -> None:
    dead = closed_port()

    async def main() -> None:
        cluster = make_cluster(f"127.0.0.1:{dead}")
        try:
            # tried once, refused: there is nobody else to ask, so no waiting for the deadline
            with pytest.raises(errors.ConnectionError, match="no broker reachable"):
                await cluster.any_connection(timeout=BACKOFF_S)
            # now in its backoff, which ends after the deadline: it says so instead of sleeping
            with pytest.raises(errors.ConnectionError, match="reconnect backoff"):
                await cluster.any_connection(timeout=DEADLINE_S)
            with pytest.raises(errors.ConnectionError, match="could not fetch metadata"):
                await cluster.refresh_metadata(timeout=DEADLINE_S, force=True)
        finally:
            await cluster.close()

    run(main())


def test_pool_get_without_waiting_reports_the_backoff() -> None:
    dead = closed_port()

    async def main() -> None:
        cluster = make_cluster(f"127.0.0.1:{dead}")
        try:
            await fail_once(cluster, dead)
            with pytest.raises(errors.ConnectionError, match="reconnect backoff") as info:
                await cluster.pool.get("127.0.0.1", dead, wait_backoff=False)
            assert info.value.retriable
            # a waiting get really waits: it is still pending when a short deadline passes
            with pytest.raises(asyncio.TimeoutError):  # not the builtin on Python 3.10
                await asyncio.wait_for(cluster.pool.get("127.0.0.1", dead), 0.5)
        finally:
            await cluster.close()

    run(main())


def test_a_controller_in_backoff_is_replaced_by_any_live_broker(
    kafka_broker: BrokerHandle,
) -> None:
    dead = closed_port()

    async def main() -> None:
        cluster = make_cluster(kafka_broker.bootstrap)
        try:
            md = await cluster.refresh_metadata(timeout=DEADLINE_S, force=True)
            # The snapshot now names a broker that has just died as the controller (as it does
            # between a kill and the next refresh).
            ghost = BrokerInfo(max(md.brokers) + 1, "127.0.0.1", dead)
            cluster._metadata = dataclasses.replace(
                md, brokers={**md.brokers, ghost.node_id: ghost}, controller_id=ghost.node_id
            )
            await fail_once(cluster, dead)
            conn = await cluster.controller_connection(timeout=DEADLINE_S)
            assert (conn.host, conn.port) != ("127.0.0.1", dead)
            assert conn.node_id in md.brokers
        finally:
            await cluster.close()

    run(main())
