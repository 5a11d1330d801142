"""The plan sender of the Redis and Sentinel adapters (cache_bridge.adapters.redis.sending):
scripts by digest, then ``EVAL`` after ``NOSCRIPT``; everything else as planned, once. Run
with scripted replies here; against servers by the contract and rate-limit suites."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis import exceptions as rx

from cache_bridge.adapters.redis.plan import plan
from cache_bridge.adapters.redis.scripts import digest
from cache_bridge.adapters.redis.sending import Request, attempts, send_plan, send_plan_async
from cache_bridge.engine.commands import Command, Get, SetMany, Touch


def test_a_script_goes_by_digest_first_and_anything_else_as_planned() -> None:
    touch = plan(Touch("k", 5_000))
    assert isinstance(touch, tuple)
    assert attempts(touch) == (("EVALSHA", digest(str(touch[1])), *touch[2:]), touch)
    assert attempts(plan(Get("k"))) == (("GET", "k"),)
    batch = plan(SetMany((("a", "1", b"1"), ("b", "2", b"2")), 10))
    assert attempts(batch) == (batch,)


class Scripted:
    """Answers each request with the next scripted reply (an exception is raised)."""

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.sent: list[Request] = []

    def __call__(self, request: Request) -> Any:
        self.sent.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def awaiting(self, request: Request) -> Any:
        return self(request)


def _both(command: Command, *replies: Any) -> list[tuple[Any, list[Request]]]:
    blocking, awaiting = Scripted(*replies), Scripted(*replies)
    return [
        (send_plan(plan(command), blocking), blocking.sent),
        (asyncio.run(send_plan_async(plan(command), awaiting.awaiting)), awaiting.sent),
    ]


def test_noscript_sends_the_script_itself_on_both_faces() -> None:
    command = Touch("k", None)
    for reply, sent in _both(command, rx.NoScriptError("NOSCRIPT"), 1):
        assert reply == 1
        assert [request[0] for request in sent] == ["EVALSHA", "EVAL"]
    for reply, sent in _both(command, 0):
        assert reply == 0
        assert [request[0] for request in sent] == ["EVALSHA"]


def test_other_errors_are_not_retried() -> None:
    for command in (Touch("k", None), Get("k")):
        with pytest.raises(rx.ResponseError):
            send_plan(plan(command), Scripted(rx.ResponseError("WRONGTYPE"), "never sent"))
    with pytest.raises(rx.NoScriptError):  # (a plan that is not a script is sent once)
        send_plan(plan(Get("k")), Scripted(rx.NoScriptError("NOSCRIPT"), "never sent"))
