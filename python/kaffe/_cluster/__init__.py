"""Cluster layer: metadata cache, leader routing and coordinator lookup (internal)."""

from __future__ import annotations

from kaffe._cluster.client import Cluster, CoordinatorType
from kaffe._cluster.metadata import BrokerInfo, ClusterMetadata, PartitionInfo, TopicInfo

__all__ = [
    "BrokerInfo",
    "Cluster",
    "ClusterMetadata",
    "CoordinatorType",
    "PartitionInfo",
    "TopicInfo",
]
