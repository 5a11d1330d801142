"""Either face of a near-cached adapter, called the same way from async tests."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from returns.result import Success

from cache_bridge import RedisCache, SyncRedisCache
from cache_bridge.adapters.redis.near_cache import NearCache

__all__ = ["Face"]


class Face:
    """Either face of one near-cached adapter, called the same way."""

    def __init__(self, cache: SyncRedisCache | RedisCache) -> None:
        self.cache = cache
        assert cache.near_cache is not None
        self.near: NearCache = cache.near_cache
        #: The keys of every invalidation push applied so far, in order ("*": a flush).
        self.pushed: list[str] = []
        received = self.near.received

        def record(keys: Any) -> None:
            keys = None if keys is None else list(keys)
            received(keys)
            self.pushed.extend(["*"] if keys is None else keys)

        self.near.received = record  # type: ignore[method-assign]

    async def call(self, name: str, *args: Any) -> Any:
        result = getattr(self.cache, name)(*args)
        return await result if inspect.isawaitable(result) else result

    async def ready(self) -> Face:
        """Wait until the invalidation connection is tracking."""
        deadline = time.monotonic() + 5
        while not self.near.ready:
            assert time.monotonic() < deadline, "tracking never came up"
            await asyncio.sleep(0.005)
        return self

    async def close(self) -> None:
        await self.call("aclose" if isinstance(self.cache, RedisCache) else "close")

    async def read_until_success(self, key: str) -> Any:
        """``get(key)``'s value once the adapter answers again (after a fault)."""
        for _ in range(300):
            result = await self.call("get", key)
            if isinstance(result, Success):
                return result.unwrap()
            await asyncio.sleep(0.01)
        raise AssertionError("the cache never answered again")

    def hits(self) -> int:
        return self.near.stats()["hits"]

    async def served_locally(self, name: str, *args: Any) -> Any:
        """The call's result once a call of it is answered from process memory (a read may go
        to the server while a push of an own write, or a PING's reply, is being applied)."""
        deadline = time.monotonic() + 5
        while True:
            before = self.hits()
            result = await self.call(name, *args)
            if self.hits() > before:
                return result
            assert time.monotonic() < deadline, f"{name}{args} never served locally"
            await asyncio.sleep(0.005)

    async def after_push(self, write: Callable[[], object], key: str) -> None:
        """Run another client's ``write`` of ``key`` and wait until the push invalidating
        ``key`` was applied. (Waiting for any push is not enough: the late push of an
        earlier write, e.g. this process's own, may arrive first.)"""
        seen = len(self.pushed)
        write()
        deadline = time.monotonic() + 5
        while not any(
            pushed in ("*", key) or pushed.endswith(":" + key) for pushed in self.pushed[seen:]
        ):
            assert time.monotonic() < deadline, f"no invalidation push for {key!r}"
            await asyncio.sleep(0.002)
