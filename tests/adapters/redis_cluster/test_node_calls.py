"""The two node drivers of the cluster adapter (cache_bridge.adapters.redis_cluster.node_calls)
run one generator of node calls alike; the blocking client's ``Together`` stops at the first
failure. Run here with scripted calls; against a cluster by tests/adapters/redis_cluster."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cache_bridge.adapters.redis_cluster.node_calls import (
    BlockingNodes,
    Done,
    NodeCall,
    NodeSteps,
    OnNode,
    Together,
    drive_nodes,
    drive_nodes_async,
)


def _steps() -> NodeSteps:
    first = yield OnNode(("GET", "a"))
    both = yield Together((OnNode(("GET", "b")), OnNode(("GET", "c"))))
    yield Done([first, *both])


def _answer(call: NodeCall) -> Any:
    if isinstance(call, OnNode):
        return f"{call.args[1]!s}!"
    assert isinstance(call, Together)
    return [_answer(one) for one in call.calls]


async def _answer_async(call: NodeCall) -> Any:
    return _answer(call)


def test_both_drivers_run_one_generator_alike() -> None:
    assert drive_nodes(_steps(), _answer) == ["a!", "b!", "c!"]
    assert asyncio.run(drive_nodes_async(_steps(), _answer_async)) == ["a!", "b!", "c!"]


class _Client:
    """Answers ``execute_command`` from a script of replies (an exception is raised)."""

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.sent: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(args)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def test_the_blocking_client_stops_together_at_the_first_failure() -> None:
    failed = ConnectionError("node down")
    client = _Client("one", failed, "never sent")
    nodes = BlockingNodes(client, None)
    calls = Together(tuple(OnNode(("PING",), node) for node in ("n1", "n2", "n3")))
    assert nodes.perform(calls) == ["one", failed]
    assert len(client.sent) == 2


def test_an_exception_from_a_call_reaches_the_caller() -> None:
    def broken(call: NodeCall) -> Any:
        raise TimeoutError("slow")

    with pytest.raises(TimeoutError):
        drive_nodes(_steps(), broken)
