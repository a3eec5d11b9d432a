"""Fetching: per-broker Fetch requests for assigned partitions (internal)."""

from __future__ import annotations

from kaffe._fetch.fetcher import Fetcher, FetchSettings, PartitionFetch

__all__ = ["FetchSettings", "Fetcher", "PartitionFetch"]
