"""The limiters' one-operation path (bundled faces): what a face's Result, a raising face and
a non-Result reply become, and the one-decision headers matching the general formatting."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from returns.result import Failure

from cache_bridge import CacheConnectionError
from cache_bridge.adapters.memory import InMemoryCache, SyncInMemoryCache
from cache_bridge.ratelimit import (
    AsyncRateLimiter,
    Decision,
    Rate,
    RateLimiter,
    rate_limit_headers,
)

START = 1_700_006_400.0


class Odd(SyncInMemoryCache):
    """A real memory face whose run_operation answers ``reply`` (or raises it)."""

    reply: Any = None

    def run_operation(self, op: Any) -> Any:
        op.steps.close()
        if isinstance(self.reply, BaseException):
            raise self.reply
        return self.reply


class AsyncOdd(InMemoryCache):
    reply: Any = None

    async def run_operation(self, op: Any) -> Any:
        op.steps.close()
        if isinstance(self.reply, BaseException):
            raise self.reply
        return self.reply


REPLIES = [
    Failure(CacheConnectionError("down", operation="rate_limit")),
    RuntimeError("boom"),
    "not a Result",
]


@pytest.mark.parametrize("reply", REPLIES, ids=["failure", "raises", "not-a-result"])
@pytest.mark.parametrize("fail_open", [True, False])
def test_a_native_check_that_fails_follows_the_policy(reply: Any, fail_open: bool) -> None:
    cache = Odd(clock=lambda: START)
    cache.reply = reply
    decision = RateLimiter(cache, "1/m", fail_open=fail_open).hit("k")
    assert decision.failed
    assert decision.allowed is fail_open
    assert decision.error is not None


@pytest.mark.parametrize("reply", REPLIES, ids=["failure", "raises", "not-a-result"])
def test_the_async_native_check_fails_the_same_way(reply: Any) -> None:
    async def run() -> Decision:
        cache = AsyncOdd(clock=lambda: START)
        cache.reply = reply
        return await AsyncRateLimiter(cache, "1/m", fail_open=False).hit("k")

    decision = asyncio.run(run())
    assert decision.failed
    assert not decision.allowed


def test_the_native_path_counts_on_both_faces() -> None:
    sync = RateLimiter(SyncInMemoryCache(clock=lambda: START), "2/m")
    assert [sync.hit("k").allowed for _ in range(3)] == [True, True, False]

    async def run() -> list[bool]:
        lim = AsyncRateLimiter(InMemoryCache(clock=lambda: START), "2/m")
        return [(await lim.hit("k")).allowed for _ in range(3)]

    assert asyncio.run(run()) == [True, True, False]


@pytest.mark.parametrize("name", ["api", 'lo"gin', "x\\y", "caf\u00e9"])
def test_one_decision_formats_as_the_general_path(name: str) -> None:
    one = Decision(True, 100, 40, 30.2, 0.0, name, Rate(100, 60))
    failed = Decision(
        True, 1, 0, 0.0, 0.0, "down", Rate(1, 1), error=CacheConnectionError("x", operation="r")
    )
    short = rate_limit_headers([one])
    # The general path (two decisions) lists the same entry first.
    both = rate_limit_headers([one, Decision(True, 500, 100, 1.0, 0.0, "z", Rate(500, 1))])
    assert both["RateLimit-Policy"].startswith(short["RateLimit-Policy"] + ", ")
    assert both["RateLimit"] == short["RateLimit"]  # the tightest
    assert rate_limit_headers([failed, one]) == short
    assert set(rate_limit_headers([one], legacy=True)) == {
        "RateLimit-Policy",
        "RateLimit",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    }
