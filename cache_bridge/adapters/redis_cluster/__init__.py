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

import asyncio
import inspect
import threading
from typing import Any

from redis import exceptions as rx

from cache_bridge import config
from cache_bridge.adapters.loop_clients import LoopClients
from cache_bridge.adapters.redis.errors import translate
from cache_bridge.adapters.redis.guards import PROBE_OPTIONS, redis_guard
from cache_bridge.adapters.redis_cluster.clients import (
    CommandTable,
    async_cluster_client,
    sync_cluster_client,
)
from cache_bridge.adapters.redis_cluster.nodes import NodeGuards, NodeProber, watch, watch_key
from cache_bridge.adapters.redis_cluster.routing import (
    OnEveryPrimary,
    OnKey,
    PerSlot,
    ScanNodes,
    route,
)
from cache_bridge.adapters.redis_cluster.scan import (
    ClusterTopologyChangedError,
    Topology,
    scan_position,
    scan_reply,
    topology_changed,
)
from cache_bridge.config import ClusterSettings
from cache_bridge.engine.commands import Command
from cache_bridge.engine.drivers import register_translator
from cache_bridge.errors import (
    CacheClosedError,
    CacheConnectionError,
    CachePoolExhaustedError,
)
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.factory import register
from cache_bridge.resilience.guard import Prober

__all__ = ["ClusterTopologyChangedError", "RedisClusterCache", "SyncRedisClusterCache"]

register_translator(translate)


def _settings(url: str, options: dict[str, Any]) -> ClusterSettings:
    takes = "the Redis Cluster adapter takes a redis+cluster:// or rediss+cluster:// URL"
    return config.parse_as(url, options, ClusterSettings, takes)


# A cluster that cannot serve a slot right now (no reachable node, a slot without a primary
# during a failover, a resharding in flight) is unavailable, as an unreachable server is:
# callers and the circuit breaker see a connection failure, not a refused command (ClusterError
# covers CLUSTERDOWN and redirections that never settle). Other
# RedisClusterExceptions (a command redis-py cannot route, ...) are the caller's mistakes.
_UNAVAILABLE = (rx.ClusterError, rx.TryAgainError, rx.SlotNotCoveredError)
# What redis-py says, with a plain RedisClusterException, when it cannot read a slot map.
_NO_SLOT_MAP = (
    "Redis Cluster cannot be connected",
    "All slots are not covered",
    "startup_nodes could not agree",
)


def unavailable(exc: Exception) -> bool:
    """Whether ``exc`` means the cluster cannot serve the request now (rather than a
    command that redis-py refuses whatever the cluster's state)."""
    if isinstance(exc, _UNAVAILABLE):
        return True
    if not isinstance(exc, rx.RedisClusterException):
        return False
    cause = exc.__cause__
    if isinstance(cause, rx.ConnectionError | rx.TimeoutError | OSError):
        return True
    return str(exc).startswith(_NO_SLOT_MAP)


def _unavailable(exc: Exception) -> CacheConnectionError:
    return CacheConnectionError(
        f"the Redis Cluster cannot serve the request now ({exc})", operation="", cause=exc
    )


def _refresh_kwargs(initialize: Any, failed: Any) -> dict[str, Any]:
    """Name the node that just failed to a slot map refresh, so redis-py asks it last (only
    redis-py versions that take ``last_failed_node_name``)."""
    if failed is None or "last_failed_node_name" not in inspect.signature(initialize).parameters:
        return {}
    return {"last_failed_node_name": failed.name}


def _scan_args(step: ScanNodes, node_cursor: int) -> tuple[Any, ...]:
    return ("SCAN", node_cursor, "MATCH", step.match, "COUNT", step.count)


# Replies meaning the slot is elsewhere now (or moving): the client follows the redirection.
_REDIRECTED = (rx.MovedError, rx.AskError, rx.TryAgainError)


def _by_node(
    manager: Any, commands: tuple[tuple[int, Any], ...], nodes: NodeGuards | None
) -> dict[str, tuple[Any, list[int]]]:
    """The positions of per-slot ``commands`` by the node that serves them; raises if a
    node's breaker refuses (then nothing of the batch is sent)."""
    by_node: dict[str, tuple[Any, list[int]]] = {}
    for index, (slot, _) in enumerate(commands):
        node = manager.get_node_from_slot(slot)
        by_node.setdefault(node.name, (node, []))[1].append(index)
    if nodes is not None:
        for name in by_node:
            nodes.check(name)
    return by_node


def _per_slot(
    client: Any, commands: tuple[tuple[int, Any], ...], nodes: NodeGuards | None
) -> list[Any]:
    """Run per-slot commands on a blocking cluster client: one pipeline per primary, so a
    batch costs one round trip per node, and a node that fails fails the batch at once.
    (redis-py's own cluster pipeline would re-send each of a failed node's commands one by
    one, each waiting out the timeouts.)"""
    by_node = _by_node(client.nodes_manager, commands, nodes)
    replies: list[Any] = [None] * len(commands)
    for node, indexes in by_node.values():
        pipe = client.get_redis_connection(node).pipeline(transaction=False)
        for index in indexes:
            pipe.execute_command(*commands[index][1])
        try:
            answers = pipe.execute(raise_on_error=False)
        except (rx.ConnectionError, rx.TimeoutError) as exc:
            if nodes is not None:
                nodes.settle(node.name, exc, "pipeline")
            # Read the slot map again (asking the failed node last), so the next call finds
            # a replica that took over.
            manager = client.nodes_manager
            manager.initialize(**_refresh_kwargs(manager.initialize, node))
            raise
        if nodes is not None:
            nodes.settle(node.name, None)
        for index, answer in zip(indexes, answers, strict=True):
            replies[index] = answer
    for index, reply in enumerate(replies):
        if isinstance(reply, _REDIRECTED):
            replies[index] = client.execute_command(*commands[index][1])
        elif isinstance(reply, Exception):
            raise reply
    return replies


async def _node_batch(client: Any, node: Any, commands: list[Any]) -> list[Any]:
    """Per-slot commands that one node serves, in one pipeline, on an async cluster client."""
    pipe = client.pipeline(transaction=False)
    for args in commands:
        pipe.execute_command(*args, target_nodes=node)
    return list(await pipe.execute())


def _node_guards(
    owner: object, settings: ClusterSettings, url: str, options: dict[str, Any]
) -> NodeGuards | None:
    """A breaker per node for an adapter (``None`` with the breaker off)."""
    if settings.node.breaker_threshold == 0:
        return None

    def make_prober(name: str) -> Prober:
        face = SyncRedisClusterCache(url, **{**options, **PROBE_OPTIONS})
        return NodeProber(face, face._cluster, name)

    return NodeGuards(owner, settings, make_prober)


class SyncRedisClusterCache(SyncCache):
    """The blocking face of a Redis Cluster; one pool per node, shared by threads.

    Options: those of :class:`~cache_bridge.adapters.redis.SyncRedisCache` except ``db``
    (``max_connections`` is per node). Building it opens no connection: the cluster's slot
    map is read on first use, and a cluster that cannot be reached then is a ``Failure``.
    """

    def __init__(self, url: str = "redis+cluster://localhost:6379", **options: Any) -> None:
        self.settings = _settings(url, options)
        self._client: Any = None
        self._client_lock = threading.Lock()
        given = dict(options)
        guard, self._leave_guard = redis_guard(
            self, self.settings, lambda: SyncRedisClusterCache(url, **{**given, **PROBE_OPTIONS})
        )
        self._nodes = _node_guards(self, self.settings, url, given)
        super().__init__(
            self._execute_on_client, self.settings.key_prefix, self.settings.describe(), guard
        )

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
        try:
            return self._run_command(self._cluster(), command)
        except Exception as exc:
            if unavailable(exc):
                raise _unavailable(exc) from exc
            raise

    def _run_command(self, client: Any, command: Command) -> Any:
        step = route(command)
        match step:
            case OnKey(args):
                assert not isinstance(args, list), "batches are split by routing"
                with watch_key(self._nodes, client, command, args):
                    return client.execute_command(*args)
            case PerSlot(commands, combine):
                return combine(_per_slot(client, commands, self._nodes))
            case OnEveryPrimary(args, combine):
                primaries = client.get_primaries()
                return combine([self._on_node(client, node, args) for node in primaries])
            case ScanNodes():
                topology = Topology.of(client.nodes_manager.slots_cache)
                slot, node_cursor = scan_position(step.cursor, topology)
                node = client.nodes_manager.get_node_from_slot(slot)
                reply = self._on_node(client, node, _scan_args(step, node_cursor))
                cursor, keys = scan_reply(topology, reply, slot)
                if cursor == 0:
                    # The walk ends: read the slot map again, so a slot that moved (or a
                    # replica that took over) unseen by the cached map is caught too.
                    client.nodes_manager.initialize()
                    if Topology.of(client.nodes_manager.slots_cache) != topology:
                        raise topology_changed()
                return cursor, keys
        raise TypeError(f"no cluster route for {command!r}")  # pragma: no cover

    def _on_node(self, client: Any, node: Any, args: tuple[Any, ...]) -> Any:
        with watch(self._nodes, node.name, args):
            return client.execute_command(*args, target_nodes=node)

    def _release(self) -> None:
        self._leave_guard()
        if self._nodes is not None:
            self._nodes.release()
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


async def _close_loop_cluster(loop_cluster: _LoopCluster) -> None:
    await loop_cluster.client.aclose()


class RedisClusterCache(AsyncCache):
    """The async face of a Redis Cluster (same options as :class:`SyncRedisClusterCache`);
    one client per running event loop, as :class:`~cache_bridge.adapters.redis.RedisCache`."""

    def __init__(self, url: str = "redis+cluster://localhost:6379", **options: Any) -> None:
        self.settings = _settings(url, options)
        settings = self.settings
        table = CommandTable()  # read once, shared by the clients of every loop
        self._loops: LoopClients[_LoopCluster] = LoopClients(
            lambda: _LoopCluster(settings, table), _close_loop_cluster
        )
        given = dict(options)
        guard, self._leave_guard = redis_guard(
            self, settings, lambda: SyncRedisClusterCache(url, **{**given, **PROBE_OPTIONS})
        )
        self._nodes = _node_guards(self, settings, url, given)
        super().__init__(
            self._execute_on_client, self.settings.key_prefix, self.settings.describe(), guard
        )

    async def _execute_on_client(self, command: Command) -> Any:
        if self._closed:  # an operation that was already running when aclose() came
            raise CacheClosedError("the adapter was closed", operation="")
        loop_cluster = await self._loops.current()
        try:
            async with asyncio.timeout(self.settings.node.timeout):
                await loop_cluster.permits.acquire()
        except TimeoutError:
            raise CachePoolExhaustedError(
                "no pooled connection came free within the timeout (max_connections are all busy)",
                operation="",
            ) from None
        try:
            return await self._run_command(loop_cluster.client, command)
        except Exception as exc:
            if unavailable(exc):
                raise _unavailable(exc) from exc
            raise
        finally:
            loop_cluster.permits.release()

    async def _run_command(self, client: Any, command: Command) -> Any:
        step = route(command)
        match step:
            case OnKey(args):
                assert not isinstance(args, list), "batches are split by routing"
                if self._nodes is not None:
                    await client.initialize()  # the slot map, to find the key's node
                with watch_key(self._nodes, client, command, args):
                    return await client.execute_command(*args)
            case PerSlot(commands, combine):
                await client.initialize()  # the slot map, if this client has none yet
                return combine(await self._per_slot(client, commands))
            case OnEveryPrimary(args, combine):
                await client.initialize()
                replies = await asyncio.gather(
                    *(self._on_node(client, node, args) for node in client.get_primaries()),
                    return_exceptions=True,
                )
                for reply in replies:
                    if isinstance(reply, BaseException):
                        raise reply
                return combine(list(replies))
            case ScanNodes():
                await client.initialize()
                topology = Topology.of(client.nodes_manager.slots_cache)
                slot, node_cursor = scan_position(step.cursor, topology)
                node = client.nodes_manager.get_node_from_slot(slot)
                reply = await self._on_node(client, node, _scan_args(step, node_cursor))
                cursor, keys = scan_reply(topology, reply, slot)
                if cursor == 0:  # as on the blocking face
                    await client.nodes_manager.initialize()
                    if Topology.of(client.nodes_manager.slots_cache) != topology:
                        raise topology_changed()
                return cursor, keys
        raise TypeError(f"no cluster route for {command!r}")  # pragma: no cover

    async def _on_node(self, client: Any, node: Any, args: tuple[Any, ...]) -> Any:
        with watch(self._nodes, node.name, args):
            return await client.execute_command(*args, target_nodes=node)

    async def _per_slot(self, client: Any, commands: tuple[tuple[int, Any], ...]) -> list[Any]:
        """Per-slot commands, one pipeline per node, the nodes in parallel (as on the
        blocking face, so a failure is the failed node's)."""
        parts = list(_by_node(client.nodes_manager, commands, self._nodes).values())
        answers = await asyncio.gather(
            *(_node_batch(client, node, [commands[i][1] for i in at]) for node, at in parts),
            return_exceptions=True,
        )
        replies: list[Any] = [None] * len(commands)
        failed: BaseException | None = None
        for (node, indexes), answer in zip(parts, answers, strict=True):
            if self._nodes is not None:
                self._nodes.settle(node.name, answer if isinstance(answer, BaseException) else None)
            if isinstance(answer, BaseException):
                failed = failed or answer
                continue
            for index, reply in zip(indexes, answer, strict=True):
                replies[index] = reply
        if isinstance(failed, rx.ConnectionError | rx.TimeoutError):
            # redis-py's asyncio pipeline, unlike its single commands, does not ask for a new
            # slot map after a node fails; without one, every later batch would go to the
            # dead node even after its replica took over.
            await client.nodes_manager.initialize()
        if failed is not None:
            raise failed
        return replies

    async def _release(self) -> None:
        self._leave_guard()
        if self._nodes is not None:
            self._nodes.release()
        await self._loops.close_all()


register(config.ClusterSettings, RedisClusterCache, SyncRedisClusterCache)
