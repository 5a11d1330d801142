"""cache_bridge: one typed cache protocol, async and blocking, over in-memory and Redis stores.

Every operation returns ``returns.result.Result`` and never raises::

    from returns.result import Failure, Success
    from cache_bridge import create_cache, CacheConnectionError

    async with create_cache("redis://localhost:6379/0", key_prefix="app") as cache:
        match await cache.get("user:1"):
            case Success(None): ...            # miss
            case Success(value): ...           # hit
            case Failure(CacheConnectionError()): ...  # fail open
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cache_bridge.adapters.memory import InMemoryCache, SyncInMemoryCache
from cache_bridge.engine.keys import MAX_KEY_LENGTH, MAX_TTL
from cache_bridge.errors import (
    CacheClosedError,
    CacheConnectionError,
    CacheError,
    CacheInvalidArgumentError,
    CachePoolExhaustedError,
    CacheSerializationError,
    CacheServerError,
    CacheTimeoutError,
    CacheUnavailableError,
    CacheValueError,
    ClusterTopologyChangedError,
    ConfigurationError,
    DomainError,
)
from cache_bridge.factory import create_cache, create_sync_cache
from cache_bridge.protocol import CacheEntry, CacheProtocol, SyncCacheProtocol

if TYPE_CHECKING:
    from cache_bridge.adapters.redis import RedisCache, SyncRedisCache

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_TTL",
    "CacheClosedError",
    "CacheConnectionError",
    "CacheEntry",
    "CacheError",
    "CacheInvalidArgumentError",
    "CachePoolExhaustedError",
    "CacheProtocol",
    "CacheSerializationError",
    "CacheServerError",
    "CacheTimeoutError",
    "CacheUnavailableError",
    "CacheValueError",
    "ClusterTopologyChangedError",
    "ConfigurationError",
    "DomainError",
    "InMemoryCache",
    "RedisCache",
    "SyncCacheProtocol",
    "SyncInMemoryCache",
    "SyncRedisCache",
    "create_cache",
    "create_sync_cache",
]

__version__ = "0.1.0"


def _register_bundled_adapters() -> None:
    # Importing an adapter registers its URL schemes with the factory. The Redis family needs
    # redis-py (the [redis] extra); without it, create_cache says which extra to install.
    import importlib

    try:
        import redis  # noqa: F401
    except ImportError:
        return
    for name in ("redis", "redis_cluster", "redis_sentinel"):
        importlib.import_module(f"cache_bridge.adapters.{name}")


_register_bundled_adapters()


def __getattr__(name: str) -> Any:
    # The Redis classes load redis-py on first use, so the core imports without it.
    if name in ("RedisCache", "SyncRedisCache"):
        from cache_bridge.adapters import redis as redis_adapter

        return getattr(redis_adapter, name)
    raise AttributeError(f"module 'cache_bridge' has no attribute {name!r}")
