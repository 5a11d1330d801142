"""redis-py cluster clients built from checked settings: explicit timeouts, bounded pools per
node, RESP2, and no retries beyond the ``retries`` option (redirections, MOVED and ASK, are
part of the cluster protocol and always followed).

A refresh of the slot map asks the URL's nodes only (``dynamic_startup_nodes=False``), not
every node discovered since, so the time a refresh may take follows from the URL and the
timeouts (:func:`cache_bridge.config.ClusterSettings.call_bound`).
"""

from __future__ import annotations

from typing import Any

from redis import connection as sync_conn
from redis._parsers.commands import AsyncCommandsParser
from redis.asyncio import cluster as async_cluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from cache_bridge.adapters.redis.bounded import BoundedConnection, BoundedSSLConnection
from cache_bridge.adapters.redis.clients import node_kwargs, tls_kwargs
from cache_bridge.config import ClusterSettings

__all__ = ["CommandTable", "async_cluster_client", "check_client", "sync_cluster_client"]

# redis-py's cluster node class is untyped.
_SyncNode: Any = ClusterNode


def _node_kwargs(settings: ClusterSettings) -> dict[str, Any]:
    node = settings.node
    kwargs = node_kwargs(node)
    if node.tls:
        kwargs.update(ssl=True, **tls_kwargs(node))
    return kwargs


def check_client(client: Any) -> Any:
    """``client``, once it is known to have the redis-py internals the adapter reads (the slot
    map, ``nodes_manager.slots_cache``: slot -> nodes, primary first); a redis-py release
    without them fails here, loudly, instead of misrouting."""
    manager = getattr(client, "nodes_manager", None)
    slots = getattr(manager, "slots_cache", None)
    if not isinstance(slots, dict) or not callable(getattr(manager, "initialize", None)):
        raise RuntimeError(
            "this redis-py release has no RedisCluster.nodes_manager.slots_cache / "
            "initialize(), which the Redis Cluster adapter reads; install a redis-py that "
            "cache_bridge supports"
        )
    return client


def sync_cluster_client(settings: ClusterSettings) -> Any:
    """A blocking cluster client; each node's pool holds at most ``max_connections`` and a
    full pool waits up to ``timeout`` for a free connection."""
    (host, port), *others = settings.nodes
    kwargs = _node_kwargs(settings)
    # Each call bounded as a whole (cache_bridge.adapters.redis.bounded).
    kwargs["connection_class"] = BoundedConnection
    if settings.node.tls:
        kwargs.pop("ssl")
        kwargs["connection_class"] = BoundedSSLConnection
    scheme = "rediss" if settings.node.tls else "redis"
    client = RedisCluster(
        # A URL makes redis-py build each node's pool with connection_pool_class.
        url=f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}",
        startup_nodes=[_SyncNode(h, p) for h, p in others],
        retry=Retry(NoBackoff(), settings.node.retries),
        connection_pool_class=sync_conn.BlockingConnectionPool,
        max_connections=settings.node.max_connections,
        timeout=settings.node.timeout,
        dynamic_startup_nodes=False,
        **kwargs,
    )
    return check_client(client)


class CommandTable:
    """The server's ``COMMAND`` table (where each command's keys are), read once per adapter
    and shared by its clients on every event loop: a client for a new loop then needs only
    ``CLUSTER SLOTS`` to start, not the large ``COMMAND`` reply as well."""

    def __init__(self) -> None:
        self.commands: dict[str, Any] | None = None


class _SharedCommandsParser(AsyncCommandsParser):
    """redis-py's asyncio key finder, reading ``COMMAND`` only if the table is still empty."""

    __slots__ = ("table",)

    def __init__(self, table: CommandTable) -> None:
        super().__init__()
        self.table = table

    async def initialize(self, node: Any = None) -> None:
        if node:
            self.node = node
        known = self.table.commands
        if known is None:
            await super().initialize(node)
            self.table.commands = self.commands
        else:
            self.commands = known


def async_cluster_client(settings: ClusterSettings, table: CommandTable | None = None) -> Any:
    """An asyncio cluster client for the running loop; each node opens at most
    ``max_connections`` (the adapter makes callers wait for a free one). Clients given the
    same ``table`` read ``COMMAND`` once between them."""
    client = async_cluster.RedisCluster(
        startup_nodes=[async_cluster.ClusterNode(h, p) for h, p in settings.nodes],
        retry=AsyncRetry(NoBackoff(), settings.node.retries),
        max_connections=settings.node.max_connections,
        dynamic_startup_nodes=False,
        **_node_kwargs(settings),
    )
    if table is not None:
        if not isinstance(getattr(client, "commands_parser", None), AsyncCommandsParser):
            raise RuntimeError(
                "this redis-py release has no RedisCluster.commands_parser, which the Redis "
                "Cluster adapter replaces; install a redis-py that cache_bridge supports"
            )
        client.commands_parser = _SharedCommandsParser(table)
    return check_client(client)
