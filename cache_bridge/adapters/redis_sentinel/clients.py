"""redis-py clients for the primary that Redis Sentinel names: explicit timeouts towards the
sentinels and the data nodes, a bounded pool that waits for a free connection, RESP2 and no
retries beyond the ``retries`` option.

Each new connection asks the sentinels where the primary is, so after a failover the same
client reaches the new primary; a connection to a primary that was demoted fails once
(redis-py turns the READONLY reply into a connection error) and is replaced.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio.sentinel as async_sentinel
import redis.sentinel as sync_sentinel
from redis import connection as sync_conn
from redis.asyncio import connection as async_conn
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from cache_bridge.adapters.redis.bounded import BoundedSentinelConnection
from cache_bridge.adapters.redis.clients import node_kwargs
from cache_bridge.config import SentinelSettings

__all__ = [
    "aclose_primary_client",
    "async_primary_client",
    "close_primary_client",
    "sync_primary_client",
]


# redis-py's sentinel module is untyped.
_SyncSentinel: Any = sync_sentinel.Sentinel
_AsyncSentinel: Any = async_sentinel.Sentinel


class _BlockingSentinelPool(sync_sentinel.SentinelConnectionPool, sync_conn.BlockingConnectionPool):
    """Sentinel's primary discovery on a pool that waits up to ``timeout`` when full."""


class _AsyncBlockingSentinelPool(
    async_sentinel.SentinelConnectionPool, async_conn.BlockingConnectionPool
):
    """The asyncio twin of :class:`_BlockingSentinelPool`."""


def _sentinel_kwargs(settings: SentinelSettings, retry: Any) -> dict[str, Any]:
    # The data nodes' timeouts and name (so operators and tests can tell the connections
    # apart), with the sentinels' own credentials.
    return {
        **node_kwargs(settings.node),
        "username": settings.sentinel_username,
        "password": settings.sentinel_password,
        "retry": retry,
    }


def _data_kwargs(settings: SentinelSettings, retry: Any) -> dict[str, Any]:
    node = settings.node
    return {
        "db": node.db,
        **node_kwargs(node),
        "retry": retry,
        "max_connections": node.max_connections,
        "timeout": node.timeout,
    }


def sync_primary_client(settings: SentinelSettings) -> Any:
    """A blocking client on the current primary of ``settings.service_name``."""
    retry = Retry(NoBackoff(), settings.node.retries)
    manager = _SyncSentinel(
        list(settings.sentinels),
        sentinel_kwargs=_sentinel_kwargs(settings, Retry(NoBackoff(), 0)),
    )
    return manager.master_for(
        settings.service_name,
        connection_pool_class=_BlockingSentinelPool,
        # Each call bounded as a whole (cache_bridge.adapters.redis.bounded).
        connection_class=BoundedSentinelConnection,
        **_data_kwargs(settings, retry),
    )


def async_primary_client(settings: SentinelSettings) -> Any:
    """An asyncio client on the current primary; it belongs to the running event loop."""
    retry = AsyncRetry(NoBackoff(), settings.node.retries)
    manager = _AsyncSentinel(
        list(settings.sentinels),
        sentinel_kwargs=_sentinel_kwargs(settings, AsyncRetry(NoBackoff(), 0)),
    )
    return manager.master_for(
        settings.service_name,
        connection_pool_class=_AsyncBlockingSentinelPool,
        **_data_kwargs(settings, retry),
    )


# The connections to the sentinels belong to the Sentinel manager's clients, not the primary
# client's pool: they are closed one by one (Sentinel.close() is recent in redis-py).


def close_primary_client(client: Any) -> None:
    """Close a blocking primary client's connections and its manager's to the sentinels."""
    pool = client.connection_pool
    try:
        pool.disconnect()
    finally:
        _close_sentinels(pool.sentinel_manager.sentinels)


async def aclose_primary_client(client: Any) -> None:
    """Like :func:`close_primary_client`, for a redis.asyncio primary client."""
    pool = client.connection_pool
    try:
        await pool.disconnect()
    finally:
        await _aclose_sentinels(pool.sentinel_manager.sentinels)


def _close_sentinels(sentinels: list[Any]) -> None:
    for sentinel in sentinels:
        sentinel.close()


async def _aclose_sentinels(sentinels: list[Any]) -> None:
    for sentinel in sentinels:
        await sentinel.aclose()
