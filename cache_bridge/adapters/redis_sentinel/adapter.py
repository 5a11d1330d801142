"""The Redis Sentinel adapter's two faces (``redis+sentinel://``), on the primary that the
sentinels name now."""

from __future__ import annotations

from typing import Any

from cache_bridge import config
from cache_bridge.adapters.building import FromSettings
from cache_bridge.adapters.loop_clients import LoopClients
from cache_bridge.adapters.redis.errors import translate
from cache_bridge.adapters.redis.guards import probe_settings, redis_guard
from cache_bridge.adapters.redis.plan import plan
from cache_bridge.adapters.redis.sending import (
    send_on_async_client,
    send_on_client,
    send_plan,
    send_plan_async,
)
from cache_bridge.adapters.redis_sentinel.clients import (
    aclose_primary_client,
    async_primary_client,
    close_primary_client,
    sync_primary_client,
)
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


class SyncRedisSentinelCache(FromSettings, SyncCache):
    """The blocking face of the primary that Redis Sentinel names; one pool, shared by threads.

    Options: those of :class:`~cache_bridge.adapters.redis.SyncRedisCache` (for the data
    nodes), plus ``sentinel_username`` and ``sentinel_password`` for the sentinels. Scripts
    go by digest (``EVALSHA``), as on :class:`~cache_bridge.adapters.redis.SyncRedisCache`.
    """

    def __init__(self, url: str = "redis+sentinel://localhost:26379/mymaster", **options: Any):
        self._start(_settings(url, options))

    def _start(self, settings: SentinelSettings) -> None:
        self.settings = settings
        self._client: Any = sync_primary_client(settings)  # connects on first use
        guard, self._leave_guard = redis_guard(
            self, settings, lambda: SyncRedisSentinelCache.from_settings(probe_settings(settings))
        )
        super().__init__(self._execute_on_client, settings.key_prefix, settings.describe(), guard)

    def _execute_on_client(self, command: Command) -> Any:
        if self._closed:  # an operation that was already running when close() came
            raise CacheClosedError("the adapter was closed", operation="")
        return send_plan(plan(command), lambda request: send_on_client(self._client, request))

    def _release(self) -> None:
        self._leave_guard()
        close_primary_client(self._client)


class RedisSentinelCache(FromSettings, AsyncCache):
    """The async face of the primary that Redis Sentinel names (same options as
    :class:`SyncRedisSentinelCache`); one client per running event loop."""

    def __init__(self, url: str = "redis+sentinel://localhost:26379/mymaster", **options: Any):
        self._start(_settings(url, options))

    def _start(self, settings: SentinelSettings) -> None:
        self.settings = settings
        node = settings.node
        self._transaction_bound = 2 * node.timeout + node.connect_timeout
        self._loops: LoopClients[Any] = LoopClients(
            lambda: async_primary_client(settings), aclose_primary_client
        )
        guard, self._leave_guard = redis_guard(
            self, settings, lambda: SyncRedisSentinelCache.from_settings(probe_settings(settings))
        )
        super().__init__(self._execute_on_client, settings.key_prefix, settings.describe(), guard)

    async def _execute_on_client(self, command: Command) -> Any:
        if self._closed:  # an operation that was already running when aclose() came
            raise CacheClosedError("the adapter was closed", operation="")
        client = await self._loops.current()
        args, bound = plan(command), self._transaction_bound
        return await send_plan_async(args, lambda one: send_on_async_client(client, one, bound))

    async def _release(self) -> None:
        self._leave_guard()
        await self._loops.close_all()


register(
    config.SentinelSettings, RedisSentinelCache.from_settings, SyncRedisSentinelCache.from_settings
)
