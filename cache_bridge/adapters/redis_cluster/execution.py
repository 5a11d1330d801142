"""Each cluster command written once, as a generator of node calls
(:mod:`cache_bridge.adapters.redis_cluster.node_calls`) that both faces drive.

The generator reads the client only for its slot map (which node serves a slot, the
primaries); everything that goes over the network is a call it yields.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from redis import exceptions as rx

from cache_bridge.adapters.redis.plan import Args
from cache_bridge.adapters.redis_cluster.node_calls import (
    Done,
    NodeBatch,
    NodeCall,
    NodeSteps,
    OnNode,
    Refresh,
    SlotMap,
    Together,
)
from cache_bridge.adapters.redis_cluster.nodes import NodeGuards, command_slot
from cache_bridge.adapters.redis_cluster.routing import (
    OnEveryPrimary,
    OnKey,
    PerSlot,
    ScanNodes,
    route,
)
from cache_bridge.adapters.redis_cluster.scan import (
    Topology,
    scan_position,
    scan_reply,
    topology_changed,
)
from cache_bridge.engine.commands import Command

__all__ = ["cluster_steps"]

# Replies meaning the slot is elsewhere now (or moving): the client follows the redirection.
_REDIRECTED = (rx.MovedError, rx.AskError, rx.TryAgainError)

_Steps = Generator[NodeCall, Any, Any]


def cluster_steps(client: Any, command: Command, nodes: NodeGuards | None) -> NodeSteps:
    """The node calls that run ``command`` on ``client`` (a blocking or asyncio redis-py
    cluster client; ``nodes``: its node breakers, ``None`` with the breaker off)."""
    step = route(command)
    match step:
        case OnKey(args):
            assert not isinstance(args, list), "batches are split by routing"
            if nodes is not None:
                yield SlotMap()  # to find the key's node
            reply = yield OnNode(args, watched=_key_node(client, command, nodes))
        case PerSlot(commands, combine):
            yield SlotMap()
            reply = combine((yield from _per_slot(client, commands, nodes)))
        case OnEveryPrimary(args, combine):
            yield SlotMap()
            calls = tuple(OnNode(args, node, node.name) for node in client.get_primaries())
            replies = yield Together(calls)
            for one in replies:
                if isinstance(one, BaseException):
                    raise one
            reply = combine(list(replies))
        case ScanNodes():
            reply = yield from _scan(client, step)
        case _:  # pragma: no cover
            raise TypeError(f"no cluster route for {command!r}")
    yield Done(reply)


def _key_node(client: Any, command: Command, nodes: NodeGuards | None) -> str | None:
    """The node that serves one-slot ``command`` now, whose breaker counts the call."""
    slot = None if nodes is None else command_slot(command)
    return None if slot is None else client.nodes_manager.get_node_from_slot(slot).name


def _by_node(
    manager: Any, commands: tuple[tuple[int, Args], ...], nodes: NodeGuards | None
) -> list[tuple[Any, list[int]]]:
    """The positions of per-slot ``commands`` by the node that serves them; raises if a
    node's breaker refuses (then nothing of the batch is sent)."""
    by_node: dict[str, tuple[Any, list[int]]] = {}
    for index, (slot, _) in enumerate(commands):
        node = manager.get_node_from_slot(slot)
        by_node.setdefault(node.name, (node, []))[1].append(index)
    if nodes is not None:
        for name in by_node:
            nodes.check(name)
    return list(by_node.values())


def _per_slot(
    client: Any, commands: tuple[tuple[int, Args], ...], nodes: NodeGuards | None
) -> _Steps:
    """Per-slot commands, one pipeline per node, so a batch costs one round trip per node
    and a node that fails fails the batch (its breaker counts it)."""
    parts = _by_node(client.nodes_manager, commands, nodes)
    batches = (NodeBatch(node, tuple(commands[i][1] for i in at)) for node, at in parts)
    answers = yield Together(tuple(batches))
    replies: list[Any] = [None] * len(commands)
    failed: tuple[Any, BaseException] | None = None
    # (strict=False: the blocking client stops at the first node that fails)
    for (node, indexes), answer in zip(parts, answers, strict=False):
        if nodes is not None:
            nodes.settle(node.name, answer if isinstance(answer, BaseException) else None)
        if isinstance(answer, BaseException):
            failed = failed or (node, answer)
            continue
        for index, reply in zip(indexes, answer, strict=True):
            replies[index] = reply
    if failed is not None:
        if isinstance(failed[1], rx.ConnectionError | rx.TimeoutError):
            # Read the slot map again (asking the failed node last), so the next call finds a
            # replica that took over: redis-py does not after a failed pipeline.
            yield Refresh(failed[0])
        raise failed[1]
    for index, reply in enumerate(replies):
        if isinstance(reply, _REDIRECTED):
            replies[index] = yield OnNode(commands[index][1])
        elif isinstance(reply, Exception):
            raise reply
    return replies


def _scan(client: Any, step: ScanNodes) -> _Steps:
    """One step of a SCAN walk over every primary, behind one composite cursor."""
    yield SlotMap()
    topology = Topology.of(client.nodes_manager.slots_cache)
    slot, node_cursor = scan_position(step.cursor, topology)
    node = client.nodes_manager.get_node_from_slot(slot)
    args = ("SCAN", node_cursor, "MATCH", step.match, "COUNT", step.count)
    cursor, keys = scan_reply(topology, (yield OnNode(args, node, node.name)), slot)
    if cursor == 0:
        # The walk ends: read the slot map again, so a slot that moved (or a replica that
        # took over) unseen by the cached map is caught too.
        yield Refresh()
        if Topology.of(client.nodes_manager.slots_cache) != topology:
            raise topology_changed()
    return cursor, keys
