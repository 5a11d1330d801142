"""The Redis Cluster adapter on a test-started cluster (three primaries, one replica each):
the shipped contract on both faces, batches spread over every slot, and a primary failover
during traffic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from returns.result import Result, Success
from scaled_servers import need_redis_server

from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.adapters.redis_cluster.routing import PerSlot, route, slot_of
from cache_bridge.commands import SetMany
from cache_bridge.keys import KeySpace
from cache_bridge.limit_state import ALGORITHMS
from cache_bridge.ratelimit import AsyncRateLimiter, RateLimiter
from cache_bridge.raw_operations import count_pattern, delete_many
from cache_bridge.testing import Harness
from cache_bridge.testing.contract import CacheContract
from cache_bridge.testing.redis_cluster import SLOTS, LocalCluster

#: Short timeouts, so calls to a dead primary fail fast.
SHORT = {"connect_timeout": 0.5, "timeout": 0.5}

MakeCache = Callable[..., Harness]


@pytest.fixture(params=["cluster-sync", "cluster-async"])
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(face: str, cluster_url: str) -> Iterator[MakeCache]:
    made: list[Harness] = []

    def make(**options: Any) -> Harness:
        cls = SyncRedisClusterCache if face == "cluster-sync" else RedisClusterCache
        harness = Harness(cls(cluster_url, **options), face)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.shutdown()


@pytest.fixture
def cache(make_cache: MakeCache) -> Harness:
    return make_cache()


class TestClusterContract(CacheContract):
    pass


# -- batches over every slot ---------------------------------------------------------------


def _keys_covering_every_slot() -> list[str]:
    """At least one key for each of the 16384 hash slots."""
    keys: dict[int, str] = {}
    index = 0
    while len(keys) < SLOTS and index < 2_000_000:
        key = f"spread:{index}"
        keys.setdefault(slot_of(key), key)
        index += 1
    assert len(keys) == SLOTS
    return list(keys.values())


EVERY_SLOT = _keys_covering_every_slot()


def test_batches_over_every_slot_never_fail_with_crossslot(cache: Harness) -> None:
    mapping = {key: f"v{i}" for i, key in enumerate(EVERY_SLOT)}
    assert cache.set_many(mapping) == Success(None)
    assert cache.get_many(EVERY_SLOT) == Success(mapping)
    assert cache.run_operation(count_pattern(KeySpace(None), "spread:*")) == Success(SLOTS)
    assert cache.delete_pattern("spread:*") == Success(SLOTS)
    assert cache.set_many(mapping, ttl=60) == Success(None)
    assert cache.ttl(EVERY_SLOT[-1]) == Success(60)
    assert cache.run_operation(delete_many(KeySpace(None), EVERY_SLOT)) == Success(SLOTS)
    assert cache.get_many(EVERY_SLOT[:100]) == Success(dict.fromkeys(EVERY_SLOT[:100]))


def test_keys_sharing_a_hash_tag_are_written_by_one_command() -> None:
    """The documented atomicity: one slot's part of a batch is one MSET (or one script with
    the expiry), so keys sharing a {hash tag} are written all together or not at all."""
    items = tuple((f"{{cart:7}}:{n}", "v", b"v") for n in range(50))
    for ttl in (None, 30):
        step = route(SetMany(items, ttl))
        assert isinstance(step, PerSlot)
        assert [slot for slot, _ in step.commands] == [slot_of("cart:7")]
    spread = tuple((f"item:{n}", "v", b"v") for n in range(50))
    step = route(SetMany(spread, None))
    assert isinstance(step, PerSlot)
    assert len(step.commands) == len({slot_of(key) for key, _, _ in spread}) > 1


# -- a primary fails during traffic --------------------------------------------------------

#: Generous upper bound for the cluster to promote a replica and the adapter to follow
#: (cluster-node-timeout is 1 s); the measured time is printed.
RECOVERY_BOUND = 30.0


@pytest.fixture
def own_cluster() -> Iterator[LocalCluster]:
    """A cluster of this test's own (it kills a primary): three primaries with a replica each."""
    need_redis_server()
    with LocalCluster(primaries=3, replicas_per_primary=1, node_timeout_ms=1000) as cluster:
        yield cluster


def _round(harness: Harness, keys: list[str], tag: str) -> list[Any]:
    """One round of traffic on one adapter; the results, whatever they are."""
    return [
        harness.set_many(dict.fromkeys(keys, tag)),
        harness.get_many(keys),
        *(harness.increment(k + ":n") for k in keys[:5]),
        harness.delete_pattern("nothing-matches:*"),
    ]


def test_a_primary_failover_during_traffic(own_cluster: LocalCluster) -> None:
    url = own_cluster.url
    adapters = [  # both faces, with the default circuit breaker and without one
        Harness(SyncRedisClusterCache(url, **SHORT), "sync"),
        Harness(RedisClusterCache(url, **SHORT), "async"),
        Harness(SyncRedisClusterCache(url, breaker_threshold=0, **SHORT), "sync, no breaker"),
        Harness(RedisClusterCache(url, breaker_threshold=0, **SHORT), "async, no breaker"),
    ]
    try:
        # Twelve hash-tag groups of five keys, spread over every primary.
        keys = [f"{{group{g}}}:{n}" for g in range(12) for n in range(5)]
        for harness in adapters:
            for result in _round(harness, keys, "before"):
                assert isinstance(result, Success), result
        victim_slot = slot_of(keys[0])
        victim = own_cluster.primary_of_slot(victim_slot)
        with own_cluster.client(victim) as admin:
            assert admin.execute_command("WAIT", 1, 5000) == 1  # the replica has every write
        owners = {key: own_cluster.primary_of_slot(slot_of(key)) for key in keys}
        assert len({owner.port for owner in owners.values()}) == 3

        victim.stop()
        killed_at = time.monotonic()
        # Documented: a batch is atomic per slot only. While the primary is down, set_many
        # fails; the live primaries' slots may or may not have been written, but each slot's
        # keys (each hash-tag group) all hold the old value or all the new one.
        for harness in adapters[:2]:
            assert not isinstance(harness.set_many(dict.fromkeys(keys, "partial")), Success)
        for group in range(12):
            values = set()
            for key in keys[group * 5 : group * 5 + 5]:
                if owners[key] is not victim:
                    with own_cluster.client(owners[key]) as owner:
                        values.add(owner.get(key))
            assert len(values) <= 1, f"group {group} was half written: {values}"

        pending = {harness.name: harness for harness in adapters}
        recovered: dict[str, float] = {}
        failures = 0
        last: list[Any] = []
        while pending and time.monotonic() - killed_at < RECOVERY_BOUND:
            for name, harness in list(pending.items()):
                last = _round(harness, keys, "after")
                assert all(isinstance(r, Result) for r in last)  # never raises: a Result
                failures += sum(not isinstance(r, Success) for r in last)
                if all(isinstance(r, Success) for r in last):
                    recovered[name] = time.monotonic() - killed_at
                    del pending[name]
            time.sleep(0.05)
        assert not pending, f"{sorted(pending)} did not recover within {RECOVERY_BOUND}s: {last}"
        print(
            "\ncluster: primary killed; a full round of traffic succeeded again after "
            + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in recovered.items())
            + f" ({failures} failed calls meanwhile)"
        )

        promoted = own_cluster.primary_of_slot(victim_slot)
        assert promoted is not victim
        assert promoted in own_cluster.replicas
        for harness in adapters:
            assert harness.get_many(keys) == Success(dict.fromkeys(keys, "after"))
    finally:
        for harness in adapters:
            harness.shutdown()


# -- rate limits and concurrency -------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_rate_limits_run_as_one_script_on_the_key_slot(cluster_url: str, algorithm: str) -> None:
    cache = SyncRedisClusterCache(cluster_url, key_prefix="app")
    try:
        limiters = [RateLimiter(cache, "3/m", algorithm=algorithm, name=f"n{i}") for i in range(8)]
        for limiter in limiters:  # eight limit keys, spread over the slots
            decisions = [limiter.hit("203.0.113.7").allowed for _ in range(4)]
            assert decisions == [True, True, True, False]
    finally:
        cache.close()


async def test_async_calls_beyond_the_pool_wait_for_a_connection(cluster_url: str) -> None:
    cache = RedisClusterCache(cluster_url, max_connections=4)
    try:
        limiter = AsyncRateLimiter(cache, "2/m", algorithm="sliding-window")
        assert [(await limiter.hit("k")).allowed for _ in range(3)] == [True, True, False]
        results = await asyncio.gather(*(cache.increment(f"n:{i % 20}") for i in range(200)))
        assert all(isinstance(result, Success) for result in results)
        counts = await cache.get_many([f"n:{i}" for i in range(20)])
        assert counts == Success({f"n:{i}": "10" for i in range(20)})
    finally:
        await cache.aclose()


def test_a_slot_resharded_under_a_running_adapter_is_followed(
    cache: Harness, cluster_servers: LocalCluster
) -> None:
    keys = [f"moving:{n}" for n in range(30)]
    assert cache.get_many(keys) == Success(dict.fromkeys(keys))  # the adapter has a slot map
    slot = slot_of(keys[0])
    source = cluster_servers.primary_of_slot(slot)
    target = next(p for p in cluster_servers.primaries if p is not source and p.running)
    cluster_servers.move_slot(slot, target)
    # The adapter's map is stale for that slot: the batch meets MOVED and follows it.
    assert cache.set_many(dict.fromkeys(keys, "v"), ttl=60) == Success(None)
    assert cache.get_many(keys) == Success(dict.fromkeys(keys, "v"))
    with cluster_servers.client(target) as client:
        assert client.get(keys[0]) == b"v"
    assert cache.delete_pattern("moving:*") == Success(len(keys))
