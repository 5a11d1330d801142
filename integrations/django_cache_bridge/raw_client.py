"""``BridgeCache.get_client()``: a raw redis-py client on the alias's Redis, the documented
escape hatch for what BridgeCache does not offer (django-redis's ``get_client``).

Outside every guarantee: the client has its own connection pool (made once per alias
configuration and process, with the alias's timeouts, credentials and TLS settings), and
what goes through it is not namespaced (no KEY_PREFIX or VERSION), not signed or encoded, not
fail-open and not seen by the circuit breaker or the outage log.
"""

from __future__ import annotations

import threading
from typing import Any

from cache_bridge import config
from django_cache_bridge.options import AliasSettings

__all__ = ["raw_client"]

_clients: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def _node_kwargs(node: config.RedisSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "username": node.username,
        "password": node.password,
        "socket_timeout": node.timeout,
        "socket_connect_timeout": node.connect_timeout,
        "client_name": node.client_name,
    }
    if node.scheme == "rediss":
        kwargs.update(
            ssl=True,
            ssl_ca_certs=node.ssl_ca_certs,
            ssl_certfile=node.ssl_certfile,
            ssl_keyfile=node.ssl_keyfile,
            ssl_cert_reqs=node.ssl_cert_reqs,
            ssl_check_hostname=node.ssl_check_hostname,
        )
    return kwargs


def _build(settings: Any) -> Any:
    import redis
    from redis.cluster import ClusterNode, RedisCluster
    from redis.sentinel import Sentinel

    match settings:
        case config.RedisSettings():
            kwargs = _node_kwargs(settings)
            kwargs["max_connections"] = settings.max_connections
            if settings.path is not None:
                kwargs = {k: v for k, v in kwargs.items() if not k.startswith("ssl")}
                return redis.Redis(unix_socket_path=settings.path, db=settings.db, **kwargs)
            return redis.Redis(host=settings.host, port=settings.port, db=settings.db, **kwargs)
        case config.ClusterSettings():
            nodes = [ClusterNode(host, port) for host, port in settings.nodes]  # type: ignore[no-untyped-call]
            return RedisCluster(startup_nodes=nodes, **_node_kwargs(settings.node))
        case config.SentinelSettings():
            sentinel_kwargs = {
                "username": settings.sentinel_username,
                "password": settings.sentinel_password,
                "socket_timeout": settings.node.timeout,
            }
            sentinel = Sentinel(list(settings.sentinels), sentinel_kwargs=sentinel_kwargs)
            node = _node_kwargs(settings.node)
            return sentinel.master_for(settings.service_name, db=settings.node.db, **node)
    raise NotImplementedError(
        f"{settings.describe()} has no raw client: get_client() needs a Redis LOCATION"
    )


def raw_client(bridge: AliasSettings) -> Any:
    """The blocking redis-py client (``redis.Redis``, ``RedisCluster`` or a Sentinel's primary
    client) on the alias's store, made on first use; ``NotImplementedError`` for memory://."""
    key = (bridge.location, bridge.core_options)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _build(bridge.settings)
        return client
