"""The Redis Sentinel adapter (``redis+sentinel://``): every read and write goes to the
primary that the sentinels name now, and the same adapter follows a failover."""

from __future__ import annotations

import asyncio
from typing import Any

from cache_bridge import config
from cache_bridge.adapters.loop_clients import LoopClients
from cache_bridge.adapters.redis.errors import translate
from cache_bridge.adapters.redis.guards import PROBE_OPTIONS, redis_guard
from cache_bridge.adapters.redis.plan import plan
from cache_bridge.adapters.redis_sentinel.clients import async_primary_client, sync_primary_client
from cache_bridge.config import SentinelSettings
from cache_bridge.engine.commands import Command
from cache_bridge.engine.drivers import register_translator
from cache_bridge.errors import CacheClosedError
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.factory import register

__all__ = ["RedisSentinelCache", "SyncRedisSentinelCache"]

register_translator(translate)


def _settings(url: str, options: dict[str, Any]) -> SentinelSettings:
    takes = "the Redis Sentinel adapter takes a redis+sentinel:// URL"
    return config.parse_as(url, options, SentinelSettings, takes)


class SyncRedisSentinelCache(SyncCache):
    """The blocking face of the primary that Redis Sentinel names; one pool, shared by threads.

    Options: those of :class:`~cache_bridge.adapters.redis.SyncRedisCache` (for the data
    nodes), plus ``sentinel_username`` and ``sentinel_password`` for the sentinels.
    """

    def __init__(self, url: str = "redis+sentinel://localhost:26379/mymaster", **options: Any):
        self.settings = _settings(url, options)
        self._client: Any = sync_primary_client(self.settings)  # connects on first use
        given = dict(options)
        guard, self._leave_guard = redis_guard(
            self, self.settings, lambda: SyncRedisSentinelCache(url, **{**given, **PROBE_OPTIONS})
        )
        super().__init__(
            self._execute_on_client, self.settings.key_prefix, self.settings.describe(), guard
        )

    def _execute_on_client(self, command: Command) -> Any:
        if self._closed:  # an operation that was already running when close() came
            raise CacheClosedError("the adapter was closed", operation="")
        args = plan(command)
        if isinstance(args, list):
            with self._client.pipeline(transaction=True) as pipe:
                for one in args:
                    pipe.execute_command(*one)
                return pipe.execute()
        return self._client.execute_command(*args)

    def _release(self) -> None:
        self._leave_guard()
        pool = self._client.connection_pool
        try:
            pool.disconnect()
        finally:
            # The connections to the sentinels belong to the Sentinel manager's clients, not
            # the pool (closed one by one: Sentinel.close() is recent in redis-py).
            for sentinel in pool.sentinel_manager.sentinels:
                sentinel.close()


class RedisSentinelCache(AsyncCache):
    """The async face of the primary that Redis Sentinel names (same options as
    :class:`SyncRedisSentinelCache`); one client per running event loop."""

    def __init__(self, url: str = "redis+sentinel://localhost:26379/mymaster", **options: Any):
        self.settings = _settings(url, options)
        settings = self.settings
        self._loops: LoopClients[Any] = LoopClients(
            lambda: async_primary_client(settings), _close_client
        )
        given = dict(options)
        guard, self._leave_guard = redis_guard(
            self, settings, lambda: SyncRedisSentinelCache(url, **{**given, **PROBE_OPTIONS})
        )
        super().__init__(
            self._execute_on_client, self.settings.key_prefix, self.settings.describe(), guard
        )

    async def _execute_on_client(self, command: Command) -> Any:
        if self._closed:  # an operation that was already running when aclose() came
            raise CacheClosedError("the adapter was closed", operation="")
        args = plan(command)
        client = await self._loops.current()
        if isinstance(args, list):
            node = self.settings.node
            # redis-py bounds each reply; the whole MULTI/EXEC is bounded here (a wait for a
            # pooled connection, opening one, the exchange).
            async with asyncio.timeout(2 * node.timeout + node.connect_timeout):
                async with client.pipeline(transaction=True) as pipe:
                    for one in args:
                        pipe.execute_command(*one)
                    return await pipe.execute()
        return await client.execute_command(*args)

    async def _release(self) -> None:
        self._leave_guard()
        await self._loops.close_all()


async def _close_client(client: Any) -> None:
    """Close a primary client's connections and its Sentinel manager's to the sentinels."""
    pool = client.connection_pool
    try:
        await pool.disconnect()
    finally:
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()


register(config.SentinelSettings, RedisSentinelCache, SyncRedisSentinelCache)
