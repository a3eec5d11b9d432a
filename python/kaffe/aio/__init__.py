"""kaffe's asyncio API: the same components as :mod:`kaffe`, with coroutine methods."""

from __future__ import annotations

from kaffe.aio.admin import AdminClient
from kaffe.aio.consumer import Consumer, GroupMemberSupervisor
from kaffe.aio.producer import Producer

__all__ = ["AdminClient", "Consumer", "GroupMemberSupervisor", "Producer"]
