"""The Redis Cluster adapter's two faces (``redis+cluster://``, ``rediss+cluster://``), on
redis-py's cluster clients.

Every operation of the contract works across slots: batches are split by hash slot
(:mod:`cache_bridge.adapters.redis_cluster.routing`), ``delete_pattern`` and ``flush`` visit
every primary, and the client follows the cluster's topology (MOVED / ASK redirections, a
refresh of the slot map after a node fails). Each node has a circuit breaker of its own
(:mod:`cache_bridge.adapters.redis_cluster.nodes`): a primary that fails makes only the calls
that need it fail fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from cache_bridge import config
from cache_bridge.adapters.building import FromSettings
from cache_bridge.adapters.loop_clients import LoopClients
from cache_bridge.adapters.redis.errors import translate
from cache_bridge.adapters.redis.guards import probe_settings, redis_guard
from cache_bridge.adapters.redis_cluster.availability import as_unavailable
from cache_bridge.adapters.redis_cluster.clients import (
    CommandTable,
    async_cluster_client,
    sync_cluster_client,
)
from cache_bridge.adapters.redis_cluster.execution import cluster_steps
from cache_bridge.adapters.redis_cluster.node_calls import (
    AwaitingNodes,
    BlockingNodes,
    drive_nodes,
    drive_nodes_async,
)
from cache_bridge.adapters.redis_cluster.nodes import NodeGuards, NodeProber
from cache_bridge.config import ClusterSettings
from cache_bridge.engine.commands import Command
from cache_bridge.engine.drivers import register_translator
from cache_bridge.errors import CacheClosedError, CachePoolExhaustedError
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.factory import register
from cache_bridge.resilience.guard import Prober

__all__ = ["RedisClusterCache", "SyncRedisClusterCache"]

register_translator(translate)


def _settings(url: str, options: dict[str, Any]) -> ClusterSettings:
    takes = "the Redis Cluster adapter takes a redis+cluster:// or rediss+cluster:// URL"
    return config.parse_as(url, options, ClusterSettings, takes)


def _node_guards(owner: object, settings: ClusterSettings) -> NodeGuards | None:
    """A breaker per node for an adapter (``None`` with the breaker off)."""
    if settings.node.breaker_threshold == 0:
        return None

    def make_prober(name: str) -> Prober:
        face = SyncRedisClusterCache.from_settings(probe_settings(settings))
        return NodeProber(face, face._cluster, name)

    return NodeGuards(owner, settings, make_prober)


def _leave_guards(leave_guard: Callable[[], None], nodes: NodeGuards | None) -> None:
    """A face is closed: leave its guard and its node guards."""
    leave_guard()
    if nodes is not None:
        nodes.release()


class SyncRedisClusterCache(FromSettings, SyncCache):
    """The blocking face of a Redis Cluster; one pool per node, shared by threads.

    Options: those of :class:`~cache_bridge.adapters.redis.SyncRedisCache` except ``db``
    (``max_connections`` is per node). Building it opens no connection: the cluster's slot
    map is read on first use, and a cluster that cannot be reached then is a ``Failure``.
    """

    def __init__(self, url: str = "redis+cluster://localhost:6379", **options: Any) -> None:
        self._start(_settings(url, options))

    def _start(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self._client: Any = None
        self._client_lock = threading.Lock()
        guard, self._leave_guard = redis_guard(
            self, settings, lambda: SyncRedisClusterCache.from_settings(probe_settings(settings))
        )
        self._nodes = _node_guards(self, settings)
        super().__init__(self._execute_on_client, settings.key_prefix, settings.describe(), guard)

    def _cluster(self) -> Any:
        if self._closed:  # an operation that was already running when close() came
            raise CacheClosedError("the adapter was closed", operation="")
        client = self._client
        if client is None:
            with self._client_lock:
                if self._client is None:
                    # redis-py reads the slot map when the client is built.
                    self._client = sync_cluster_client(self.settings)
                client = self._client
        return client

    def _execute_on_client(self, command: Command) -> Any:
        with as_unavailable():  # (building the client reads the slot map)
            client = self._cluster()
            steps = cluster_steps(client, command, self._nodes)
            return drive_nodes(steps, BlockingNodes(client, self._nodes).perform)

    def _release(self) -> None:
        _leave_guards(self._leave_guard, self._nodes)
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


class _LoopCluster:
    """One loop's cluster client and the permits that bound its connections per node."""

    def __init__(self, settings: ClusterSettings, table: CommandTable) -> None:
        self.client: Any = async_cluster_client(settings, table)
        # Each call holds one permit and uses at most one connection per node, so a node
        # never needs more than max_connections; callers beyond that wait, as a blocking
        # pool would, instead of failing at once.
        self.permits = asyncio.Semaphore(settings.node.max_connections)
        self._timeout = settings.node.timeout

    @contextlib.asynccontextmanager
    async def permit(self) -> AsyncIterator[None]:
        """Hold one permit, waiting up to the timeout for one."""
        try:
            async with asyncio.timeout(self._timeout):
                await self.permits.acquire()
        except TimeoutError:
            raise CachePoolExhaustedError(
                "no pooled connection came free within the timeout (max_connections are all busy)",
                operation="",
            ) from None
        try:
            yield
        finally:
            self.permits.release()

    def nodes(self, guards: NodeGuards | None) -> AwaitingNodes:
        """Node calls on this loop's client."""
        return AwaitingNodes(self.client, guards)


async def _close_loop_cluster(loop_cluster: _LoopCluster) -> None:
    await loop_cluster.client.aclose()


class RedisClusterCache(FromSettings, AsyncCache):
    """The async face of a Redis Cluster (same options as :class:`SyncRedisClusterCache`);
    one client per running event loop, as :class:`~cache_bridge.adapters.redis.RedisCache`."""

    def __init__(self, url: str = "redis+cluster://localhost:6379", **options: Any) -> None:
        self._start(_settings(url, options))

    def _start(self, settings: ClusterSettings) -> None:
        self.settings = settings
        table = CommandTable()  # read once, shared by the clients of every loop
        self._loops: LoopClients[_LoopCluster] = LoopClients(
            lambda: _LoopCluster(settings, table), _close_loop_cluster
        )
        guard, self._leave_guard = redis_guard(
            self, settings, lambda: SyncRedisClusterCache.from_settings(probe_settings(settings))
        )
        self._nodes = _node_guards(self, settings)
        super().__init__(self._execute_on_client, settings.key_prefix, settings.describe(), guard)

    async def _loop_cluster(self) -> _LoopCluster:
        if self._closed:  # an operation that was already running when aclose() came
            raise CacheClosedError("the adapter was closed", operation="")
        return await self._loops.current()

    async def _execute_on_client(self, command: Command) -> Any:
        loop_cluster = await self._loop_cluster()
        async with loop_cluster.permit():
            with as_unavailable():
                steps = cluster_steps(loop_cluster.client, command, self._nodes)
                return await drive_nodes_async(steps, loop_cluster.nodes(self._nodes).perform)

    async def _release(self) -> None:
        _leave_guards(self._leave_guard, self._nodes)
        await self._loops.close_all()


register(
    config.ClusterSettings, RedisClusterCache.from_settings, SyncRedisClusterCache.from_settings
)
