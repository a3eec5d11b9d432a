"""Kafka's framing: every request and response is a 4-byte big-endian size, then the payload."""

from __future__ import annotations

import asyncio
import struct

from kaffe.errors import ProtocolError

_SIZE = struct.Struct(">i")
_CORRELATION = struct.Struct(">i")
_TLS_ALERT = 0x15
_TLS_HANDSHAKE = 0x16


TLS_HINT = " (the bytes look like TLS: is this a TLS listener? then set ssl)"
"""Appended to an error when the peer's first bytes look like TLS (:func:`looks_like_tls`)."""


def looks_like_tls(data: bytes) -> bool:
    """Whether ``data`` (the first bytes a peer sent) starts like a TLS record: an alert or a
    handshake (``0x15``/``0x16``) with major version 3. One byte is enough to say so."""
    return (
        len(data) >= 1
        and data[0] in (_TLS_ALERT, _TLS_HANDSHAKE)
        and (len(data) < 2 or data[1] == 3)
    )


def frame(payload: bytes) -> bytes:
    """``payload`` with its size prefix, ready to write."""
    return _SIZE.pack(len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader, max_bytes: int) -> bytes | None:
    """Read one frame's payload; ``None`` on a clean end of stream between frames.

    Raises:
        ProtocolError: a negative size or one above ``max_bytes`` (checked before reading, so a
            hostile size never allocates).
        asyncio.IncompleteReadError: the stream ended inside a frame.
    """
    try:
        head = await reader.readexactly(_SIZE.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    (size,) = _SIZE.unpack(head)
    if size < _CORRELATION.size or size > max_bytes:
        hint = ""
        if looks_like_tls(head):
            hint = TLS_HINT
        raise ProtocolError(
            f"response frame size {size} is outside the allowed range "
            f"{_CORRELATION.size}..{max_bytes} bytes{hint}"
        )
    return await reader.readexactly(size)


def correlation_id(payload: bytes) -> int:
    """The correlation id every response starts with (``payload`` has at least 4 bytes)."""
    (value,) = _CORRELATION.unpack_from(payload, 0)
    return int(value)
