"""Stacked limits on the core API: two limiters of one name (and one key) keep their own state,
for every algorithm, on memory and on the test-started Redis. Regression for issue 12 item 1
(they shared ``PREFIX:NAME:KEY`` and switched each other off)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from cache_bridge.adapters.memory import SyncInMemoryCache
from cache_bridge.adapters.redis import SyncRedisCache
from cache_bridge.engine.limit_algorithms import ALGORITHMS
from cache_bridge.ratelimit import RateLimiter

#: The middle of an hour: no minute or hour window ends while a test runs on this clock.
MIDDLE = 1_700_006_400.0 + 1800 + 30


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[object]:
    if request.param == "memory":
        cache: object = SyncInMemoryCache(clock=lambda: MIDDLE)
    else:
        request.getfixturevalue("redis_client")
        cache = SyncRedisCache(request.getfixturevalue("redis_url"))
    yield cache
    cache.close()  # type: ignore[attr-defined]


def _stacked(cache: object, algorithm: str, *rates: str) -> list[RateLimiter]:
    # One name for both, as two decorators on one view without an explicit name.
    return [
        RateLimiter(cache, rate, algorithm=algorithm, name="login", clock=lambda: MIDDLE)
        for rate in rates
    ]


def _requests(limiters: list[RateLimiter], n: int) -> list[bool]:
    """Each request checked against every limit (each one hit); allowed when all allow."""
    allowed = []
    for _ in range(n):
        decisions = [lim.hit("ip:203.0.113.7") for lim in limiters]
        allowed.append(all(d.allowed for d in decisions))
    return allowed


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_minute_and_an_hour_limit_of_one_name_both_hold(store: object, algorithm: str) -> None:
    limiters = _stacked(store, algorithm, "2/minute", "5/hour")
    assert _requests(limiters, 4) == [True, True, False, False]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_two_rates_per_minute_of_one_name_allow_exactly_the_smaller(
    store: object, algorithm: str
) -> None:
    limiters = _stacked(store, algorithm, "5/minute", "10/minute")
    assert sum(_requests(limiters, 12)) == 5


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_shared_name_with_one_rate_is_one_limit(store: object, algorithm: str) -> None:
    # Two limiters that agree on name, rate and algorithm are one shared limit.
    first, second = _stacked(store, algorithm, "3/minute", "3/minute")
    assert [first.hit("k").allowed, second.hit("k").allowed, first.hit("k").allowed] == [True] * 3
    assert not second.hit("k").allowed


def test_state_keys_carry_the_limit(redis_client: redis.Redis, redis_url: str) -> None:
    with SyncRedisCache(redis_url, key_prefix="app") as cache:
        for algorithm in ALGORITHMS:
            for rate in ("2/m", "5/h"):
                RateLimiter(cache, rate, algorithm=algorithm, name="login").hit("ip:1.2.3.4")
    keys = sorted(k.decode() if isinstance(k, bytes) else k for k in redis_client.keys("*"))
    assert keys == sorted(
        f"app:ratelimit:login:{rate}:{short}:{{ip:1.2.3.4}}"
        for short in ("fc", "sw", "tb")  # fc: a fixed window on the store's clock
        for rate in ("2/m", "5/h")
    )
