"""Cost (issue 15 item 2): a request counting several units, on memory (a controlled clock) and
on the test-started Redis, one-command and protocol fallback alike; a cost the limit cannot
count is refused without asking the cache; costly refusals count nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
import redis

from cache_bridge import create_sync_cache
from cache_bridge.engine.limit_algorithms import ALGORITHMS, hit
from cache_bridge.ratelimit import RateLimiter, hit_all, refund

#: The middle of a day (and of its minutes) on the limiters' clock.
MIDDAY = 1_700_006_400.0 + 43_200 + 30


@pytest.fixture(params=["memory", "redis", "fallback"])
def make(request: pytest.FixtureRequest) -> Callable[..., RateLimiter]:
    if request.param == "memory":
        cache = create_sync_cache(f"memory://cost-{uuid.uuid4().hex}")
    else:
        request.getfixturevalue("redis_client")
        cache = create_sync_cache(str(request.getfixturevalue("redis_url")))
    native = request.param != "fallback"

    def build(rate: str, algorithm: str = "fixed-window", name: str = "cost") -> RateLimiter:
        if not native and algorithm == "token-bucket":
            pytest.skip("the fallback refuses the token bucket")
        return RateLimiter(
            cache, rate, algorithm=algorithm, name=name, clock=lambda: MIDDAY, native=native
        )

    return build


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_cost_counts_that_many_units(make: Callable[..., RateLimiter], algorithm: str) -> None:
    limiter = make("10/h", algorithm)
    first = limiter.hit("k", cost=4)
    assert (first.allowed, first.remaining, first.cost) == (True, 6, 4)
    assert limiter.hit("k", cost=6).remaining == 0
    refused = limiter.hit("k", cost=1)
    assert (refused.allowed, refused.reason) == (False, "limit")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_costly_refusal_counts_nothing(make: Callable[..., RateLimiter], algorithm: str) -> None:
    limiter = make("10/h", algorithm)
    assert limiter.hit("k", cost=8).allowed
    refused = limiter.hit("k", cost=3)
    assert (refused.allowed, refused.remaining, refused.reason) == (False, 2, "limit")
    # The peers would have counted the 3 and refused these; here the 2 units are still there.
    assert limiter.hit("k", cost=2).allowed
    assert not limiter.hit("k").allowed


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_cost_equal_to_the_limit(make: Callable[..., RateLimiter], algorithm: str) -> None:
    limiter = make("5/h", algorithm)
    assert limiter.hit("k", cost=5).allowed
    assert not limiter.hit("k", cost=5).allowed


def test_a_cost_above_the_limit_or_a_bad_one_is_refused_without_asking(
    make: Callable[..., RateLimiter],
) -> None:
    limiter = make("3/h")
    too_much = limiter.hit("k", cost=4)
    assert (too_much.allowed, too_much.reason, too_much.counted) == (
        False,
        "cost-exceeds-limit",
        False,
    )
    for bad in (-1, 1.5, "2", None, True):
        decision = limiter.hit("k", cost=bad)  # type: ignore[arg-type]
        assert (decision.allowed, decision.reason) == (False, "bad-cost")
    assert limiter.hit("k", cost=3).allowed  # nothing was counted by the refusals


def test_cost_zero_counts_nothing(make: Callable[..., RateLimiter]) -> None:
    limiter = make("2/h")
    assert limiter.hit("k", cost=0).remaining == 2
    assert limiter.hit("k", cost=2).allowed
    assert limiter.hit("k", cost=0).allowed  # a full quota still allows a free request


def test_groups_with_costs_and_their_refunds(make: Callable[..., RateLimiter]) -> None:
    per_minute, per_hour = make("10/m", name="a"), make("12/h", name="b")
    decisions = hit_all([(per_minute, "k", 6), (per_hour, "k", 6)])
    assert [d.remaining for d in decisions] == [4, 6]
    refused = hit_all([(per_minute, "k", 5), (per_hour, "k", 5)])
    assert [d.allowed for d in refused] == [False, True]
    assert [d.remaining for d in refused] == [4, 6]  # nothing counted
    refund([(per_minute, decisions[0]), (per_hour, decisions[1])])
    assert [d.remaining for d in hit_all([(per_minute, "k", 10), (per_hour, "k", 1)])] == [0, 11]


def test_the_fallback_with_a_cost_under_concurrency(
    redis_client: redis.Redis, redis_url: str
) -> None:
    """20 concurrent hits of cost 3 against a limit of 10 admit at most 3."""
    limiter = RateLimiter(
        create_sync_cache(redis_url), "10/day", native=False, clock=lambda: MIDDAY
    )
    allowed: list[bool] = []
    ready = threading.Barrier(20)

    def work() -> None:
        ready.wait(timeout=30)
        allowed.append(limiter.hit("shared", cost=3).allowed)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(allowed) == 20
    assert 1 <= sum(allowed) <= 3


def test_a_gcra_burst_with_a_cost() -> None:
    # 10 per 10 s: a burst of 10 units, then one unit back per second.
    first = hit("token-bucket", None, 10, 10_000, 0, cost=7)
    assert (first.allowed, first.remaining) == (True, 3)
    refused = hit("token-bucket", first.state, 10, 10_000, 0, cost=4)
    assert (refused.allowed, refused.retry_ms) == (False, 1000)
    later = hit("token-bucket", first.state, 10, 10_000, 1000, cost=4)
    assert (later.allowed, later.remaining) == (True, 0)
