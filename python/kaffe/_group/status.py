"""Whether a group member runs: the stop request, the error that stopped it, and the wake-up of
its membership task. Shared by the parts of the group engine; touched on the event loop only."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kaffe._util import WAIT_TIMEOUTS

__all__ = ["MemberStatus"]

log = logging.getLogger("kaffe.group")


class MemberStatus:
    """The run state of one member.

    Attributes:
        stopping: the member is stopping (asked to, or failed); no new work starts.
        failure: the error that stopped the member, if one did.
        wake: set when the membership task must look again (a rejoin was asked for, or the
            member stops); the membership task clears it.
        done: set once everything is closed.
    """

    def __init__(self, owner: object) -> None:
        """Running; ``owner`` names the member in logs."""
        self._owner = owner
        self.stopping = False
        self.failure: BaseException | None = None
        self.wake = asyncio.Event()
        self.done = asyncio.Event()

    def stop(self) -> None:
        """Ask the member to stop."""
        self.stopping = True
        self.wake.set()

    def fail(self, exc: BaseException) -> None:
        """Stop the member with ``exc`` (the first failure is kept and logged)."""
        if self.failure is None:
            self.failure = exc
            log.error("%s stops: %s", self._owner, exc)
        self.stop()

    async def sleep(self, delay: float) -> None:
        """Wait ``delay`` seconds, or less if the member stops meanwhile (wake-ups for anything
        else are consumed)."""
        with contextlib.suppress(*WAIT_TIMEOUTS):
            await asyncio.wait_for(self._until_stopping(), delay)

    async def _until_stopping(self) -> None:
        while not self.stopping:
            self.wake.clear()
            await self.wake.wait()
