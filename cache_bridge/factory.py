"""Build an adapter from a URL: the entry point most applications use."""

from __future__ import annotations

import importlib
from typing import Any, cast

from cache_bridge import config
from cache_bridge.errors import ConfigurationError
from cache_bridge.protocol import CacheProtocol, SyncCacheProtocol

__all__ = ["create_cache", "create_sync_cache"]


# Each kind of settings: the adapter module, then its (async, blocking) classes.
_ADAPTERS = {
    "MemorySettings": ("cache_bridge.adapters.memory", "InMemoryCache", "SyncInMemoryCache"),
    "RedisSettings": ("cache_bridge.adapters.redis", "RedisCache", "SyncRedisCache"),
    "ClusterSettings": (
        "cache_bridge.adapters.redis_cluster",
        "RedisClusterCache",
        "SyncRedisClusterCache",
    ),
    "SentinelSettings": (
        "cache_bridge.adapters.redis_sentinel",
        "RedisSentinelCache",
        "SyncRedisSentinelCache",
    ),
}


def _build(url: object, options: dict[str, Any], blocking: bool) -> Any:
    settings = config.parse(url, options)
    module, async_name, sync_name = _ADAPTERS[type(settings).__name__]
    name = sync_name if blocking else async_name
    try:
        adapter_class = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ConfigurationError(
            "the Redis adapter needs redis-py: pip install 'cache-bridge[redis]'"
        ) from exc
    return adapter_class(url, **options)


def create_cache(url: str = "memory://", **options: Any) -> CacheProtocol:
    """An async adapter for ``url`` (``memory://[NAME]``, ``redis://``, ``rediss://``, ``unix://``,
    ``redis+cluster://``, ``rediss+cluster://``, ``redis+sentinel://``).

    Raises :class:`~cache_bridge.errors.ConfigurationError` for a malformed URL or option.
    """
    return cast(CacheProtocol, _build(url, options, blocking=False))


def create_sync_cache(url: str = "memory://", **options: Any) -> SyncCacheProtocol:
    """A blocking adapter for ``url``; the same URLs and options as :func:`create_cache`."""
    return cast(SyncCacheProtocol, _build(url, options, blocking=True))
