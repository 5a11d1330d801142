"""The Redis adapter (``redis://``, ``rediss://``, ``unix://``), on redis-py.

hiredis parses replies when it is installed (the ``redis`` extra installs it).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import redis
import redis.asyncio

from cache_bridge import config
from cache_bridge.adapters.redis.clients import async_client, sync_client
from cache_bridge.adapters.redis.errors import translate
from cache_bridge.adapters.redis.plan import plan
from cache_bridge.commands import Command
from cache_bridge.drivers import register_translator
from cache_bridge.errors import CacheClosedError, ConfigurationError
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.guard import Guard

__all__ = ["RedisCache", "SyncRedisCache"]

register_translator(translate)


def _settings(url: str, options: dict[str, Any]) -> config.RedisSettings:
    settings = config.parse(url, options)
    if not isinstance(settings, config.RedisSettings):
        raise ConfigurationError(
            "RedisCache takes a redis://, rediss:// or unix:// URL; use InMemoryCache for memory://"
        )
    return settings


class SyncRedisCache(SyncCache):
    """The blocking face of a Redis database; one connection pool, shared by threads.

    Options: ``key_prefix``, ``db``, ``username``, ``password``, ``connect_timeout`` and
    ``timeout`` (seconds, default 1.0 each), ``max_connections`` (default 50), ``retries``
    (default 0), ``breaker_threshold`` (consecutive connection failures that open the circuit
    breaker, default 5; 0 turns it off), ``breaker_cooldown`` (seconds it stays open, default
    2.0), ``client_name`` and the ``ssl_*`` options for ``rediss://``.
    """

    def __init__(self, url: str = "redis://localhost:6379/0", **options: Any) -> None:
        self.settings = _settings(url, options)
        self._client = sync_client(self.settings)
        super().__init__(
            self._execute_on_client,
            self.settings.key_prefix,
            self.settings.describe(),
            Guard(self.settings.describe(), self.settings.breaker()),
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
        self._client.connection_pool.disconnect()


class RedisCache(AsyncCache):
    """The async face of a Redis database (same options as :class:`SyncRedisCache`).

    redis.asyncio connections belong to the event loop that opened them, so the adapter keeps
    one pool per running loop: it is safe to use from frameworks that run each request in a
    fresh loop.
    """

    def __init__(self, url: str = "redis://localhost:6379/0", **options: Any) -> None:
        self.settings = _settings(url, options)
        self._clients: dict[asyncio.AbstractEventLoop, redis.asyncio.Redis] = {}
        # Loops of several threads (WSGI workers running async views) may add pools at once.
        self._clients_lock = threading.Lock()
        super().__init__(
            self._execute_on_client,
            self.settings.key_prefix,
            self.settings.describe(),
            Guard(self.settings.describe(), self.settings.breaker()),
        )

    def _client(self) -> redis.asyncio.Redis:
        if self._closed:  # an operation that was already running when aclose() came
            raise CacheClosedError("the adapter was closed", operation="")
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            with self._clients_lock:
                # Pools of loops that have closed can no longer be used or awaited; dropping
                # them lets the garbage collector close their sockets.
                for closed in [old for old in self._clients if old.is_closed()]:
                    del self._clients[closed]
                client = self._clients[loop] = async_client(self.settings)
        return client

    async def _execute_on_client(self, command: Command) -> Any:
        args = plan(command)
        client = self._client()
        if isinstance(args, list):
            async with client.pipeline(transaction=True) as pipe:
                for one in args:
                    pipe.execute_command(*one)
                return await pipe.execute()
        return await client.execute_command(*args)

    async def _release(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, {}
        loop = asyncio.get_running_loop()
        # Another loop's connections cannot be awaited from this one; dropping them leaves
        # their sockets to the garbage collector.
        client = clients.get(loop)
        if client is not None:
            await client.connection_pool.disconnect()
