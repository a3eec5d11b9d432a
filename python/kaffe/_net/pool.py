"""Connections by broker address, re-established on demand with capped, jittered backoff.

:meth:`ConnectionPool.get` returns a connected :class:`BrokerConnection`, making a new one when
there is none or the old one died (the broker closed an idle connection, a request timed out,
...). After a failed attempt the next one to the same address waits
``min(reconnect_backoff * 2**(failures-1), reconnect_backoff_max)``, jittered by +-20 %.

Authentication and TLS failures are not retriable: the pool raises them, and until
``reconnect_backoff_max`` (at least) has passed it raises the same error again at once instead of
trying, so a wrong password never turns into a storm of login attempts.

A request that got no answer in time makes its broker *suspect* (:meth:`ConnectionPool.suspect`):
its connection is closed and a failed attempt counted, and until a new connection to it succeeds
:meth:`ConnectionPool.is_suspect` tells callers that can ask another broker (metadata,
coordinator lookups) to ask the others first.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from kaffe._net.connection import BrokerConnection
from kaffe._util import backoff_delay
from kaffe.config import ConnectionOptions
from kaffe.errors import ConnectionError, KafkaError

log = logging.getLogger("kaffe.net")


@dataclass
class _Backoff:
    failures: int = 0
    next_attempt: float = 0.0
    last_error: KafkaError | None = None
    suspect: bool = False
    """A request went unanswered (:meth:`ConnectionPool.suspect`); cleared by a new connection."""


class ConnectionPool:
    """Connections by ``(host, port)``, reconnecting with capped exponential backoff + jitter."""

    def __init__(self, options: ConnectionOptions) -> None:
        """Create an empty pool; connections are made by :meth:`get`."""
        self.options = options
        self._conns: dict[tuple[str, int], BrokerConnection] = {}
        self._backoff: dict[tuple[str, int], _Backoff] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._closed = False

    def __repr__(self) -> str:
        """The addresses with a live connection."""
        live = [f"{h}:{p}" for (h, p), c in self._conns.items() if c.connected]
        return f"ConnectionPool(connected={live})"

    def backoff_remaining(self, host: str, port: int) -> float:
        """Seconds until the next connection attempt to ``host:port`` is allowed: 0 when a live
        connection exists or no attempt has failed."""
        key = (host, port)
        conn = self._conns.get(key)
        if conn is not None and conn.connected:
            return 0.0
        state = self._backoff.get(key)
        if state is None:
            return 0.0
        return max(0.0, state.next_attempt - asyncio.get_running_loop().time())

    async def get(
        self, host: str, port: int, node_id: int | None = None, *, wait_backoff: bool = True
    ) -> BrokerConnection:
        """A connected connection to ``host:port``; reconnects (after backoff) if needed.

        While the address is in its reconnect backoff, waits for it to end (``wait_backoff``,
        the default; the wait holds no lock, so callers do not queue behind each other's waits)
        or raises a retriable :class:`kaffe.ConnectionError` at once (``wait_backoff=False``,
        for callers that can ask another broker instead).

        Raises whatever :meth:`BrokerConnection.connect` raises; during the backoff after an
        authentication or TLS failure, that failure again without a new attempt.
        """
        key = (host, port)
        lock = self._locks.setdefault(key, asyncio.Lock())
        while True:
            if self._closed:
                raise ConnectionError("the connection pool is closed")
            async with lock:
                if self._closed:
                    raise ConnectionError("the connection pool is closed")
                conn = self._conns.get(key)
                if conn is not None:
                    if conn.connected:
                        if conn.node_id is None and node_id is not None:
                            conn.node_id = node_id
                        return conn
                    del self._conns[key]
                    await conn.close()
                    log.debug("broker %s:%d: connection was closed; reconnecting", host, port)
                state = self._backoff.get(key)
                wait = 0.0
                if state is not None:
                    wait = state.next_attempt - asyncio.get_running_loop().time()
                if wait <= 0:
                    return await self._connect(key, node_id)
                last = state.last_error if state is not None else None
                if last is not None and not last.retriable:
                    raise last.with_traceback(None)
                if not wait_backoff:
                    raise ConnectionError(
                        f"broker {host}:{port} is in its reconnect backoff ({wait:.2f} s left)"
                        + (f" after: {last}" if last is not None else "")
                    )
            await asyncio.sleep(wait)

    async def _connect(self, key: tuple[str, int], node_id: int | None) -> BrokerConnection:
        """One connection attempt (the caller holds the address's lock)."""
        host, port = key
        conn = BrokerConnection(host, port, self.options, node_id=node_id)
        try:
            await conn.connect()
        except KafkaError as exc:
            state = self._backoff.setdefault(key, _Backoff())
            state.failures += 1
            delay = backoff_delay(
                state.failures,
                self.options.reconnect_backoff,
                self.options.reconnect_backoff_max,
                retriable=exc.retriable,
            )
            state.next_attempt = asyncio.get_running_loop().time() + delay
            state.last_error = exc
            log.info(
                "broker %s:%d: attempt %d failed (%s); next attempt in %.2f s",
                host,
                port,
                state.failures,
                type(exc).__name__,
                delay,
            )
            raise
        self._backoff.pop(key, None)
        if self._closed:
            await conn.close()
            raise ConnectionError("the connection pool is closed")
        self._conns[key] = conn
        return conn

    async def suspect(self, host: str, port: int, error: KafkaError) -> None:
        """``host:port`` left a request unanswered (``error``): close its connection (requests
        in flight on it fail with :class:`kaffe.ConnectionError`), count a failed attempt (the
        reconnect backoff) and mark it suspect until a new connection to it succeeds. A
        half-open connection, a blackhole or a stopped broker look like this; a connection to
        it that has not timed out yet is most likely just as dead."""
        key = (host, port)
        state = self._backoff.setdefault(key, _Backoff())
        state.failures += 1
        state.next_attempt = asyncio.get_running_loop().time() + backoff_delay(
            state.failures, self.options.reconnect_backoff, self.options.reconnect_backoff_max
        )
        state.last_error = error
        state.suspect = True
        conn = self._conns.pop(key, None)
        if conn is not None:
            log.info("broker %s:%d: %s; closing its connection", host, port, error)
            await conn.close()

    def is_suspect(self, host: str, port: int) -> bool:
        """Whether a request to ``host:port`` went unanswered and no new connection to it has
        succeeded since (see :meth:`suspect`)."""
        state = self._backoff.get((host, port))
        return state is not None and state.suspect

    def connection(self, host: str, port: int) -> BrokerConnection | None:
        """The current connection to ``host:port`` (connected or not), if any."""
        return self._conns.get((host, port))

    async def close(self) -> None:
        """Close every connection; their in-flight requests fail with ``ConnectionError``."""
        self._closed = True
        conns = list(self._conns.values())
        self._conns.clear()
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
