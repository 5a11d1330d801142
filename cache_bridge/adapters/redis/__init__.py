"""The Redis adapter (``redis://``, ``rediss://``, ``unix://``), on redis-py.

hiredis parses replies when it is installed (the ``redis`` extra installs it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis
import redis.asyncio

from cache_bridge import config
from cache_bridge.adapters.loop_clients import LoopClients
from cache_bridge.adapters.redis.clients import async_client, sync_client
from cache_bridge.adapters.redis.errors import translate
from cache_bridge.adapters.redis.executors import SyncExecutor
from cache_bridge.adapters.redis.guards import PROBE_OPTIONS, redis_guard
from cache_bridge.adapters.redis.lanes import Lanes
from cache_bridge.adapters.redis.plan import Args, plan
from cache_bridge.adapters.redis.scripts import as_evalsha
from cache_bridge.engine.commands import Command
from cache_bridge.engine.drivers import register_translator
from cache_bridge.errors import CacheClosedError, ConfigurationError
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.factory import register

__all__ = ["RedisCache", "SyncRedisCache"]

register_translator(translate)


def _settings(url: str, options: dict[str, Any]) -> config.RedisSettings:
    takes = "RedisCache takes a redis://, rediss:// or unix:// URL (InMemoryCache: memory://)"
    return config.parse_as(url, options, config.RedisSettings, takes)


class SyncRedisCache(SyncCache):
    """The blocking face of a Redis database; one connection pool, shared by threads.

    Options: ``key_prefix``, ``db``, ``username``, ``password``, ``connect_timeout`` and
    ``timeout`` (seconds, default 1.0 each), ``max_connections`` (default 50), ``retries``
    (default 0), ``breaker_threshold`` (the first connection or timeout failure opens the
    circuit breaker and a background probe closes it when the server answers; after this many
    failures in a row, default 5, it probes once per cool-down; 0 turns the breaker off),
    ``breaker_cooldown`` (seconds between two probes then, default 2.0), ``client_name`` and
    the ``ssl_*`` options for ``rediss://``.
    """

    def __init__(self, url: str = "redis://localhost:6379/0", **options: Any) -> None:
        self.settings = _settings(url, options)
        self._client = sync_client(self.settings)
        self._executor = SyncExecutor(self._client, self.settings.retries)
        given = dict(options)
        guard, self._leave_guard = redis_guard(
            self, self.settings, lambda: SyncRedisCache(url, **{**given, **PROBE_OPTIONS})
        )
        super().__init__(
            self._execute_on_client, self.settings.key_prefix, self.settings.describe(), guard
        )

    def _execute_on_client(self, command: Command) -> Any:
        if self._closed:  # an operation that was already running when close() came
            raise CacheClosedError("the adapter was closed", operation="")
        return self._executor(command)

    def _release(self) -> None:
        self._executor.close()
        self._leave_guard()


class RedisCache(AsyncCache):
    """The async face of a Redis database (same options as :class:`SyncRedisCache`).

    redis.asyncio connections belong to the event loop that opened them, so the adapter keeps
    one pool per running loop: it is safe to use from frameworks that run each request in a
    fresh loop.

    With ``pipelining=True`` (the default), single commands issued while the loop is busy share
    one write and one round trip on one connection per loop
    (:mod:`cache_bridge.adapters.redis.pipelining`), and go on more connections only while a
    round trip is slow (:mod:`cache_bridge.adapters.redis.lanes`); every call still gets its
    own result.
    With ``retries`` > 0 commands are not pipelined, so that each can be retried alone; nor
    with ``max_connections=1`` (the pipeline keeps a connection, MULTI/EXEC needs another).
    """

    def __init__(self, url: str = "redis://localhost:6379/0", **options: Any) -> None:
        pipelining = options.pop("pipelining", True)
        if not isinstance(pipelining, bool):
            raise ConfigurationError(f"pipelining must be True or False, not {pipelining!r}")
        self.settings = _settings(url, options)
        self.pipelining = pipelining
        self._transaction_bound = 2 * self.settings.timeout + self.settings.connect_timeout
        # One client per running loop, closed on its loop when that loop ends or at aclose().
        self._clients = LoopClients(self._new_client, _LoopClient.aclose)
        given = dict(options)
        guard, self._leave_guard = redis_guard(
            self, self.settings, lambda: SyncRedisCache(url, **{**given, **PROBE_OPTIONS})
        )
        super().__init__(
            self._execute_on_client, self.settings.key_prefix, self.settings.describe(), guard
        )

    def _new_client(self) -> _LoopClient:
        return _LoopClient(self.settings, self.pipelining)

    async def _execute_on_client(self, command: Command) -> Any:
        if self._closed:  # an operation that was already running when aclose() came
            raise CacheClosedError("the adapter was closed", operation="")
        args = plan(command)
        client = await self._clients.current()
        if isinstance(args, list):
            # redis-py bounds each reply; the whole of it (a wait for a pooled connection,
            # opening one, the exchange) is bounded here.
            async with asyncio.timeout(self._transaction_bound):
                async with client.redis.pipeline(transaction=True) as pipe:
                    for one in args:
                        pipe.execute_command(*one)
                    return await pipe.execute()
        if args[0] == "EVAL":
            try:
                return await client.execute(as_evalsha(args))
            except redis.exceptions.NoScriptError:
                pass  # EVAL also loads the script for the next EVALSHA
        return await client.execute(args)

    async def _release(self) -> None:
        self._leave_guard()
        await self._clients.close_all()


class _LoopClient:
    """One event loop's redis.asyncio client, and its automatic pipeline if it has one."""

    def __init__(self, settings: config.RedisSettings, pipelining: bool) -> None:
        self.redis = async_client(settings)
        # With retries the commands go through redis-py's client, whose retry policy applies.
        # The pipeline holds one connection for good and MULTI/EXEC needs another: a pool of
        # one connection is left to redis-py's client too.
        pool = self.redis.connection_pool
        self.pipeline = (
            Lanes(pool, settings.timeout, settings.connect_timeout, settings.max_connections - 1)
            if pipelining and settings.retries == 0 and settings.max_connections >= 2
            else None
        )

    async def execute(self, args: Args) -> Any:
        if self.pipeline is not None:
            return await self.pipeline.execute(args)
        return await self.redis.execute_command(*args)

    async def aclose(self) -> None:
        if self.pipeline is not None:
            await self.pipeline.aclose()
        await self.redis.connection_pool.disconnect()


register(config.RedisSettings, RedisCache, SyncRedisCache)
