"""Groups of limits on the session's Redis Cluster: one client's limits share a hash slot (the
``{KEY}`` tag) and run as one script; limits on several slots run as one script per slot, and
what one slot counted is taken back when another refused."""

from __future__ import annotations

import pytest

from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.adapters.redis_cluster.routing import OnKey, PerSlot, route, slot_of
from cache_bridge.engine.commands import LimitEntry, RateLimitHit
from cache_bridge.engine.limit_algorithms import ALGORITHMS
from cache_bridge.ratelimit import AsyncRateLimiter, RateLimiter, ahit_all, hit_all

pytestmark = pytest.mark.redis

#: Mid-hour on the limiters' clock.
MIDDLE = 1_700_006_400.0 + 1800


def _spread_keys() -> tuple[str, str]:
    """Two client keys whose state keys fall in different slots (the tag decides)."""
    first = "ip:0"
    others = (f"ip:{n}" for n in range(1, 100))
    return first, next(k for k in others if slot_of(f"{{{k}}}") != slot_of(f"{{{first}}}"))


def test_one_clients_limits_route_to_one_slot() -> None:
    limiters = [
        RateLimiter(object(), rate, algorithm=algorithm, name=name, native=True)
        for rate in ("2/m", "5/h")
        for algorithm in ALGORITHMS
        for name in ("login", "api")
    ]
    keys = tuple(
        LimitEntry(lim.policy.storage_key("ip:203.0.113.7"), lim.policy.algorithm, 1, 1, None)
        for lim in limiters
    )
    assert isinstance(route(RateLimitHit(keys)), OnKey)
    a, b = _spread_keys()
    spread = (
        LimitEntry(limiters[0].policy.storage_key(a), "fixed-window", 1, 1, None),
        LimitEntry(limiters[0].policy.storage_key(b), "fixed-window", 1, 1, None),
    )
    assert isinstance(route(RateLimitHit(spread)), PerSlot)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_group_across_slots_costs_a_refused_request_nothing(
    cluster_url: str, algorithm: str
) -> None:
    a, b = _spread_keys()
    with SyncRedisClusterCache(cluster_url, key_prefix="app") as cache:
        wide = RateLimiter(cache, "10/h", algorithm=algorithm, name="w", clock=lambda: MIDDLE)
        narrow = RateLimiter(cache, "1/h", algorithm=algorithm, name="n", clock=lambda: MIDDLE)
        seen = [[d.allowed for d in hit_all([(wide, a), (narrow, b)])] for _ in range(4)]
        assert seen == [[True, True]] + [[True, False]] * 3
        assert wide.hit(a).remaining == 8  # three refused requests were taken back


async def test_async_groups_on_one_slot(cluster_url: str) -> None:
    cache = RedisClusterCache(cluster_url)
    try:
        limiters = [
            AsyncRateLimiter(cache, rate, name="login", clock=lambda: MIDDLE)
            for rate in ("2/m", "5/h")
        ]
        seen = []
        for _ in range(3):
            decisions = await ahit_all([(lim, "ip:1") for lim in limiters])
            seen.append(all(d.allowed for d in decisions))
    finally:
        await cache.aclose()
    assert seen == [True, True, False]
