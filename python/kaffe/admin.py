"""The synchronous admin client: :class:`kaffe.aio.AdminClient` on a private event-loop thread.

Every method blocks the calling thread until the operation finishes or its deadline (the
``timeout`` argument, default :data:`DEFAULT_TIMEOUT` seconds) passes. Any thread may call it,
except the client's own event-loop thread (which raises ``RuntimeError`` instead of deadlocking).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, Literal, TypeVar

from kaffe._sync import SyncFacade
from kaffe.aio import admin as _aio
from kaffe.aio.admin import (
    DEFAULT_TIMEOUT,
    CommittedOffset,
    ConfigEntry,
    GroupDescription,
    GroupListing,
    GroupMember,
    ListedOffset,
    NewTopic,
    OffsetSpec,
    PartitionDescription,
    TopicDescription,
    TopicPartition,
)
from kaffe.config import ClientConfig

__all__ = [
    "DEFAULT_TIMEOUT",
    "AdminClient",
    "CommittedOffset",
    "ConfigEntry",
    "GroupDescription",
    "GroupListing",
    "GroupMember",
    "ListedOffset",
    "NewTopic",
    "PartitionDescription",
    "TopicDescription",
    "TopicPartition",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _same_doc(source: Callable[..., Any]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        func.__doc__ = source.__doc__
        return func

    return apply


_A = _aio.AdminClient


class AdminClient(SyncFacade):
    """Synchronous admin client; the same methods as :class:`kaffe.aio.AdminClient`.

    ``with kaffe.AdminClient(endpoints=[("127.0.0.1", 9092)]) as admin:`` ... or call
    :meth:`close` yourself.
    """

    _THREAD_NAME = "kaffe-admin"
    _START_TIMEOUT_S = DEFAULT_TIMEOUT

    def __init__(self, **config: Any) -> None:
        """Take the client keys as keyword arguments (see :data:`kaffe.config.CLIENT_KEYS`)."""
        self._setup(ClientConfig.from_mapping(config))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AdminClient:
        """Build from a mapping of the same keys as the keyword arguments."""
        self = cls.__new__(cls)
        self._setup(ClientConfig.from_mapping(config))
        return self

    def _setup(self, config: ClientConfig) -> None:
        self.config = config
        # Operations start the client on first use, so the loop runs from the start.
        self._aio = self._ensure_loop().run(_make_async(config), timeout=10.0)

    def __repr__(self) -> str:
        """Endpoints only (never credentials)."""
        eps = ",".join(f"{h}:{p}" for h, p in self.config.endpoints)
        return f"<kaffe.AdminClient endpoints={eps}>"

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        return self._call(coro, DEFAULT_TIMEOUT if timeout is None else timeout)

    # ------------------------------------------------------------------ lifecycle

    @_same_doc(_A.start)
    def start(self, *, timeout: float | None = None) -> AdminClient:
        return super().start(timeout=timeout)

    def _start_aio(self, timeout: float) -> Coroutine[Any, Any, Any]:
        return self._aio.start(timeout=timeout)

    def _close_aio(self, timeout: float) -> Coroutine[Any, Any, Any]:
        return self._aio.close()

    # ------------------------------------------------------------------ topics

    @_same_doc(_A.create_topics)
    def create_topics(
        self,
        topics: Iterable[NewTopic | str],
        *,
        timeout: float | None = None,
        validate_only: bool = False,
        wait_for_leaders: bool = True,
    ) -> None:
        self._run(
            self._aio.create_topics(
                list(topics),
                timeout=timeout,
                validate_only=validate_only,
                wait_for_leaders=wait_for_leaders,
            ),
            timeout,
        )

    @_same_doc(_A.create_topic)
    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        replication_factor: int = -1,
        configs: Mapping[str, str] | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        self._run(
            self._aio.create_topic(name, partitions, replication_factor, configs, timeout=timeout),
            timeout,
        )

    @_same_doc(_A.delete_topics)
    def delete_topics(self, names: Iterable[str], *, timeout: float | None = None) -> None:
        self._run(self._aio.delete_topics(list(names), timeout=timeout), timeout)

    @_same_doc(_A.delete_topic)
    def delete_topic(self, name: str, *, timeout: float | None = None) -> None:
        self._run(self._aio.delete_topic(name, timeout=timeout), timeout)

    @_same_doc(_A.list_topics)
    def list_topics(
        self, *, include_internal: bool = False, timeout: float | None = None
    ) -> list[str]:
        return self._run(
            self._aio.list_topics(include_internal=include_internal, timeout=timeout), timeout
        )

    @_same_doc(_A.describe_topics)
    def describe_topics(
        self, names: Iterable[str], *, timeout: float | None = None
    ) -> dict[str, TopicDescription]:
        return self._run(self._aio.describe_topics(list(names), timeout=timeout), timeout)

    @_same_doc(_A.describe_topic)
    def describe_topic(self, name: str, *, timeout: float | None = None) -> TopicDescription:
        return self._run(self._aio.describe_topic(name, timeout=timeout), timeout)

    @_same_doc(_A.partition_count)
    def partition_count(self, topic: str, *, timeout: float | None = None) -> int:
        return self._run(self._aio.partition_count(topic, timeout=timeout), timeout)

    @_same_doc(_A.create_partitions)
    def create_partitions(
        self, topic: str, total_count: int, *, timeout: float | None = None
    ) -> None:
        self._run(self._aio.create_partitions(topic, total_count, timeout=timeout), timeout)

    # ------------------------------------------------------------------ offsets

    @_same_doc(_A.list_offsets)
    def list_offsets(
        self,
        topic: str,
        partitions: Iterable[int] | None = None,
        spec: OffsetSpec = "latest",
        *,
        timeout: float | None = None,
    ) -> dict[int, ListedOffset]:
        parts = list(partitions) if partitions is not None else None
        return self._run(self._aio.list_offsets(topic, parts, spec, timeout=timeout), timeout)

    @_same_doc(_A.delete_records)
    def delete_records(
        self, topic: str, offsets: Mapping[int, int], *, timeout: float | None = None
    ) -> dict[int, int]:
        return self._run(self._aio.delete_records(topic, dict(offsets), timeout=timeout), timeout)

    # ------------------------------------------------------------------ configs

    @_same_doc(_A.describe_configs)
    def describe_configs(
        self,
        resource_type: Literal["topic", "broker"],
        name: str | int,
        keys: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, ConfigEntry]:
        wanted = list(keys) if keys is not None else None
        return self._run(
            self._aio.describe_configs(resource_type, name, wanted, timeout=timeout), timeout
        )

    # ------------------------------------------------------------------ groups

    @_same_doc(_A.list_groups)
    def list_groups(self, *, timeout: float | None = None) -> list[GroupListing]:
        return self._run(self._aio.list_groups(timeout=timeout), timeout)

    @_same_doc(_A.describe_groups)
    def describe_groups(
        self, group_ids: Iterable[str], *, timeout: float | None = None
    ) -> dict[str, GroupDescription]:
        return self._run(self._aio.describe_groups(list(group_ids), timeout=timeout), timeout)

    @_same_doc(_A.describe_group)
    def describe_group(self, group_id: str, *, timeout: float | None = None) -> GroupDescription:
        return self._run(self._aio.describe_group(group_id, timeout=timeout), timeout)

    @_same_doc(_A.list_group_offsets)
    def list_group_offsets(
        self,
        group_id: str,
        topics: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[TopicPartition, CommittedOffset]:
        wanted = list(topics) if topics is not None else None
        return self._run(self._aio.list_group_offsets(group_id, wanted, timeout=timeout), timeout)

    @_same_doc(_A.alter_group_offsets)
    def alter_group_offsets(
        self,
        group_id: str,
        offsets: Mapping[TopicPartition, int] | Mapping[tuple[str, int], int],
        *,
        timeout: float | None = None,
    ) -> None:
        self._run(self._aio.alter_group_offsets(group_id, offsets, timeout=timeout), timeout)

    @_same_doc(_A.reset_group_offsets)
    def reset_group_offsets(
        self,
        group_id: str,
        topic: str,
        to: OffsetSpec | Mapping[int, int] = "earliest",
        *,
        timeout: float | None = None,
    ) -> dict[int, int]:
        return self._run(
            self._aio.reset_group_offsets(group_id, topic, to, timeout=timeout), timeout
        )


async def _make_async(config: ClientConfig) -> _aio.AdminClient:
    """Create the async client on the loop thread (its locks and tasks belong to that loop)."""
    return _aio.AdminClient.from_client_config(config)
