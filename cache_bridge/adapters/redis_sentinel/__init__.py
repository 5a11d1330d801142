"""The Redis Sentinel adapter (``redis+sentinel://``): every read and write goes to the
primary that the sentinels name now, and the same adapter follows a failover."""

from __future__ import annotations

from cache_bridge.adapters.redis_sentinel.adapter import RedisSentinelCache, SyncRedisSentinelCache

__all__ = ["RedisSentinelCache", "SyncRedisSentinelCache"]
