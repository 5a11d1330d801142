"""All of a request's limits decided together (``hit_all``): a refused request costs no limit,
on memory and Redis (one script run per group), across adapters and on the protocol fallback
(counts taken back), and with ``refund`` for a refusal that comes later. Regression for
issue 12 item 2 (every limit counted a request before any refusal was looked at)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from returns.result import Failure

from cache_bridge import CacheConnectionError
from cache_bridge.adapters.memory import InMemoryCache, SyncInMemoryCache
from cache_bridge.adapters.redis import SyncRedisCache
from cache_bridge.engine.limit_algorithms import ALGORITHMS
from cache_bridge.ratelimit import (
    AsyncRateLimiter,
    RateLimiter,
    ahit_all,
    hit_all,
    refund,
)
from tests.support.clocks import ManualClock

#: The start of an hour on the limiters' clock.
HOUR = 1_700_006_400.0


class Clock(ManualClock):
    start = HOUR + 1


class ProtocolOnly:
    """A third-party adapter: the protocol's methods and nothing else (no run_operation)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in ("run_operation", "key_prefix", "keyspace"):
            raise AttributeError(name)
        method = getattr(self._inner, name)

        def call(*args: Any) -> Any:
            self.calls.append(name)
            return method(*args)

        return call


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        made: Any = SyncInMemoryCache()
    else:
        request.getfixturevalue("redis_client")
        made = SyncRedisCache(request.getfixturevalue("redis_url"))
    yield made
    made.close()


def _pair(cache: Any, clock: Clock, algorithm: str, **kw: Any) -> list[RateLimiter]:
    return [
        RateLimiter(cache, rate, algorithm=algorithm, name="login", clock=clock, **kw)
        for rate in ("2/minute", "5/hour")
    ]


def _minute(limiters: list[RateLimiter], n: int = 4) -> list[bool]:
    return [all(d.allowed for d in hit_all([(lim, "ip:1") for lim in limiters])) for _ in range(n)]


@pytest.mark.parametrize("algorithm", ["fixed-window", "sliding-window"])
def test_a_refused_request_costs_the_other_limit_nothing(cache: Any, algorithm: str) -> None:
    clock = Clock()
    limiters = _pair(cache, clock, algorithm)
    seen = []
    for minute in range(3):
        clock.now = HOUR + 1 + 120 * minute  # two minutes apart: the sliding window forgets too
        seen.append(_minute(limiters))
    # Refused requests did not spend the hour's quota: 2 + 2 + 1 of its 5.
    assert seen == [[True, True, False, False], [True, True, False, False], [True] + [False] * 3]


def test_a_refused_request_costs_the_token_bucket_nothing(cache: Any) -> None:
    clock = Clock()
    limiters = _pair(cache, clock, "token-bucket")
    assert _minute(limiters, 6) == [True, True] + [False] * 4
    clock.now += 60  # the minute bucket is full again; the hour bucket lost only 2 of 5
    assert _minute(limiters, 4) == [True, True, False, False]
    clock.now += 60
    assert _minute(limiters, 2) == [True, False]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_decisions_of_a_refused_group(cache: Any, algorithm: str) -> None:
    clock = Clock()
    tight, loose = (
        RateLimiter(cache, rate, algorithm=algorithm, name=name, clock=clock)
        for rate, name in (("1/minute", "tight"), ("10/hour", "loose"))
    )
    first = hit_all([(tight, "k"), (loose, "k")])
    assert [d.counted for d in first] == [True, True]
    assert first[1].remaining == 9
    refused = hit_all([(tight, "k"), (loose, "k")])
    assert [d.allowed for d in refused] == [False, True]
    assert [d.counted for d in refused] == [False, False]
    # The loose limit reports what is left without this request.
    assert refused[1].remaining == 9
    assert loose.hit("k").remaining == 8


def test_one_group_is_one_script_run(redis_client: redis.Redis, redis_url: str) -> None:
    clock = Clock()
    with SyncRedisCache(redis_url) as cache:
        limiters = [
            RateLimiter(cache, rate, algorithm=algorithm, name="api", clock=clock)
            for rate in ("10/s", "100/m", "1000/h")
            for algorithm in ALGORITHMS
        ]
        assert cache.ping().unwrap()
        hit_all([(lim, "ip:1") for lim in limiters])  # loads the script
        redis_client.config_resetstat()
        for _ in range(5):
            decisions = hit_all([(lim, "ip:1") for lim in limiters])
            assert all(d.allowed for d in decisions)
        calls = redis_client.info("commandstats")
    assert calls["cmdstat_evalsha"]["calls"] == 5  # nine limits, one round trip per request


async def test_async_groups_decide_alike() -> None:
    clock = Clock()
    cache = InMemoryCache()
    limiters = [AsyncRateLimiter(cache, rate, name="login", clock=clock) for rate in ("2/m", "5/h")]
    seen = []
    for _ in range(4):
        decisions = await ahit_all([(lim, "ip:1") for lim in limiters])
        seen.append(all(d.allowed for d in decisions))
    assert seen == [True, True, False, False]
    assert (await limiters[1].hit("ip:1")).remaining == 2  # 5 - 2 counted - this one


def test_limits_on_two_adapters_take_back_what_one_counted() -> None:
    clock = Clock()
    one, other = SyncInMemoryCache(), SyncInMemoryCache()
    wide = RateLimiter(one, "10/h", name="global", clock=clock)
    narrow = RateLimiter(other, "1/h", name="per-ip", clock=clock)
    for _ in range(5):
        hit_all([(wide, "all"), (narrow, "ip:1")])
    # One request passed; the four refused by the per-IP limit were taken back from global.
    assert wide.hit("all").remaining == 8


def test_a_fail_closed_limit_that_cannot_ask_refuses_and_costs_nothing() -> None:
    class Down(SyncInMemoryCache):
        def run_operation(self, op: Any) -> Any:
            op.steps.close()
            return Failure(CacheConnectionError("down", operation="rate_limit"))

    clock = Clock()
    healthy = RateLimiter(SyncInMemoryCache(), "10/h", name="global", clock=clock)
    closed = RateLimiter(Down(), "100/h", name="closed", fail_open=False, clock=clock)
    opened = RateLimiter(Down(), "100/h", name="open", fail_open=True, clock=clock)
    refused = hit_all([(healthy, "all"), (closed, "k")])
    assert [d.allowed for d in refused] == [True, False]
    assert refused[1].failed
    allowed = hit_all([(healthy, "all"), (opened, "k")])
    assert [d.allowed for d in allowed] == [True, True]
    assert healthy.hit("all").remaining == 8  # only the request allowed (fail open) counted


@pytest.mark.parametrize("algorithm", ["fixed-window", "sliding-window"])
def test_the_fallback_takes_back_what_it_counted(algorithm: str) -> None:
    clock = Clock()
    adapter = ProtocolOnly(SyncInMemoryCache(clock=clock))
    limiters = _pair(adapter, clock, algorithm)
    assert _minute(limiters) == [True, True, False, False]
    assert "decrement" in adapter.calls
    clock.now += 120
    assert _minute(limiters) == [True, True, False, False]
    clock.now += 120
    assert _minute(limiters) == [True, False, False, False]
    assert "run_operation" not in adapter.calls


def test_refund_takes_back_a_later_refusal() -> None:
    clock = Clock()
    cache = SyncInMemoryCache()
    limiter = RateLimiter(cache, "3/h", name="api", clock=clock)
    counted = limiter.hit("k")
    assert counted.counted
    refund([(limiter, counted)])
    refund([(limiter, limiter.hit("k")), (limiter, limiter.hit("k"))])
    assert limiter.hit("k").remaining == 2  # all three earlier hits were taken back


def test_a_bad_key_fails_its_own_limit_only() -> None:
    cache = SyncInMemoryCache()
    good = RateLimiter(cache, "3/h", name="good")
    bad = RateLimiter(cache, "3/h", name="bad", fail_open=True)
    decisions = hit_all([(good, "k"), (bad, 7)])  # type: ignore[list-item]
    assert decisions[0].allowed
    assert decisions[0].counted
    assert decisions[1].failed
    assert decisions[1].allowed  # fail open


def test_the_fallback_takes_back_its_counts_when_the_cache_fails_part_way() -> None:
    class FailsForOneLimit(ProtocolOnly):
        def __getattr__(self, name: str) -> Any:
            method = super().__getattr__(name)

            def call(*args: Any) -> Any:
                if name == "increment" and ":broken:" in args[0]:
                    return Failure(CacheConnectionError("down", operation=name))
                return method(*args)

            return call

    clock = Clock()
    adapter = FailsForOneLimit(SyncInMemoryCache(clock=clock))
    good = RateLimiter(adapter, "5/h", name="good", clock=clock)
    broken = RateLimiter(adapter, "5/h", name="broken", fail_open=False, clock=clock)
    decisions = hit_all([(good, "k"), (broken, "k")])
    assert [d.failed for d in decisions] == [True, True]
    assert not decisions[1].allowed  # fail closed
    assert good.hit("k").remaining == 4  # the count the good limit made was taken back


def test_the_drivers_run_the_steps_and_a_defect_in_them_is_raised() -> None:
    from cache_bridge.ratelimit.group import adrive, drive
    from cache_bridge.ratelimit.steps import Call

    cache = SyncInMemoryCache()

    def steps() -> Any:
        answer = yield (cache, Call("increment", ("n", 2)))
        return answer.unwrap()

    assert drive(steps()) == 2

    def broken() -> Any:
        yield (cache, Call("get", ("n",)))
        raise ZeroDivisionError("a defect")

    with pytest.raises(ZeroDivisionError, match="a defect"):
        drive(broken())

    async def run() -> int:
        acache = InMemoryCache()

        def asteps() -> Any:
            answer = yield (acache, Call("increment", ("n", 3)))
            return answer.unwrap()

        return int(await adrive(asteps()))

    import asyncio

    assert asyncio.run(run()) == 3
