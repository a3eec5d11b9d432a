"""An immutable snapshot of cluster metadata, built from one Metadata response."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["BrokerInfo", "ClusterMetadata", "PartitionInfo", "TopicInfo"]


@dataclass(frozen=True)
class BrokerInfo:
    """A broker as the cluster advertises it."""

    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass(frozen=True)
class PartitionInfo:
    """One partition: its leader (``-1`` when none), leader epoch, replicas and in-sync replicas.

    ``error_code`` is the partition-level code from the Metadata response (``0`` = fine;
    ``LEADER_NOT_AVAILABLE`` while a leader is being elected).
    """

    partition: int
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    offline_replicas: tuple[int, ...] = ()
    error_code: int = 0


@dataclass(frozen=True)
class TopicInfo:
    """One topic: its error code, id and partitions (by index)."""

    name: str
    error_code: int
    topic_id: bytes | None
    is_internal: bool
    partitions: Mapping[int, PartitionInfo]

    @property
    def partition_count(self) -> int:
        """How many partitions the topic has."""
        return len(self.partitions)


_NULL_UUID = bytes(16)


@dataclass(frozen=True)
class ClusterMetadata:
    """Brokers, controller and topics at one moment.

    ``topics`` holds the topics the response listed, including those with an error code (an
    unknown topic appears with ``UNKNOWN_TOPIC_OR_PARTITION`` and no partitions).
    """

    brokers: Mapping[int, BrokerInfo]
    controller_id: int
    cluster_id: str | None
    topics: Mapping[str, TopicInfo]
    fetched_at: float = field(default_factory=time.monotonic)

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> ClusterMetadata:
        """Build a snapshot from a decoded Metadata response body (any version)."""
        brokers = {
            int(b["node_id"]): BrokerInfo(
                int(b["node_id"]), str(b["host"]), int(b["port"]), b.get("rack")
            )
            for b in body.get("brokers") or ()
        }
        topics: dict[str, TopicInfo] = {}
        for t in body.get("topics") or ():
            name = t.get("name")
            if name is None:
                continue  # topic known only by id; kaffe always asks by name
            parts = {
                int(p["partition_index"]): PartitionInfo(
                    partition=int(p["partition_index"]),
                    leader=int(p["leader_id"]),
                    leader_epoch=int(p.get("leader_epoch", -1)),
                    replicas=tuple(int(x) for x in p.get("replica_nodes") or ()),
                    isr=tuple(int(x) for x in p.get("isr_nodes") or ()),
                    offline_replicas=tuple(int(x) for x in p.get("offline_replicas") or ()),
                    error_code=int(p.get("error_code", 0)),
                )
                for p in t.get("partitions") or ()
            }
            topic_id = t.get("topic_id")
            topics[str(name)] = TopicInfo(
                name=str(name),
                error_code=int(t.get("error_code", 0)),
                topic_id=bytes(topic_id) if topic_id and bytes(topic_id) != _NULL_UUID else None,
                is_internal=bool(t.get("is_internal", False)),
                partitions=MappingProxyType(dict(sorted(parts.items()))),
            )
        return cls(
            brokers=MappingProxyType(brokers),
            controller_id=int(body.get("controller_id", -1)),
            cluster_id=body.get("cluster_id"),
            topics=MappingProxyType(topics),
        )

    def merged(self, newer: ClusterMetadata, *, replace_all_topics: bool) -> ClusterMetadata:
        """This snapshot updated with ``newer``: brokers and controller from ``newer``; topics
        from ``newer`` added to (or, with ``replace_all_topics``, replacing) the known ones."""
        topics = dict(newer.topics) if replace_all_topics else {**self.topics, **newer.topics}
        return ClusterMetadata(
            brokers=newer.brokers,
            controller_id=newer.controller_id,
            cluster_id=newer.cluster_id,
            topics=MappingProxyType(topics),
            fetched_at=newer.fetched_at,
        )

    def without_topics(self, names: set[str]) -> ClusterMetadata:
        """This snapshot with ``names`` removed (after a delete)."""
        return ClusterMetadata(
            brokers=self.brokers,
            controller_id=self.controller_id,
            cluster_id=self.cluster_id,
            topics=MappingProxyType({k: v for k, v in self.topics.items() if k not in names}),
            fetched_at=self.fetched_at,
        )

    def topic(self, name: str) -> TopicInfo | None:
        """The topic called ``name``, if the snapshot has it."""
        return self.topics.get(name)

    def leader_for(self, topic: str, partition: int) -> int | None:
        """Leader node id of a partition, or ``None`` if unknown or leaderless."""
        info = self.topics.get(topic)
        if info is None:
            return None
        p = info.partitions.get(partition)
        if p is None or p.leader < 0:
            return None
        return p.leader

    def broker(self, node_id: int) -> BrokerInfo | None:
        """The broker with ``node_id``, if listed."""
        return self.brokers.get(node_id)
