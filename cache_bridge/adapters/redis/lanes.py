"""The automatic pipelines of one event loop: one connection while round trips are quick,
more when one is slow.

A call goes on the first pipeline (*lane*) whose round trip in flight, if any, started less
than a quarter of the timeout ago; so while the server answers quickly, every call shares the
first lane's connection, as :mod:`cache_bridge.adapters.redis.pipelining` describes. When a
round trip is outstanding for longer (a large reply on a slow link, a server busy with a
slow command), the calls queued behind it are moved, each to an idle lane of its own (a new
one while the pool allows: ``max_connections - 1``, one being left for MULTI/EXEC), and new
calls go to a lane that is not stalled. A slow reply then fails, at its bound, only its own
round trip, not every call that came after it; and N concurrent callers over a slow link get
up to N connections, as N threads of the blocking face do. Lanes, once opened, keep their
connection until the adapter is closed (as the blocking face's pool keeps its connections).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from redis.asyncio.connection import ConnectionPool

from cache_bridge.adapters.redis.pipelining import AutoPipeline, Pending
from cache_bridge.adapters.redis.plan import Args

__all__ = ["STALL", "Lanes"]

#: The part of the timeout after which a round trip in flight counts as stalled.
STALL = 0.25


class Lanes:
    """The automatic pipelines of one event loop over ``pool`` (at most ``most``)."""

    def __init__(
        self, pool: ConnectionPool, timeout: float, connect_timeout: float, most: int
    ) -> None:
        self._pool = pool
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._most = max(1, most)
        self._stall_after = STALL * timeout
        self._lanes: list[AutoPipeline] = []
        self._closed = False
        self._first = self._open()

    def __len__(self) -> int:
        return len(self._lanes)

    def _open(self) -> AutoPipeline:
        lane = AutoPipeline(
            self._pool, self._timeout, self._connect_timeout, self._spread, self._stall_after
        )
        self._lanes.append(lane)
        return lane

    def execute(self, args: Args) -> Awaitable[Any]:
        """Send ``args`` on a lane; its reply (or error) when awaited."""
        if self._first.since is None:  # the usual case: nothing in flight on the first lane
            return self._first.execute(args)
        return self._pick(asyncio.get_running_loop().time()).execute(args)

    def _pick(self, now: float) -> AutoPipeline:
        """The first lane not stalled; else a new one while the pool allows; else the lane
        whose round trip started last."""
        for lane in self._lanes:
            if lane.since is None or now - lane.since < self._stall_after:
                return lane
        if len(self._lanes) < self._most and not self._closed:
            return self._open()
        return max(self._lanes, key=lambda lane: lane.since or now)

    def _spread(self, pending: list[Pending]) -> None:
        """The calls queued behind a stalled round trip: each to an idle lane of its own (a
        new one while the pool allows), the rest behind the first lane not stalled."""
        idle = [lane for lane in self._lanes if lane.idle]
        now = asyncio.get_running_loop().time()
        for call in pending:
            if call[1].done():  # cancelled, or past its bound
                continue
            if idle:
                lane = idle.pop(0)
            elif len(self._lanes) < self._most and not self._closed:
                lane = self._open()
            else:
                lane = self._pick(now)
            lane.adopt([call])

    async def aclose(self) -> None:
        """Close every lane (failing what is still queued) and release their connections."""
        self._closed = True  # (no lane opens after this: a call still under way fails closed)
        for lane in self._lanes:
            await lane.aclose()
