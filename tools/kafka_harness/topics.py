"""Uniquely named test topics that are deleted again (backs the ``topic_factory`` fixture)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from .admin import AdminError, AdminTool
from .process import poll_until


class TopicFactory:
    """Creates uniquely named topics through an admin tool and deletes them in :meth:`cleanup`."""

    def __init__(self, admin: AdminTool, *, leader_timeout: float = 30.0) -> None:
        """Bind the factory to ``admin``."""
        self.admin = admin
        self.leader_timeout = leader_timeout
        self.created: list[str] = []

    def __call__(
        self,
        partitions: int = 1,
        *,
        replication_factor: int = 1,
        configs: Mapping[str, str] | None = None,
        prefix: str = "kaffe-it",
    ) -> str:
        """Create a topic with ``partitions`` partitions; return its name once every
        partition has a leader."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.admin.create_topic(name, partitions, replication_factor, configs)
        self.created.append(name)

        def leaders_elected() -> bool | None:
            try:
                desc = self.admin.describe_topic(name, timeout=10.0)
            except AdminError:
                return None
            ok = len(desc.partitions) == partitions and all(
                p.leader is not None for p in desc.partitions
            )
            return True if ok else None

        poll_until(leaders_elected, timeout=self.leader_timeout, what=f"leaders for topic {name}")
        return name

    def cleanup(self) -> None:
        """Delete every topic this factory created; raise if any deletion failed."""
        errors: list[str] = []
        while self.created:
            name = self.created.pop()
            try:
                self.admin.delete_topic(name)
            except AdminError as exc:
                errors.append(f"{name}: {exc}")
        if errors:
            raise AdminError("delete_topic", "TopicFactoryCleanup", "; ".join(errors))
