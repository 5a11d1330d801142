"""Build an adapter from a URL: the entry point most applications use."""

from __future__ import annotations

import importlib
from typing import Any, cast

from cache_bridge import config
from cache_bridge.errors import ConfigurationError
from cache_bridge.protocol import CacheProtocol, SyncCacheProtocol

__all__ = ["create_cache", "create_sync_cache"]


def _build(url: object, options: dict[str, Any], memory_class: str, redis_class: str) -> Any:
    settings = config.parse(url, options)
    if isinstance(settings, config.MemorySettings):
        module, name = "cache_bridge.adapters.memory", memory_class
    else:
        module, name = "cache_bridge.adapters.redis", redis_class
    try:
        adapter_class = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ConfigurationError(
            "the Redis adapter needs redis-py: pip install 'cache-bridge[redis]'"
        ) from exc
    return adapter_class(url, **options)


def create_cache(url: str = "memory://", **options: Any) -> CacheProtocol:
    """An async adapter for ``url`` (``memory://[NAME]``, ``redis://``, ``rediss://``, ``unix://``).

    Raises :class:`~cache_bridge.errors.ConfigurationError` for a malformed URL or option.
    """
    return cast(CacheProtocol, _build(url, options, "InMemoryCache", "RedisCache"))


def create_sync_cache(url: str = "memory://", **options: Any) -> SyncCacheProtocol:
    """A blocking adapter for ``url``; the same URLs and options as :func:`create_cache`."""
    return cast(SyncCacheProtocol, _build(url, options, "SyncInMemoryCache", "SyncRedisCache"))
