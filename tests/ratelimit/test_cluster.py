"""Groups of limits on the session's Redis Cluster: one client's limits share a hash slot (the
``{KEY}`` tag) and run as one script; limits on several slots run as one script per slot, and
what one slot counted is taken back when another refused."""

from __future__ import annotations

import pytest

from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.adapters.redis_cluster.routing import OnKey, PerSlot, route, slot_of
from cache_bridge.engine.commands import LimitEntry, RateLimitHit
from cache_bridge.engine.limit_algorithms import ALGORITHMS
from cache_bridge.ratelimit import AsyncRateLimiter, Decision, RateLimiter, ahit_all, hit_all
from cache_bridge.testing import RedisServer
from cache_bridge.testing.redis_cluster import LocalCluster

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


@pytest.mark.parametrize("clocked", [True, False], ids=["caller-clock", "server-clock"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_group_across_slots_costs_a_refused_request_nothing(
    cluster_url: str, algorithm: str, clocked: bool
) -> None:
    # On the server's clock a fixed window is kept in the count form, whose one-limit
    # script replies one integer: a part of one limit in a split group must not.
    a, b = _spread_keys()
    clock = (lambda: MIDDLE) if clocked else None
    with SyncRedisClusterCache(cluster_url, key_prefix=f"app{clocked}") as cache:
        wide = RateLimiter(cache, "10/d", algorithm=algorithm, name="w", clock=clock)
        narrow = RateLimiter(cache, "1/d", algorithm=algorithm, name="n", clock=clock)
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


def _script_calls(cluster: LocalCluster, server: RedisServer) -> tuple[int, int]:
    stats = cluster.client(server).info("commandstats")
    evals, by_digest = (stats.get(f"cmdstat_{n}", {}).get("calls", 0) for n in ("eval", "evalsha"))
    return int(evals), int(by_digest)


@pytest.mark.parametrize("face", ["sync", "async"])
async def test_a_one_slot_check_goes_by_digest(
    cluster_servers: LocalCluster, cluster_url: str, face: str
) -> None:
    """A check sends the script's digest (``EVALSHA``), its text (``EVAL``, about 8 KB) only
    when the node answers ``NOSCRIPT``: once per node, and again after a ``SCRIPT FLUSH``."""
    name = f"sha-{face}"
    key = "ip:198.51.100.9"
    sync = SyncRedisClusterCache(cluster_url) if face == "sync" else None
    cache = RedisClusterCache(cluster_url) if face == "async" else None
    try:
        limiter: RateLimiter | AsyncRateLimiter = (
            RateLimiter(sync, "100/d", name=name)
            if sync is not None
            else AsyncRateLimiter(cache, "100/d", name=name)
        )
        node = cluster_servers.primary_of_slot(slot_of(limiter.policy.storage_key(key)))
        cluster_servers.client(node).script_flush()
        cluster_servers.client(node).config_resetstat()

        async def check() -> bool:
            found = limiter.hit(key)
            decision = await found if not isinstance(found, Decision) else found
            return decision.allowed

        assert [await check() for _ in range(5)] == [True] * 5
        evals, by_digest = _script_calls(cluster_servers, node)
        assert evals == 1
        assert by_digest >= 4  # (a NOSCRIPT may count as a call or not)
        cluster_servers.client(node).script_flush()
        assert [await check() for _ in range(2)] == [True] * 2
        assert _script_calls(cluster_servers, node)[0] == 2
    finally:
        if sync is not None:
            sync.close()
        if cache is not None:
            await cache.aclose()
