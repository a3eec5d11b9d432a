"""Offsets at the group coordinator: OffsetCommit (periodic, on revocation, on request) and
OffsetFetch (the committed offsets of newly assigned partitions).

What may be committed is decided elsewhere: :class:`~kaffe._group.offsets.CommitTracker` holds
it per partition (moved by batch results, or by the handler's commit points just before each
commit, :meth:`GroupHandler.before_commit <kaffe._group.handler.GroupHandler.before_commit>`).
Commits name the membership's current generation; one whose answer says the membership is stale
makes the membership renew itself. Runs on the client's event loop; one commit at a time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kaffe._cluster.client import Cluster
from kaffe._cluster.errors import error_for, error_name
from kaffe._group.handler import GroupHandler
from kaffe._group.membership import Membership, send_to_group
from kaffe._group.offsets import CommitTracker
from kaffe._group.settings import GroupSettings
from kaffe._protocol import ApiKey, ErrorCode
from kaffe._util import TopicPartition
from kaffe.errors import KafkaError

__all__ = ["Committer"]

log = logging.getLogger("kaffe.group")


class Committer:
    """Commits and reads one member's offsets."""

    def __init__(
        self,
        owner: object,
        settings: GroupSettings,
        cluster: Cluster,
        tracker: CommitTracker,
        handler: GroupHandler,
        membership: Membership,
    ) -> None:
        """Commit what ``tracker`` holds in ``membership``'s generation; ``owner`` names the
        member in logs."""
        self._owner = owner
        self._settings = settings
        self._cluster = cluster
        self._tracker = tracker
        self._handler = handler
        self._membership = membership
        self._lock = asyncio.Lock()

    async def run_periodically(self) -> None:
        """Commit every ``offset_commit_interval`` seconds (failures are logged)."""
        interval = self._settings.offset_commit_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: periodic commit failed: %s", self._owner, exc)

    async def commit(self) -> dict[TopicPartition, int]:
        """Commit every offset Kafka does not have yet; returns what was committed."""
        async with self._lock:
            self._handler.before_commit()
            offsets = self._tracker.to_commit()
            gen = self._membership.generation
            if not offsets or gen is None:
                return {}
            st = self._settings
            topics: dict[str, list[dict[str, Any]]] = {}
            for (t, p), off in sorted(offsets.items()):
                topics.setdefault(t, []).append(
                    {
                        "partition_index": p,
                        "committed_offset": off,
                        "committed_leader_epoch": -1,
                        "committed_metadata": "",
                    }
                )

            def body(version: int) -> dict[str, Any]:
                return {
                    "group_id": st.group_id,
                    "generation_id_or_member_epoch": gen.generation_id,
                    "member_id": gen.member_id,
                    "group_instance_id": st.group_instance_id,
                    "retention_time_ms": -1,
                    "topics": [{"name": t, "partitions": ps} for t, ps in topics.items()],
                }

            def codes(r: dict[str, Any]) -> list[int]:
                return [
                    int(p["error_code"]) for t in r.get("topics") or () for p in t["partitions"]
                ]

            try:
                resp = await send_to_group(
                    self._cluster, st.group_id, ApiKey.OFFSET_COMMIT, body, codes, 30.0
                )
            except KafkaError as exc:
                log.warning("%s: OffsetCommit failed: %s", self._owner, exc)
                return {}
            done: dict[TopicPartition, int] = {}
            for t in resp.get("topics") or ():
                for p in t["partitions"]:
                    tp = (str(t["name"]), int(p["partition_index"]))
                    code = int(p["error_code"])
                    if code == 0 and tp in offsets:
                        done[tp] = offsets[tp]
                    elif code:
                        log.warning(
                            "%s: committing %s/%d at %s: %s",
                            self._owner,
                            tp[0],
                            tp[1],
                            offsets.get(tp),
                            error_name(code),
                        )
                        self._membership.commit_failed(code)
            self._tracker.committed(done)
            if done:
                log.debug("%s: committed %s", self._owner, done)
            return done

    async def fetch_committed(self, parts: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The committed offsets of ``parts`` (OffsetFetch, stable offsets only: retried while
        a transaction's offsets are pending); partitions with none are left out."""
        st = self._settings
        topics: dict[str, list[int]] = {}
        for t, p in parts:
            topics.setdefault(t, []).append(p)
        if not parts:
            return {}
        wanted = [{"name": t, "partition_indexes": ps} for t, ps in sorted(topics.items())]

        def body(version: int) -> dict[str, Any]:
            if version >= 8:
                return {
                    "groups": [
                        {
                            "group_id": st.group_id,
                            "member_id": None,
                            "member_epoch": -1,
                            "topics": wanted,
                        }
                    ],
                    "require_stable": True,
                }
            return {"group_id": st.group_id, "topics": wanted, "require_stable": True}

        def flatten(r: dict[str, Any]) -> tuple[list[int], list[tuple[str, dict[str, Any]]]]:
            groups = r.get("groups")
            if groups:
                top = [int(g.get("error_code", 0)) for g in groups]
                topics_ = [t for g in groups for t in g.get("topics") or ()]
            else:
                top = [int(r.get("error_code", 0))]
                topics_ = list(r.get("topics") or ())
            parts_ = [(str(t["name"]), p) for t in topics_ for p in t["partitions"]]
            return top, parts_

        def codes(r: dict[str, Any]) -> list[int]:
            top, parts_ = flatten(r)
            return top + [int(p["error_code"]) for _, p in parts_]

        for attempt in range(20):
            resp = await send_to_group(
                self._cluster, st.group_id, ApiKey.OFFSET_FETCH, body, codes, 30.0
            )
            all_codes = [c for c in codes(resp) if c]
            if ErrorCode.UNSTABLE_OFFSET_COMMIT in all_codes:
                await asyncio.sleep(min(1.0, 0.05 * 2**attempt))
                continue
            if all_codes:
                raise error_for(all_codes[0], f"OffsetFetch for group {st.group_id!r}")
            out: dict[TopicPartition, int] = {}
            for name, entry in flatten(resp)[1]:
                off = int(entry["committed_offset"])
                if off >= 0:
                    out[(name, int(entry["partition_index"]))] = off
            return out
        raise KafkaError("OffsetFetch: offsets stayed unstable (a transaction is pending)")
