"""What a cluster command asks of the nodes, and the two drivers that do it.

:mod:`cache_bridge.adapters.redis_cluster.execution` writes each cluster command once, as a
generator of node calls (one command to a node, one pipeline per node, several calls at once,
a read of the slot map) ending with :class:`Done`. :func:`drive_nodes` runs it on redis-py's
blocking cluster client (:class:`BlockingNodes`), :func:`drive_nodes_async` on its asyncio
client (:class:`AwaitingNodes`); they differ only where the clients do: the asyncio client
reads its slot map on first use and runs :class:`Together` calls in parallel, the blocking one
runs them in turn and stops at the first failure.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Generator, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from cache_bridge.adapters.redis.plan import Args
from cache_bridge.adapters.redis.sending import send_plan, send_plan_async
from cache_bridge.adapters.redis_cluster.nodes import NodeGuards, watch

__all__ = [
    "AwaitingNodes",
    "BlockingNodes",
    "Done",
    "NodeBatch",
    "NodeCall",
    "NodeSteps",
    "OnNode",
    "Refresh",
    "SlotMap",
    "Together",
    "drive_nodes",
    "drive_nodes_async",
]


@dataclass(frozen=True, slots=True)
class OnNode:
    """One command, to ``node`` (``None``: where the client routes it by its keys), counted
    by the breaker of node ``watched`` (``None``: by none); a script's ``EVAL`` goes as
    ``EVALSHA`` first (:func:`~cache_bridge.adapters.redis.sending.send_plan`). Reply: the
    command's."""

    args: Args
    node: Any = None
    watched: str | None = None


@dataclass(frozen=True, slots=True)
class SlotMap:
    """Read the slot map if the client has none yet (a blocking client read it when built)."""


@dataclass(frozen=True, slots=True)
class Refresh:
    """Read the slot map again, asking ``failed`` (the node that just failed) last."""

    failed: Any = None


@dataclass(frozen=True, slots=True)
class NodeBatch:
    """Commands one node serves, in one pipeline without a transaction. Reply: their replies
    (on the blocking client an error reply is an exception in the list; on the asyncio
    client the call raises it)."""

    node: Any
    commands: tuple[Args, ...]


@dataclass(frozen=True, slots=True)
class Together:
    """Several calls. Reply: each call's reply or exception, in order (on the blocking client,
    up to and including the first that failed)."""

    calls: tuple[NodeCall, ...]


@dataclass(frozen=True, slots=True)
class Done:
    """The end of a command's node calls, with the command's reply."""

    value: Any


NodeCall = OnNode | SlotMap | Refresh | NodeBatch | Together
NodeSteps = Generator[NodeCall | Done, Any, None]

_METHODS: dict[type, str] = {
    OnNode: "on_node",
    SlotMap: "slot_map",
    Refresh: "refresh",
    NodeBatch: "node_batch",
    Together: "together",
}


def drive_nodes(steps: NodeSteps, perform: Callable[[NodeCall], Any]) -> Any:
    """Run ``steps`` to its :class:`Done`, blocking on each call (exceptions propagate)."""
    call = next(steps)
    while not isinstance(call, Done):
        call = steps.send(perform(call))
    return call.value


async def drive_nodes_async(steps: NodeSteps, perform: Callable[[NodeCall], Awaitable[Any]]) -> Any:
    """Like :func:`drive_nodes`, awaiting each call."""
    call = next(steps)
    while not isinstance(call, Done):
        call = steps.send(await perform(call))
    return call.value


def _target(node: Any) -> dict[str, Any]:
    return {} if node is None else {"target_nodes": node}


def _watch(nodes: NodeGuards | None, call: OnNode) -> AbstractContextManager[None]:
    return watch(None if call.watched is None else nodes, call.watched or "", call.args)


def _refresh_kwargs(initialize: Any, failed: Any) -> dict[str, Any]:
    """Name the node that just failed to a slot map refresh, so redis-py asks it last (only
    redis-py versions that take ``last_failed_node_name``)."""
    if failed is None or "last_failed_node_name" not in inspect.signature(initialize).parameters:
        return {}
    return {"last_failed_node_name": failed.name}


def _through_first_failure(outcomes: Iterable[Any]) -> list[Any]:
    """``outcomes`` up to and including the first exception (the rest are never run)."""
    taken = []
    for outcome in outcomes:
        taken.append(outcome)
        if isinstance(outcome, Exception):
            break
    return taken


class BlockingNodes:
    """Node calls on a blocking redis-py cluster client (``nodes``: its node breakers)."""

    __slots__ = ("_client", "_nodes")

    def __init__(self, client: Any, nodes: NodeGuards | None) -> None:
        self._client = client
        self._nodes = nodes

    def perform(self, call: NodeCall) -> Any:
        return getattr(self, _METHODS[type(call)])(call)

    def on_node(self, call: OnNode) -> Any:
        with _watch(self._nodes, call):
            return send_plan(
                call.args, lambda args: self._client.execute_command(*args, **_target(call.node))
            )

    def slot_map(self, call: SlotMap) -> None:
        return None  # read when the client was built

    def refresh(self, call: Refresh) -> None:
        manager = self._client.nodes_manager
        manager.initialize(**_refresh_kwargs(manager.initialize, call.failed))

    def node_batch(self, call: NodeBatch) -> list[Any]:
        # One round trip per node, the node's own connection: redis-py's cluster pipeline
        # would re-send each of a failed node's commands one by one, each waiting it out.
        pipe = self._client.get_redis_connection(call.node).pipeline(transaction=False)
        for args in call.commands:
            pipe.execute_command(*args)
        return list(pipe.execute(raise_on_error=False))

    def together(self, call: Together) -> list[Any]:
        return _through_first_failure(self._attempt(one) for one in call.calls)

    def _attempt(self, call: NodeCall) -> Any:
        try:
            return self.perform(call)
        except Exception as exc:
            return exc


class AwaitingNodes:
    """Node calls on a redis.asyncio cluster client (``nodes``: its node breakers)."""

    __slots__ = ("_client", "_nodes")

    def __init__(self, client: Any, nodes: NodeGuards | None) -> None:
        self._client = client
        self._nodes = nodes

    async def perform(self, call: NodeCall) -> Any:
        return await getattr(self, _METHODS[type(call)])(call)

    async def on_node(self, call: OnNode) -> Any:
        with _watch(self._nodes, call):
            return await send_plan_async(
                call.args, lambda args: self._client.execute_command(*args, **_target(call.node))
            )

    async def slot_map(self, call: SlotMap) -> None:
        await self._client.initialize()  # (only the first call reads it)

    async def refresh(self, call: Refresh) -> None:
        manager = self._client.nodes_manager
        await manager.initialize(**_refresh_kwargs(manager.initialize, call.failed))

    async def node_batch(self, call: NodeBatch) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for args in call.commands:
            pipe.execute_command(*args, target_nodes=call.node)
        return list(await pipe.execute())

    async def together(self, call: Together) -> list[Any]:
        # In parallel, so that a slow node delays only its own part.
        calls = (self.perform(one) for one in call.calls)
        return list(await asyncio.gather(*calls, return_exceptions=True))
