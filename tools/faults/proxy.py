"""A Kafka-aware TCP fault proxy, one per broker, switchable at run time.

:class:`ProxyServer` runs an asyncio loop in a thread of its own and hosts any number of
:class:`FaultProxy` instances. Each listens on a loopback port of its own (known as soon as it
is created, before the broker it fronts exists: the broker is told to advertise that port) and
forwards every connection to its ``upstream`` broker listener, set later with
:meth:`FaultProxy.set_upstream`.

The proxy reads whole Kafka frames: requests (4-byte size, api key, api version, correlation
id) and responses (4-byte size, correlation id). It remembers the api key of every request by
its correlation id, so it knows which response answers a Produce and which a Fetch.

Modes (:class:`Mode` and its subclasses), switched from any thread with
:meth:`FaultProxy.set_mode` (it returns once the proxy applied it):

* :data:`PASS`: forward both ways.
* :class:`Delay` ``(seconds)``: every frame, each way, is held ``seconds`` before it is
  forwarded (order and throughput kept: added latency, not a narrower pipe).
* :data:`DROP`: close every open connection; connections made while it lasts are accepted and
  closed at once.
* :data:`BLACKHOLE`: connections stay open, frames from the client are read and thrown away,
  nothing is answered.
* :data:`HALF_OPEN`: requests reach the broker, its answers are thrown away.
* :class:`ResetMidResponse` ``(apis, every)``: of the responses to the named request kinds
  (``"produce"``, ``"fetch"``), every ``every``-th (counted per proxy) is cut: its size, its
  correlation id and half of its body are forwarded, then the client connection is reset
  (RST, ``SO_LINGER`` 0) and the broker connection closed.

A connection that was open during a :data:`BLACKHOLE` or :data:`HALF_OPEN` stays in that state
after the proxy returns to :data:`PASS`, until the client closes it: as after a firewall or NAT
lost the connection's state, only a new connection works again. Connections opened after the
fault cleared pass.

While its broker is down, :meth:`FaultProxy.set_listening` ``(False)`` makes the proxy refuse
connections as the dead broker would (:class:`faults.cluster.FaultCluster` does this when it
kills or stops a node); a connection the proxy cannot forward (broker unreachable) is reset.

::

    server = ProxyServer().start()
    proxy = server.add("broker-1")            # proxy.port is known now
    proxy.set_upstream("127.0.0.1", 9092)
    proxy.set_mode(ResetMidResponse(("produce",), every=3))
    ...
    server.close()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import struct
import threading
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

log = logging.getLogger("kaffe.faults.proxy")

API_KEYS = {"produce": 0, "fetch": 1}
"""Request kinds :class:`ResetMidResponse` can cut, by name."""

MAX_FRAME = 256 * 1024 * 1024
CALL_TIMEOUT_S = 10.0

T = TypeVar("T")


@dataclass(frozen=True)
class Mode:
    """A proxy's behaviour; see the module docs. ``name`` is what reports print."""

    name: str = "pass"

    def describe(self) -> str:
        """A short human-readable form, e.g. ``delay 0.5 s``."""
        return self.name


PASS = Mode("pass")
DROP = Mode("drop")
BLACKHOLE = Mode("blackhole")
HALF_OPEN = Mode("half_open")


@dataclass(frozen=True)
class Delay(Mode):
    """Hold every frame ``seconds`` before forwarding it (both directions)."""

    name: str = "delay"
    seconds: float = 0.5

    def describe(self) -> str:
        """``delay <seconds> s``."""
        return f"delay {self.seconds:g} s"


@dataclass(frozen=True)
class ResetMidResponse(Mode):
    """Cut every ``every``-th response to ``apis`` requests halfway, then reset."""

    name: str = "reset"
    apis: tuple[str, ...] = ("produce",)
    every: int = 1

    def __post_init__(self) -> None:
        unknown = [a for a in self.apis if a not in API_KEYS]
        if unknown or not self.apis:
            raise ValueError(f"apis must be some of {sorted(API_KEYS)}, not {self.apis}")
        if self.every < 1:
            raise ValueError(f"every must be >= 1, not {self.every}")

    @property
    def api_keys(self) -> frozenset[int]:
        """The Kafka api keys of :attr:`apis`."""
        return frozenset(API_KEYS[a] for a in self.apis)

    def describe(self) -> str:
        """``reset produce,fetch every 3``."""
        return f"reset {','.join(self.apis)} every {self.every}"


@dataclass
class ProxyStats:
    """What a proxy did so far (a copy is returned by :meth:`FaultProxy.stats`)."""

    connections: int = 0
    refused: int = 0
    dropped: int = 0
    resets: dict[str, int] = field(default_factory=dict)
    requests_discarded: int = 0
    responses_discarded: int = 0
    frames: int = 0


class _Conn:
    """One proxied connection: both sockets, the pumps, the request kinds in flight."""

    def __init__(
        self,
        cr: asyncio.StreamReader,
        cw: asyncio.StreamWriter,
        ur: asyncio.StreamReader,
        uw: asyncio.StreamWriter,
    ) -> None:
        self.cr, self.cw, self.ur, self.uw = cr, cw, ur, uw
        self.sick: Mode | None = None  # BLACKHOLE or HALF_OPEN, sticky
        self.inflight: dict[int, int] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = False
        self.to_broker = _Sender(uw)
        self.to_client = _Sender(cw)

    def abort(self, *, reset: bool = False) -> None:
        """Close both sockets (the client's with RST when ``reset``); stop the pumps."""
        if self.closed:
            return
        self.closed = True
        if reset:
            sock = self.cw.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.cw.transport.abort()
        else:
            self.cw.close()
        self.uw.transport.abort()
        for t in self.tasks:
            t.cancel()
        self.to_broker.cancel()
        self.to_client.cancel()


class _Sender:
    """Writes frames to one side, optionally each no earlier than a release time (delay mode),
    always in order."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.queue: asyncio.Queue[tuple[float, bytes]] | None = None
        self.task: asyncio.Task[None] | None = None

    def send(self, data: bytes, delay: float) -> None:
        if delay <= 0 and self.queue is None:
            self.writer.write(data)
            return
        if self.queue is None:
            self.queue = asyncio.Queue()
            self.task = asyncio.ensure_future(self._run())
        self.queue.put_nowait((time.monotonic() + delay, data))

    async def _run(self) -> None:
        assert self.queue is not None
        while True:
            release, data = await self.queue.get()
            wait = release - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.writer.write(data)
            await self.writer.drain()

    async def drain(self) -> None:
        if self.queue is None:
            await self.writer.drain()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


class FaultProxy:
    """One broker's proxy; create it with :meth:`ProxyServer.add`."""

    def __init__(self, server: ProxyServer, name: str) -> None:
        self.server = server
        self.name = name
        self.port = 0
        self.upstream: tuple[str, int] | None = None
        self._mode: Mode = PASS
        self._conns: set[_Conn] = set()
        self._stats = ProxyStats()
        self._matching = 0
        self._listener: asyncio.Server | None = None

    def __repr__(self) -> str:
        return f"<FaultProxy {self.name} :{self.port} -> {self.upstream} {self._mode.describe()}>"

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, where clients connect."""
        return f"127.0.0.1:{self.port}"

    @property
    def mode(self) -> Mode:
        """The current mode."""
        return self._mode

    # ------------------------------------------------------------------ control (any thread)

    def set_upstream(self, host: str, port: int) -> None:
        """Where new connections are forwarded to."""
        self.upstream = (host, port)

    def set_mode(self, mode: Mode) -> None:
        """Switch to ``mode``; returns once open connections were dealt with."""
        self.server.call(self._apply(mode))

    def stats(self) -> ProxyStats:
        """A copy of the counters."""
        s = self._stats
        return ProxyStats(
            s.connections,
            s.refused,
            s.dropped,
            dict(s.resets),
            s.requests_discarded,
            s.responses_discarded,
            s.frames,
        )

    # ------------------------------------------------------------------ on the loop

    def set_listening(self, listening: bool) -> None:
        """Stop accepting connections (clients get "connection refused", as from a dead
        broker) or accept them again, on the same port."""
        self.server.call(self._listen() if listening else self._unlisten())

    @property
    def listening(self) -> bool:
        """Whether the proxy accepts connections."""
        return self._listener is not None

    async def _listen(self) -> None:
        if self._listener is not None:
            return
        self._listener = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = int(self._listener.sockets[0].getsockname()[1])

    async def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(listener.wait_closed(), 5.0)

    async def _apply(self, mode: Mode) -> None:
        log.info("proxy %s: %s -> %s", self.name, self._mode.describe(), mode.describe())
        self._mode = mode
        self._matching = 0
        if mode == DROP:
            for c in list(self._conns):
                self._stats.dropped += 1
                c.abort()
            self._conns.clear()
        elif mode in (BLACKHOLE, HALF_OPEN):
            for c in self._conns:
                if c.sick is None:
                    c.sick = mode

    async def _close(self) -> None:
        for c in list(self._conns):
            c.abort()
        self._conns.clear()
        await self._unlisten()

    async def _handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        mode = self._mode
        if mode == DROP or self.upstream is None:
            self._stats.refused += 1
            cw.transport.abort()
            return
        try:
            ur, uw = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 10.0)
        except (OSError, asyncio.TimeoutError):
            # The broker is down: the client sees its connection closed, as it would.
            self._stats.refused += 1
            cw.transport.abort()
            return
        conn = _Conn(cr, cw, ur, uw)
        if mode in (BLACKHOLE, HALF_OPEN):
            conn.sick = mode
        self._stats.connections += 1
        self._conns.add(conn)
        conn.tasks = [
            asyncio.ensure_future(self._requests(conn)),
            asyncio.ensure_future(self._responses(conn)),
        ]
        try:
            await asyncio.wait(conn.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            conn.abort()
            self._conns.discard(conn)

    def _delay(self) -> float:
        mode = self._mode
        return mode.seconds if isinstance(mode, Delay) else 0.0

    async def _requests(self, conn: _Conn) -> None:
        """Client to broker, a frame at a time."""
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, OSError):
            while True:
                head = await conn.cr.readexactly(4)
                (size,) = struct.unpack(">i", head)
                if size < 8 or size > MAX_FRAME:
                    log.warning("proxy %s: request frame of %d bytes; closing", self.name, size)
                    return
                body = await conn.cr.readexactly(size)
                if conn.sick == BLACKHOLE:
                    self._stats.requests_discarded += 1
                    continue
                api_key, _version, corr = struct.unpack(">hhi", body[:8])
                conn.inflight[corr] = api_key
                self._stats.frames += 1
                conn.to_broker.send(head + body, self._delay())
                await conn.to_broker.drain()

    async def _responses(self, conn: _Conn) -> None:
        """Broker to client, a frame at a time; cuts responses in reset mode."""
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, OSError):
            while True:
                head = await conn.ur.readexactly(8)
                size, corr = struct.unpack(">ii", head)
                if size < 4 or size > MAX_FRAME:
                    log.warning("proxy %s: response frame of %d bytes; closing", self.name, size)
                    return
                body = await conn.ur.readexactly(size - 4)
                api_key = conn.inflight.pop(corr, -1)
                if conn.sick is not None:
                    self._stats.responses_discarded += 1
                    continue
                mode = self._mode
                if isinstance(mode, ResetMidResponse) and api_key in mode.api_keys:
                    self._matching += 1
                    if self._matching % mode.every == 0:
                        name = next(n for n, k in API_KEYS.items() if k == api_key)
                        self._stats.resets[name] = self._stats.resets.get(name, 0) + 1
                        conn.cw.write(head + body[: len(body) // 2])
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(conn.cw.drain(), 2.0)
                        conn.abort(reset=True)
                        return
                self._stats.frames += 1
                conn.to_client.send(head + body, self._delay())
                await conn.to_client.drain()


class ProxyServer:
    """The thread and event loop that run every :class:`FaultProxy`; see the module docs."""

    def __init__(self) -> None:
        self.proxies: dict[str, FaultProxy] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ProxyServer:
        """Start the loop thread; returns ``self``."""
        if self._thread is not None:
            return self
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="faults-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(CALL_TIMEOUT_S):
            raise RuntimeError("the proxy loop thread did not start")
        return self

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT_S) -> T:
        """Run ``coro`` on the proxy loop and wait for its result (with a deadline)."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("the proxy server is not started")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise TimeoutError(f"the proxy loop did not answer within {timeout:.0f} s") from None

    def add(self, name: str) -> FaultProxy:
        """A new proxy listening on a free loopback port (no upstream yet: connections made
        before :meth:`FaultProxy.set_upstream` are closed)."""
        proxy = FaultProxy(self, name)
        self.call(proxy._listen())
        self.proxies[name] = proxy
        return proxy

    def set_all(self, mode: Mode, names: Iterable[str] | None = None) -> None:
        """Switch several proxies (all by default) to ``mode``."""
        for name in self.proxies if names is None else names:
            self.proxies[name].set_mode(mode)

    def close(self) -> None:
        """Close every proxy and stop the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        for proxy in self.proxies.values():
            with contextlib.suppress(Exception):
                self.call(proxy._close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CALL_TIMEOUT_S)
        self._loop = None
        self._thread = None
