"""redis-py cluster clients built from checked settings: explicit timeouts, bounded pools per
node, RESP2, and no retries beyond the ``retries`` option (redirections, MOVED and ASK, are
part of the cluster protocol and always followed)."""

from __future__ import annotations

from typing import Any

from redis import connection as sync_conn
from redis.asyncio import cluster as async_cluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from cache_bridge.scaling_config import ClusterSettings

__all__ = ["async_cluster_client", "sync_cluster_client"]

# redis-py's cluster node class is untyped.
_SyncNode: Any = ClusterNode


def _node_kwargs(settings: ClusterSettings) -> dict[str, Any]:
    node = settings.node
    kwargs: dict[str, Any] = {
        "username": node.username,
        "password": node.password,
        "socket_timeout": node.timeout,
        "socket_connect_timeout": node.connect_timeout,
        "client_name": node.client_name,
        # RESP2, as the single-server adapter speaks (see adapters/redis/clients.py).
        "protocol": 2,
    }
    if node.tls:
        kwargs.update(
            ssl=True,
            ssl_ca_certs=node.ssl_ca_certs,
            ssl_certfile=node.ssl_certfile,
            ssl_keyfile=node.ssl_keyfile,
            ssl_cert_reqs=node.ssl_cert_reqs,
            ssl_check_hostname=node.ssl_check_hostname,
        )
    return kwargs


def sync_cluster_client(settings: ClusterSettings) -> Any:
    """A blocking cluster client; each node's pool holds at most ``max_connections`` and a
    full pool waits up to ``timeout`` for a free connection."""
    (host, port), *others = settings.nodes
    kwargs = _node_kwargs(settings)
    if settings.node.tls:
        kwargs.pop("ssl")
        kwargs["connection_class"] = sync_conn.SSLConnection
    scheme = "rediss" if settings.node.tls else "redis"
    return RedisCluster(
        # A URL makes redis-py build each node's pool with connection_pool_class.
        url=f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}",
        startup_nodes=[_SyncNode(h, p) for h, p in others],
        retry=Retry(NoBackoff(), settings.node.retries),
        connection_pool_class=sync_conn.BlockingConnectionPool,
        max_connections=settings.node.max_connections,
        timeout=settings.node.timeout,
        **kwargs,
    )


def async_cluster_client(settings: ClusterSettings) -> Any:
    """An asyncio cluster client for the running loop; each node opens at most
    ``max_connections`` (the adapter makes callers wait for a free one)."""
    return async_cluster.RedisCluster(
        startup_nodes=[async_cluster.ClusterNode(h, p) for h, p in settings.nodes],
        retry=AsyncRetry(NoBackoff(), settings.node.retries),
        max_connections=settings.node.max_connections,
        **_node_kwargs(settings),
    )
