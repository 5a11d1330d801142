"""The Redis adapter (``redis://``, ``rediss://``, ``unix://``), on redis-py.

hiredis parses replies when it is installed (the ``redis`` extra installs it).
"""

from __future__ import annotations

from cache_bridge.adapters.redis.adapter import RedisCache, SyncRedisCache

__all__ = ["RedisCache", "SyncRedisCache"]
