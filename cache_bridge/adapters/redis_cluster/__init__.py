"""The Redis Cluster adapter (``redis+cluster://``, ``rediss+cluster://``), on redis-py's
cluster clients.

Every operation of the contract works across slots: batches are split by hash slot
(:mod:`cache_bridge.adapters.redis_cluster.routing`), ``delete_pattern`` and ``flush`` visit
every primary, and the client follows the cluster's topology (MOVED / ASK redirections, a
refresh of the slot map after a node fails). Each node has a circuit breaker of its own
(:mod:`cache_bridge.adapters.redis_cluster.nodes`): a primary that fails makes only the calls
that need it fail fast.
"""

from __future__ import annotations

from cache_bridge.adapters.redis_cluster.adapter import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.adapters.redis_cluster.availability import unavailable
from cache_bridge.adapters.redis_cluster.scan import ClusterTopologyChangedError

__all__ = [
    "ClusterTopologyChangedError",
    "RedisClusterCache",
    "SyncRedisClusterCache",
    "unavailable",
]
