"""The fetcher's choice of lane (no broker: nothing here sends a request).

A broker's ready partitions go out on an idle lane; a fetch about to return data is waited for;
another lane opens only when every lane is long-polling; at three lanes the one out longest is
replaced and its partitions go out again with the ready ones."""

from __future__ import annotations

import asyncio
import time

from kaffe._cluster.client import Cluster
from kaffe._fetch.fetcher import _MAX_LANES, Fetcher, FetchSettings, PartitionFetch, _Lane
from kaffe.config import ClientConfig


def _fetcher() -> Fetcher:
    return Fetcher(Cluster(ClientConfig.from_kwargs(endpoints="127.0.0.1:1")), FetchSettings())


def _part(fetcher: Fetcher, partition: int) -> PartitionFetch:
    state = PartitionFetch("t", partition, 0)
    fetcher._parts[state.tp] = state
    return state


def _busy(lane: _Lane, *, long_poll: bool, started: float) -> None:
    lane.task = asyncio.get_running_loop().create_task(asyncio.sleep(60))
    lane.long_poll = long_poll
    lane.started = started


def _cancel_all(fetcher: Fetcher) -> None:
    for lanes in fetcher._lanes.values():
        for lane in lanes:
            if lane.task is not None:
                lane.task.cancel()


def test_idle_lane_is_reused_and_a_returning_fetch_is_waited_for() -> None:
    async def run() -> None:
        fetcher = _fetcher()
        now = time.monotonic()
        first = fetcher._lane_for(1, [], now)
        assert first is not None
        assert fetcher._lane_for(1, [], now) is first  # idle: used again
        _busy(first, long_poll=False, started=now)  # has data to return: comes back soon
        assert fetcher._lane_for(1, [], now) is None
        assert len(fetcher._lanes[1]) == 1
        # out longer than a data-returning fetch takes: taken for a long poll
        second = fetcher._lane_for(1, [], now + 1.0)
        assert second is not None
        assert second is not first
        _cancel_all(fetcher)

    asyncio.run(run())


def test_long_polling_lanes_open_another_then_the_oldest_is_replaced() -> None:
    async def run() -> None:
        fetcher = _fetcher()
        now = time.monotonic()
        held = [_part(fetcher, p) for p in range(_MAX_LANES)]
        for i, state in enumerate(held):
            lane = fetcher._lane_for(1, [], now)
            assert lane is not None
            _busy(lane, long_poll=True, started=now - 10 + i)
            state.lane = lane
        assert len(fetcher._lanes[1]) == _MAX_LANES
        oldest = held[0].lane
        assert oldest is not None
        ready = [_part(fetcher, 99)]
        fresh = fetcher._lane_for(1, ready, now)
        assert fresh is not None
        assert fresh not in (s.lane for s in held)
        assert len(fetcher._lanes[1]) == _MAX_LANES
        assert oldest not in fetcher._lanes[1]
        assert oldest.task is not None
        await asyncio.sleep(0)
        assert oldest.task.cancelled()
        # the replaced lane's partition goes out again together with the ready one
        assert [s.partition for s in ready] == [99, 0]
        assert held[0].lane is None
        _cancel_all(fetcher)
        await asyncio.gather(*fetcher._retiring, return_exceptions=True)

    asyncio.run(run())
