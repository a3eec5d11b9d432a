"""kaffe's asyncio API: the same components as :mod:`kaffe`, with coroutine methods."""

from __future__ import annotations

from kaffe.aio.admin import AdminClient

__all__ = ["AdminClient"]
