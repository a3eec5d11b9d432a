"""A small asyncio TCP proxy in front of a real Kafka broker, shared by the producer tests.

``KafkaProxy`` listens on a loopback port and forwards every connection to ``upstream``. Each
connection runs two pumps, client to broker and broker to client, which subclasses supply;
when either ends (or fails) both are cancelled and both sockets closed. ``rewrite_metadata``
points the brokers of a Metadata response at the proxy, so that the client keeps talking
through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Coroutine
from typing import Any, TypeVar

from kaffe import _core
from kaffe._protocol import ApiKey

_P = TypeVar("_P", bound="KafkaProxy")


class KafkaProxy:
    """Forwards Kafka connections to ``upstream``; subclasses decide what each pump does."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self: _P) -> _P:
        """Listen on a free loopback port (``self.port``) and return ``self``."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Close every proxied socket and stop listening."""
        for w in self._writers:
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @staticmethod
    async def _frame(reader: asyncio.StreamReader) -> bytes:
        (size,) = struct.unpack(">i", await reader.readexactly(4))
        return await reader.readexactly(size)

    @staticmethod
    def _send(writer: asyncio.StreamWriter, frame: bytes) -> None:
        writer.write(struct.pack(">i", len(frame)) + frame)

    def rewrite_metadata(self, version: int, cid: int, frame: bytes) -> bytes:
        """A Metadata response ``frame`` with every broker pointed at this proxy."""
        _, body = _core.decode_response(ApiKey.METADATA, version, frame)
        for b in body["brokers"]:
            b["host"], b["port"] = "127.0.0.1", self.port
        return _core.encode_response(ApiKey.METADATA, version, cid, body)

    def _pumps(
        self,
        cr: asyncio.StreamReader,
        cw: asyncio.StreamWriter,
        ur: asyncio.StreamReader,
        uw: asyncio.StreamWriter,
    ) -> tuple[Coroutine[Any, Any, None], Coroutine[Any, Any, None]]:
        """The (client to broker, broker to client) pumps for one connection."""
        raise NotImplementedError

    async def _handle(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        ur, uw = await asyncio.open_connection(*self.upstream)
        self._writers += [cw, uw]
        tasks = [asyncio.ensure_future(pump) for pump in self._pumps(cr, cw, ur, uw)]
        with contextlib.suppress(Exception):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        cw.close()
        uw.close()
