"""redis-py clients built from checked settings: one pool per adapter (per event loop for the
async face), explicit timeouts, a pool that waits for a free connection, and no hidden retries.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
from redis import connection as sync_conn
from redis.asyncio import connection as async_conn
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from cache_bridge.adapters.redis.bounded import (
    BoundedConnection,
    BoundedSSLConnection,
    BoundedUnixConnection,
)
from cache_bridge.config import RedisSettings

__all__ = ["async_client", "node_kwargs", "sync_client", "tls_kwargs"]


def node_kwargs(settings: RedisSettings) -> dict[str, Any]:
    """What every connection to a Redis node takes from the settings, whatever the topology
    (one server, a cluster node, a sentinel-managed primary): credentials, timeouts, name, and
    the protocol."""
    return {
        "username": settings.username,
        "password": settings.password,
        "socket_timeout": settings.timeout,
        "socket_connect_timeout": settings.connect_timeout,
        "client_name": settings.client_name,
        # RESP2, as redis-py before 8.0 speaks by default. redis-py 8 defaults to RESP3, which
        # turns on its "auto" maintenance notifications; while they are on, the asyncio pool
        # skips its check for idle connections the server has closed, so after a Redis restart
        # every idle pooled connection failed one call.
        "protocol": 2,
    }


def tls_kwargs(settings: RedisSettings) -> dict[str, Any]:
    """The certificate options of a ``rediss://`` connection."""
    return {
        "ssl_ca_certs": settings.ssl_ca_certs,
        "ssl_certfile": settings.ssl_certfile,
        "ssl_keyfile": settings.ssl_keyfile,
        "ssl_cert_reqs": settings.ssl_cert_reqs,
        "ssl_check_hostname": settings.ssl_check_hostname,
    }


def _connection_kwargs(settings: RedisSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"db": settings.db, **node_kwargs(settings)}
    if settings.path is not None:
        kwargs["path"] = settings.path
    else:
        kwargs["host"] = settings.host
        kwargs["port"] = settings.port
    if settings.tls:
        kwargs.update(tls_kwargs(settings))
    return kwargs


def _pool_kwargs(settings: RedisSettings, tcp: type, tls: type, unix: type) -> dict[str, Any]:
    """Pool arguments, with the connection class among ``tcp``, ``tls`` and ``unix`` that the
    URL asks for."""
    connection_class = unix if settings.path is not None else tls if settings.tls else tcp
    return {
        "max_connections": settings.max_connections,
        "timeout": settings.timeout,
        "connection_class": connection_class,
        **_connection_kwargs(settings),
    }


def sync_client(settings: RedisSettings) -> redis.Redis:
    """A blocking client with its own bounded, waiting connection pool; each of its calls is
    bounded as a whole (:mod:`cache_bridge.adapters.redis.bounded`)."""
    classes = (BoundedConnection, BoundedSSLConnection, BoundedUnixConnection)
    pool = sync_conn.BlockingConnectionPool(
        retry=Retry(NoBackoff(), settings.retries), **_pool_kwargs(settings, *classes)
    )
    return redis.Redis(connection_pool=pool)


def async_client(settings: RedisSettings) -> redis.asyncio.Redis:
    """An asyncio client with its own pool; it belongs to the running event loop."""
    classes = (
        async_conn.Connection,
        async_conn.SSLConnection,
        async_conn.UnixDomainSocketConnection,
    )
    pool = async_conn.BlockingConnectionPool(
        retry=AsyncRetry(NoBackoff(), settings.retries), **_pool_kwargs(settings, *classes)
    )
    return redis.asyncio.Redis(connection_pool=pool)
