"""``kaffe.GroupMemberSupervisor``: Kaffe's batch consumer, on kaffe's consumer-group engine.

A synchronous facade (:class:`kaffe._sync.SyncFacade`) over the :mod:`kaffe.aio` consumer: the
engine runs on a private event-loop thread, handlers run in worker threads. Every Kaffe consumer
key is accepted (Kaffe's names; kaffe's defaults, see ``docs/coming-from-kaffe.md``), plus
brod's group options; see :data:`CONSUMER_KEYS`.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, ClassVar

from kaffe._group.engine import GroupEngine
from kaffe._group.settings import CONSUMER_KEYS, GroupSettings
from kaffe._loop import LoopClosedError
from kaffe._sync import SyncFacade
from kaffe.aio import consumer as _aio
from kaffe.config import ClientConfig
from kaffe.errors import KafkaError

__all__ = ["CONSUMER_KEYS", "GroupMemberSupervisor"]

log = logging.getLogger("kaffe.group")

_CALL_TIMEOUT_S = 10.0


async def _on_loop(fn: Callable[[], Any]) -> Any:
    """Run a plain function on the loop (engine state is only touched there)."""
    return fn()


class _GroupClient(SyncFacade):
    """Lifecycle shared by :class:`GroupMemberSupervisor` and :class:`kaffe.Consumer`: a facade
    over a :mod:`kaffe.aio` twin (``_AIO``) whose handlers run in worker threads."""

    _AIO: ClassVar[type[_aio._AioGroupClient]]
    _aio: _aio._AioGroupClient

    def __init__(self, **config: Any) -> None:
        """Take the keys of :data:`CONSUMER_KEYS` as keyword arguments."""
        self._aio = self._AIO(**config)
        self._init_facade()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Any:
        """Build from a mapping of the same keys as the keyword arguments."""
        self = cls.__new__(cls)
        self._aio = cls._AIO.from_config(config)
        self._init_facade()
        return self

    def _init_facade(self) -> None:
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def __repr__(self) -> str:
        """Name, group and topics."""
        return (
            f"<kaffe.{type(self).__name__} {self.name!r} group={self.settings.group_id!r} "
            f"topics={list(self.settings.topics)}>"
        )

    # ------------------------------------------------------------------ configuration

    @property
    def values(self) -> dict[str, Any]:
        """Every configuration key with its parsed value (defaults filled in)."""
        values: dict[str, Any] = self._aio.values
        return values

    @property
    def settings(self) -> GroupSettings:
        """The group engine's settings (group id, topics, timeouts, ...)."""
        return self._aio.settings

    @property
    def client(self) -> ClientConfig:
        """The connection settings."""
        return self._aio.client

    @property
    def name(self) -> str:
        """``subscriber_name``, or the group id."""
        name: str = self._aio.name
        return name

    @property
    def delivery_limit(self) -> int | None:
        """With ``async_message_ack=True``: the most messages per partition delivered and
        outstanding at once, ``max(1, prefetch_count)``; ``None`` otherwise."""
        return self._aio.delivery_limit

    @property
    def failure(self) -> BaseException | None:
        """The error that stopped the member, if one did."""
        return self._aio.failure

    @property
    def _engine(self) -> GroupEngine | None:
        return self._aio._engine

    def list_subscribed_topics(self) -> list[str]:
        """The topics this member consumes."""
        return self._aio.list_subscribed_topics()

    # ------------------------------------------------------------------ lifecycle

    def _thread_name(self) -> str:
        return f"kaffe-{self.name}"

    def _start_aio(self, timeout: float) -> Coroutine[Any, Any, Any]:
        return self._aio.start()

    def _close_aio(self, timeout: float) -> Coroutine[Any, Any, Any]:
        return self._aio.stop()

    def _close_timeout(self) -> float:
        return self.settings.rebalance_timeout + 30.0

    def _after_close(self) -> None:
        self._stopped.set()

    def start(self, timeout: float | None = None) -> Any:
        """Connect and join the group in the background; returns ``self``.

        Waits until the cluster answered (retrying with exponential backoff for up to
        ``client_down_retry_expire``), then returns; partitions are assigned as the group
        settles. Raises :class:`kaffe.ConnectionError` if the cluster cannot be reached.
        """
        with self._lock:
            if self._loop is not None:
                return self
            wait = self.settings.client_down_retry_expire + self.client.metadata_timeout + 15.0
            super().start(timeout=wait if timeout is None else timeout)
            self._stopped.clear()
            log.info("%r started", self)
            return self

    def stop(self, timeout: float | None = None) -> None:
        """Finish the running batches (up to the rebalance timeout), commit, leave the group,
        close the connections and stop the threads. Idempotent."""
        with self._lock:
            if self._loop is None:
                self._stopped.set()
                return
            try:
                super().close(timeout)
            except (KafkaError, LoopClosedError) as exc:
                log.warning("%r: stopping: %s", self, exc)
            log.info("%r stopped", self)

    def close(self, timeout: float | None = None) -> None:
        """The same as :meth:`stop`."""
        self.stop(timeout)

    def run(self) -> None:
        """Start and block until :meth:`stop` is called from another thread, SIGINT/SIGTERM
        arrives (when called from the main thread) or the member fails (then its error is
        raised)."""
        self.start()
        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():

            def handle(signum: int, frame: Any) -> None:
                log.info("%r: signal %d, stopping", self, signum)
                threading.Thread(target=self.stop, daemon=True).start()

            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, handle)
        try:
            while not self._stopped.wait(0.2):
                if self.failure is not None:
                    break
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
            failure = self.failure
            self.stop()
        if failure is not None:
            raise failure

    # ------------------------------------------------------------------ run-time control

    def _running_loop(self) -> bool:
        return self._loop is not None and self._aio._engine is not None

    def subscribe_to_topics(self, topics: Sequence[str]) -> list[str]:
        """Also consume ``topics`` (the group rebalances); returns the topics that were new."""
        if not self._running_loop():
            return self._aio._subscribe(topics)  # taken at the next start()
        new: list[str] = self._call(self._aio.subscribe_to_topics(topics), _CALL_TIMEOUT_S)
        return new

    def assignment(self) -> list[tuple[str, int]]:
        """The ``(topic, partition)`` pairs this member consumes right now."""
        if not self._running_loop():
            return []
        parts: list[tuple[str, int]] = self._call(_on_loop(self._aio.assignment), _CALL_TIMEOUT_S)
        return parts

    def lags(self) -> dict[tuple[str, int], int | None]:
        """Per assigned partition: messages between the fetch position and the high watermark
        (``None`` while unknown)."""
        if not self._running_loop():
            return {}
        lags: dict[tuple[str, int], int | None] = self._call(
            _on_loop(self._aio.lags), _CALL_TIMEOUT_S
        )
        return lags

    def commit(self, timeout: float = 30.0) -> dict[tuple[str, int], int]:
        """Commit now the offsets the handlers' results allow; returns what was committed."""
        if not self._running_loop():
            return {}
        done: dict[tuple[str, int], int] = self._call(self._aio.commit(), timeout)
        return done

    @property
    def running(self) -> bool:
        """Whether the member was started and not stopped."""
        return self._loop is not None and self.failure is None


class _ThreadedSupervisor(_aio.GroupMemberSupervisor):
    """The asyncio batch consumer with handlers in worker threads (behind the facade)."""

    _KIND = "GroupMemberSupervisor"
    _ASYNC_HANDLERS = False


class GroupMemberSupervisor(_GroupClient):
    """Kaffe's batch consumer: ``message_handler.handle_messages(messages)`` per partition.

    ``messages`` is a list of :class:`kaffe.Message`, all from one partition, in offset order.
    The return value decides the commit: ``None``/:data:`kaffe.OK` commit the offset after the
    last message; :data:`kaffe.NO_COMMIT` commits nothing; :func:`kaffe.commit_offset` ``(n)``
    commits ``n``. In all three the worker goes on with the next messages. An exception commits
    nothing and the batch is delivered again after ``subscriber_retry_delay_ms``; it is never
    skipped.

    ``message_handler`` may also define ``on_assigned(partitions)`` and
    ``on_revoked(partitions)`` (lists of ``(topic, partition)``); the ``on_assigned`` /
    ``on_revoked`` keys take plain callables. They run in a worker thread, never on the event
    loop; ``on_revoked`` runs after the partitions' last batches finished and their offsets
    were committed.

    Keys: see :data:`kaffe.group_member.CONSUMER_KEYS` (Kaffe's names and defaults, brod's group
    options). ``partition_assignment_strategy`` takes the name of a built-in assignor
    (``"roundrobin"``, ``"range"``, ``"cooperative-sticky"``), your own :class:`kaffe.Assignor`
    object, or a list of them in order of preference. ``start()``/``stop()``, ``with``, or
    ``run()`` (blocks; SIGINT/SIGTERM stop it).
    """

    _AIO = _ThreadedSupervisor
