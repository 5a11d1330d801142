"""The Redis adapter's two faces (``redis://``, ``rediss://``, ``unix://``), on redis-py."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from returns.result import Result, Success

from cache_bridge import config
from cache_bridge.adapters.building import FromSettings
from cache_bridge.adapters.loop_clients import LoopClients
from cache_bridge.adapters.redis.clients import async_client, sync_client
from cache_bridge.adapters.redis.errors import translate
from cache_bridge.adapters.redis.executors import SyncExecutor
from cache_bridge.adapters.redis.guards import probe_settings, redis_guard
from cache_bridge.adapters.redis.lanes import Lanes
from cache_bridge.adapters.redis.near_cache import MISS, NearCache
from cache_bridge.adapters.redis.plan import plan
from cache_bridge.adapters.redis.sending import Request, send_on_async_client, send_plan_async
from cache_bridge.adapters.redis.tracking import start_near_cache
from cache_bridge.engine import codec
from cache_bridge.engine.commands import Command
from cache_bridge.engine.drivers import register_translator
from cache_bridge.engine.keys import MAX_KEY_LENGTH, KeySpace
from cache_bridge.errors import CacheClosedError, ConfigurationError, DomainError
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.factory import register
from cache_bridge.observability import events

__all__ = ["RedisCache", "SyncRedisCache"]

register_translator(translate)


def _settings(url: str, options: dict[str, Any]) -> config.RedisSettings:
    takes = "RedisCache takes a redis://, rediss:// or unix:// URL (InMemoryCache: memory://)"
    return config.parse_as(url, options, config.RedisSettings, takes)


def _probe(settings: config.RedisSettings) -> config.RedisSettings:
    return dataclasses.replace(probe_settings(settings), near_cache=False)


class _LocalReads:
    """A ``get`` answered by the near cache without running an operation (a hit's path)."""

    near_cache: NearCache | None
    _ns: KeySpace
    _closed: bool

    def _local_text(self, key: object) -> Any:
        """``get(key)``'s value from the near cache, or :data:`MISS` whenever the operation
        must run: no near cache or no local copy, a listener to tell
        (:mod:`cache_bridge.observability`), a closed adapter, a key the operation must
        check, a value that is not text."""
        near = self.near_cache
        if near is None or events.listeners or self._closed or type(key) is not str:
            return MISS
        if not (key.isascii() and 0 < len(key) <= MAX_KEY_LENGTH):
            return MISS
        raw = near.value(self._ns.prefix + key)
        if raw is None or raw is MISS:
            return raw
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return MISS

    def _local_json(self, key: object) -> Any:
        """``get_json(key)``'s value from the near cache (parsed anew: a dict of its own for
        each caller), or :data:`MISS` as :meth:`_local_text` says, or for JSON that is not an
        object."""
        text = self._local_text(key)
        if text is None or text is MISS:
            return text
        try:
            return codec.loads_object(text)
        except codec.Undecodable:
            return MISS


class SyncRedisCache(FromSettings, _LocalReads, SyncCache):
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
        self._start(_settings(url, options))

    def _start(self, settings: config.RedisSettings) -> None:
        self.settings = settings
        self._client = sync_client(settings)
        self._executor = SyncExecutor(self._client, settings.retries)
        near = start_near_cache(settings)
        #: The near cache (``near_cache=True``; docs/near-cache.md), else None.
        self.near_cache: NearCache | None = near[0] if near else None
        self._leave_near = near[1] if near else None
        guard, self._leave_guard = redis_guard(
            self, settings, lambda: SyncRedisCache.from_settings(_probe(settings))
        )
        execute: Callable[[Command], Any] = self._execute_on_client
        if near is not None:
            execute = functools.partial(near[0].execute, run=self._execute_on_client)
        super().__init__(execute, settings.key_prefix, settings.describe(), guard)

    def _execute_on_client(self, command: Command) -> Any:
        if self._closed:  # an operation that was already running when close() came
            raise CacheClosedError("the adapter was closed", operation="")
        return self._executor(command)

    def get(self, key: str) -> Result[str | None, DomainError]:
        found = self._local_text(key)
        return super().get(key) if found is MISS else Success(found)

    def get_json(self, key: str) -> Result[dict[str, Any] | None, DomainError]:
        found = self._local_json(key)
        return super().get_json(key) if found is MISS else Success(found)

    def _release(self) -> None:
        if self._leave_near is not None:
            self._leave_near()
        self._executor.close()
        self._leave_guard()


class RedisCache(FromSettings, _LocalReads, AsyncCache):
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
        self._start(_settings(url, options), pipelining)

    def _start(self, settings: config.RedisSettings, pipelining: bool = True) -> None:
        self.settings = settings
        self.pipelining = pipelining
        self._transaction_bound = 2 * settings.timeout + settings.connect_timeout
        # One client per running loop, closed on its loop when that loop ends or at aclose().
        self._clients = LoopClients(self._new_client, _LoopClient.aclose)
        # The near cache's invalidations come on a blocking connection read by a thread: it
        # belongs to no event loop, so one serves every loop's client.
        near = start_near_cache(settings)
        #: The near cache (``near_cache=True``; docs/near-cache.md), else None.
        self.near_cache: NearCache | None = near[0] if near else None
        self._leave_near = near[1] if near else None
        guard, self._leave_guard = redis_guard(
            self, settings, lambda: SyncRedisCache.from_settings(_probe(settings))
        )
        execute: Callable[[Command], Awaitable[Any]] = self._execute_on_client
        if near is not None:
            execute = functools.partial(near[0].aexecute, run=self._execute_on_client)
        super().__init__(execute, settings.key_prefix, settings.describe(), guard)

    def _new_client(self) -> _LoopClient:
        return _LoopClient(self.settings, self.pipelining, self._transaction_bound)

    async def get(self, key: str) -> Result[str | None, DomainError]:
        found = self._local_text(key)
        return await super().get(key) if found is MISS else Success(found)

    async def get_json(self, key: str) -> Result[dict[str, Any] | None, DomainError]:
        found = self._local_json(key)
        return await super().get_json(key) if found is MISS else Success(found)

    async def _execute_on_client(self, command: Command) -> Any:
        if self._closed:  # an operation that was already running when aclose() came
            raise CacheClosedError("the adapter was closed", operation="")
        client = await self._clients.current()
        return await send_plan_async(plan(command), client.send)

    async def _release(self) -> None:
        if self._leave_near is not None:
            self._leave_near()
        self._leave_guard()
        await self._clients.close_all()


class _LoopClient:
    """One event loop's redis.asyncio client, and its automatic pipeline if it has one."""

    def __init__(
        self, settings: config.RedisSettings, pipelining: bool, transaction_bound: float
    ) -> None:
        self.redis = async_client(settings)
        self._transaction_bound = transaction_bound
        # With retries the commands go through redis-py's client, whose retry policy applies.
        # The pipeline holds one connection for good and MULTI/EXEC needs another: a pool of
        # one connection is left to redis-py's client too.
        pool = self.redis.connection_pool
        self.pipeline = (
            Lanes(pool, settings.timeout, settings.connect_timeout, settings.max_connections - 1)
            if pipelining and settings.retries == 0 and settings.max_connections >= 2
            else None
        )

    def send(self, request: Request) -> Awaitable[Any]:
        # (not a coroutine of its own: one frame less on every call)
        if isinstance(request, list) or self.pipeline is None:
            return send_on_async_client(self.redis, request, self._transaction_bound)
        return self.pipeline.execute(request)

    async def aclose(self) -> None:
        if self.pipeline is not None:
            await self.pipeline.aclose()
        await self.redis.connection_pool.disconnect()


register(config.RedisSettings, RedisCache.from_settings, SyncRedisCache.from_settings)
