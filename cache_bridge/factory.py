"""Build an adapter from a URL: the entry point most applications use."""

from __future__ import annotations

from typing import Any

from cache_bridge import config
from cache_bridge.errors import ConfigurationError
from cache_bridge.protocol import CacheProtocol, SyncCacheProtocol

__all__ = ["create_cache", "create_sync_cache"]

_REDIS_MISSING = "the Redis adapter needs redis-py: pip install 'cache-bridge[redis]'"


def create_cache(url: str = "memory://", **options: Any) -> CacheProtocol:
    """An async adapter for ``url`` (``memory://[NAME]``, ``redis://``, ``rediss://``, ``unix://``).

    Raises :class:`~cache_bridge.errors.ConfigurationError` for a malformed URL or option.
    """
    settings = config.parse(url, options)
    if isinstance(settings, config.MemorySettings):
        from cache_bridge.adapters.memory import InMemoryCache

        return InMemoryCache(url, **options)
    try:
        from cache_bridge.adapters.redis import RedisCache
    except ImportError as exc:
        raise ConfigurationError(_REDIS_MISSING) from exc
    return RedisCache(url, **options)


def create_sync_cache(url: str = "memory://", **options: Any) -> SyncCacheProtocol:
    """A blocking adapter for ``url``; the same URLs and options as :func:`create_cache`."""
    settings = config.parse(url, options)
    if isinstance(settings, config.MemorySettings):
        from cache_bridge.adapters.memory import SyncInMemoryCache

        return SyncInMemoryCache(url, **options)
    try:
        from cache_bridge.adapters.redis import SyncRedisCache
    except ImportError as exc:
        raise ConfigurationError(_REDIS_MISSING) from exc
    return SyncRedisCache(url, **options)
