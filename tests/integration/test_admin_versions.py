"""The admin requests at older protocol versions, against the real broker.

``ConnectionOptions.api_version_overrides`` caps the version kaffe negotiates, so the request
builders for the older layouts (FindCoordinator with one key, OffsetFetch without groups,
DeleteTopics by name, DescribeGroups reporting unknown groups as "Dead", ...) are exercised on
the same broker as the newest ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from typing import Any

import pytest

from kaffe import _core, errors
from kaffe._cluster import CoordinatorType
from kaffe._net.pool import ConnectionPool
from kaffe._protocol import ApiKey
from kaffe.aio.admin import AdminClient, TopicPartition
from kaffe.config import ClientConfig
from kafka_harness.broker import BrokerHandle

pytestmark = pytest.mark.broker

DEADLINE_S = 30.0
native: Any = _core

OLDEST = {
    ApiKey.LIST_OFFSETS: 1,  # no isolation level, no leader epochs
    ApiKey.METADATA: 4,  # first version with allow_auto_topic_creation
    ApiKey.OFFSET_COMMIT: 2,  # with retention_time_ms
    ApiKey.OFFSET_FETCH: 7,  # one group, topics by name
    ApiKey.FIND_COORDINATOR: 3,  # one key per request
    ApiKey.DESCRIBE_GROUPS: 5,  # unknown groups are "Dead"
    ApiKey.LIST_GROUPS: 3,  # no state filter
    ApiKey.CREATE_TOPICS: 4,
    ApiKey.DELETE_TOPICS: 5,  # topic_names
    ApiKey.DELETE_RECORDS: 1,
    ApiKey.DESCRIBE_CONFIGS: 1,
    ApiKey.CREATE_PARTITIONS: 1,
}
"""``api_key -> version``: old layouts every supported broker line (3.9, 4.x) still accepts."""


async def _produce(admin: AdminClient, topic: str, partition: int, timestamps: list[int]) -> None:
    cluster = admin.cluster
    batch = native.encode_record_batch([(b"k", b"v", [], ts) for ts in timestamps])
    for attempt in range(50):
        conn = await cluster.leader_connection(topic, partition, timeout=DEADLINE_S)
        data: dict[str, Any] = {"partition_data": [{"index": partition, "records": batch}]}
        md = cluster.metadata
        info = md.topic(topic) if md is not None else None
        assert info is not None
        version = conn.api_version(ApiKey.PRODUCE)
        if version >= 13 and info.topic_id is not None:
            data["topic_id"] = info.topic_id
        else:  # Metadata < v10 has no topic ids: Produce addresses the topic by name (<= v12)
            version = min(version, 12)
            data["name"] = topic
        resp = await conn.request(
            ApiKey.PRODUCE,
            {"acks": -1, "timeout_ms": 10000, "topic_data": [data]},
            version=version,
            timeout=DEADLINE_S,
        )
        code = resp["responses"][0]["partition_responses"][0]["error_code"]
        if code == 0:
            return
        assert code in (3, 5, 6, 100), code  # the leader was not ready yet: retry
        cluster.invalidate([topic])
        await asyncio.sleep(0.1 * (attempt + 1))  # backoff between produce retries
    raise AssertionError("produce kept failing")


async def _scenario(admin: AdminClient) -> dict[str, Any]:
    out: dict[str, Any] = {}
    name = f"kaffe-it-oldver-{uuid.uuid4().hex[:8]}"
    group = f"kaffe-it-oldver-g-{uuid.uuid4().hex[:8]}"
    await admin.create_topic(name, 2, 1, {"retention.ms": "7200000"}, timeout=DEADLINE_S)
    try:
        t0 = int(time.time() * 1000) - 60_000
        await _produce(admin, name, 1, [t0, t0 + 1000, t0 + 2000])
        out["count"] = await admin.partition_count(name)
        out["earliest"] = {
            p: o.offset for p, o in (await admin.list_offsets(name, None, "earliest")).items()
        }
        out["latest"] = {
            p: o.offset for p, o in (await admin.list_offsets(name, None, "latest")).items()
        }
        out["at"] = (await admin.list_offsets(name, [1], t0 + 500))[1].offset
        out["retention"] = (await admin.describe_configs("topic", name, ["retention.ms"]))[
            "retention.ms"
        ].value
        await admin.alter_group_offsets(group, {(name, 0): 0, (name, 1): 2})
        out["committed"] = {
            tp: c.offset for tp, c in (await admin.list_group_offsets(group)).items()
        }
        out["committed_by_topic"] = {
            tp: c.offset for tp, c in (await admin.list_group_offsets(group, [name])).items()
        }
        out["reset"] = await admin.reset_group_offsets(group, name, "latest")
        out["groups"] = [g.group_id for g in await admin.list_groups()]
        out["state"] = (await admin.describe_group(group)).state
        try:
            await admin.describe_group(f"{group}-nobody")
            out["unknown_group"] = None
        except errors.GroupIdNotFoundError as exc:
            out["unknown_group"] = exc
        out["group_coordinator"] = (
            await admin.cluster.coordinator_node(group, timeout=DEADLINE_S)
        ).node_id
        out["txn_coordinator"] = (
            await admin.cluster.coordinator_node(
                f"txn-{group}", CoordinatorType.TRANSACTION, timeout=DEADLINE_S
            )
        ).node_id
        await admin.create_partitions(name, 3)
        out["grown"] = await admin.partition_count(name)
        out["low"] = await admin.delete_records(name, {1: 1})
    finally:
        await admin.delete_topic(name, timeout=DEADLINE_S)
    out["topics_after"] = await admin.list_topics()
    out["name"] = name
    out["group"] = group
    return out


@pytest.mark.parametrize("versions", ["oldest", "newest"])
def test_admin_scenario_at_old_and_new_versions(kafka_broker: BrokerHandle, versions: str) -> None:
    config = ClientConfig.from_kwargs(endpoints=kafka_broker.bootstrap)
    overrides = OLDEST if versions == "oldest" else {}
    options = dataclasses.replace(config.connection_options(), api_version_overrides=overrides)

    async def run() -> tuple[dict[str, Any], dict[int, int]]:
        pool = ConnectionPool(options)
        async with AdminClient.from_client_config(config, pool=pool) as admin:
            conn = await admin.cluster.any_connection(timeout=DEADLINE_S)
            used = {key: conn.api_version(key) for key in OLDEST}
            return await _scenario(admin), used

    out, used = asyncio.run(run())

    if versions == "oldest":
        assert used == OLDEST
    else:
        assert all(used[k] >= v for k, v in OLDEST.items())
    name, group = out["name"], out["group"]
    assert out["count"] == 2
    assert out["earliest"] == {0: 0, 1: 0}
    assert out["latest"] == {0: 0, 1: 3}
    assert out["at"] == 1
    assert out["retention"] == "7200000"
    assert out["committed"] == {TopicPartition(name, 0): 0, TopicPartition(name, 1): 2}
    assert out["committed_by_topic"] == out["committed"]
    assert out["reset"] == {0: 0, 1: 3}
    assert group in out["groups"]
    assert out["state"] == "Empty"
    assert isinstance(out["unknown_group"], errors.GroupIdNotFoundError)
    assert out["group_coordinator"] >= 0
    assert out["txn_coordinator"] >= 0
    assert out["grown"] == 3
    assert out["low"] == {1: 1}
    assert name not in out["topics_after"]
