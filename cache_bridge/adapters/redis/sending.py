"""Sending one planned command (:func:`cache_bridge.adapters.redis.plan.plan`), written once for
the Redis and Sentinel adapters, both faces: an argument list as one command, a list of them
as one MULTI/EXEC, and a script by digest (``EVALSHA``), sent again as ``EVAL`` when the
server answers ``NOSCRIPT`` (:mod:`cache_bridge.adapters.redis.scripts`).

:func:`send_plan` and :func:`send_plan_async` take the adapter's own way to send one request
(a direct connection, a pipeline lane, a redis-py client, a cluster node);
:func:`send_on_client` and :func:`send_on_async_client` are that way for a plain redis-py
client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis import exceptions as rx

from cache_bridge.adapters.redis.plan import Args
from cache_bridge.adapters.redis.scripts import as_evalsha

__all__ = [
    "Request",
    "attempts",
    "send_on_async_client",
    "send_on_client",
    "send_plan",
    "send_plan_async",
    "transaction",
    "transaction_async",
]

T = TypeVar("T")

#: One command's arguments, or the commands of one MULTI/EXEC.
Request = Args | list[Args]


def attempts(args: Request) -> tuple[Request, ...]:
    """What to send for the plan ``args``, each in turn while the one before is refused with
    ``NOSCRIPT``: a script's ``EVALSHA`` and then its ``EVAL``; any other plan alone."""
    if isinstance(args, list) or args[0] != "EVAL":
        return (args,)
    return (as_evalsha(args), args)  # EVAL also loads the script for the next EVALSHA


def send_plan(args: Request, call: Callable[[Request], T]) -> T:
    """The reply to the plan ``args`` (:func:`~cache_bridge.adapters.redis.plan.plan` of a
    command), each of its :func:`attempts` sent by ``call``: the Redis and Sentinel
    adapters' way to send a command, and the cluster adapter's to send one to a node."""
    *first, last = attempts(args)
    for request in first:
        with contextlib.suppress(rx.NoScriptError):
            return call(request)
    return call(last)


async def send_plan_async(args: Request, call: Callable[[Request], Awaitable[T]]) -> T:
    """Like :func:`send_plan`, awaiting ``call``."""
    *first, last = attempts(args)
    for request in first:
        with contextlib.suppress(rx.NoScriptError):
            return await call(request)
    return await call(last)


def transaction(client: Any, commands: list[Args]) -> Any:
    """``commands`` in one MULTI/EXEC on a redis-py client; the replies of EXEC."""
    with client.pipeline(transaction=True) as pipe:
        for one in commands:
            pipe.execute_command(*one)
        return pipe.execute()


async def transaction_async(client: Any, commands: list[Args]) -> Any:
    """Like :func:`transaction`, on a redis.asyncio client."""
    async with client.pipeline(transaction=True) as pipe:
        for one in commands:
            pipe.execute_command(*one)
        return await pipe.execute()


def send_on_client(client: Any, request: Request) -> Any:
    """``request`` on a blocking redis-py client, whose timeouts bound each reply."""
    if isinstance(request, list):
        return transaction(client, request)
    return client.execute_command(*request)


async def send_on_async_client(client: Any, request: Request, bound: float) -> Any:
    """``request`` on a redis.asyncio client. redis-py bounds each reply; a MULTI/EXEC is
    bounded as a whole by ``bound`` (a wait for a pooled connection, opening one, the
    exchange)."""
    if isinstance(request, list):
        async with asyncio.timeout(bound):
            return await transaction_async(client, request)
    return await client.execute_command(*request)
