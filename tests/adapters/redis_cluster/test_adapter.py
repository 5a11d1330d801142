"""The Redis Cluster adapter on a test-started cluster (three primaries, one replica each):
the shipped contract on both faces, batches spread over every slot, and a primary failover
during traffic."""

from __future__ import annotations

import asyncio
import functools
import gc
import time
import warnings
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest
from redis import exceptions as rx
from returns.result import Failure, Result, Success

from cache_bridge.adapters.redis_cluster import (
    ClusterTopologyChangedError,
    RedisClusterCache,
    SyncRedisClusterCache,
    unavailable,
)
from cache_bridge.adapters.redis_cluster.clients import (
    CommandTable,
    async_cluster_client,
    check_client,
    sync_cluster_client,
)
from cache_bridge.adapters.redis_cluster.routing import PerSlot, route, slot_of
from cache_bridge.engine.bytes_operations import count_pattern, delete_many
from cache_bridge.engine.commands import Command, Scan, SetMany
from cache_bridge.engine.keys import KeySpace
from cache_bridge.engine.limit_algorithms import ALGORITHMS
from cache_bridge.engine.operations import Op
from cache_bridge.errors import CacheConnectionError
from cache_bridge.ratelimit import AsyncRateLimiter, RateLimiter
from cache_bridge.testing import Harness, Harnesses
from cache_bridge.testing.contract import CacheContract
from cache_bridge.testing.redis_cluster import SLOTS, LocalCluster, free_cluster_port
from cache_bridge.testing.redis_server import RedisServer
from tests.support.scaled_servers import need_redis_server

#: Short timeouts, so calls to a dead primary fail fast.
SHORT = {"connect_timeout": 0.5, "timeout": 0.5}

MakeCache = Callable[..., Harness]


@pytest.fixture(params=["cluster-sync", "cluster-async"])
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(face: str, cluster_url: str) -> Iterator[MakeCache]:
    cls = SyncRedisClusterCache if face == "cluster-sync" else RedisClusterCache
    with Harnesses(functools.partial(cls, cluster_url), face) as make:
        yield make


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
        owners = {own_cluster.primary_of_slot(slot_of(key)).port for key in keys}
        assert len(owners) == 3

        victim.stop()
        killed_at = time.monotonic()
        # While the primary is down, a batch that needs it fails (per-slot atomicity itself
        # is checked by test_keys_sharing_a_hash_tag_are_written_by_one_command).
        for harness in adapters[:2]:
            assert not isinstance(harness.set_many(dict.fromkeys(keys, "partial")), Success)

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


# -- topology changes: a cluster of this module's own ----------------------------------------
#
# These tests move slots and promote replicas, so they share a private cluster rather than the
# session's one, and each reads the layout it finds instead of assuming the initial one.


@pytest.fixture(scope="module")
def moving_cluster() -> Iterator[LocalCluster]:
    need_redis_server()
    with LocalCluster(primaries=3, replicas_per_primary=1, node_timeout_ms=1000) as cluster:
        yield cluster


@pytest.fixture
def moving(moving_cluster: LocalCluster, face: str) -> Iterator[tuple[LocalCluster, Harness]]:
    moving_cluster.wait_until_healthy()
    moving_cluster.wait_until_synced()
    moving_cluster.flush()
    cls = SyncRedisClusterCache if face == "cluster-sync" else RedisClusterCache
    harness = Harness(cls(moving_cluster.url), face)
    try:
        yield moving_cluster, harness
    finally:
        harness.shutdown()


def _other_primary(cluster: LocalCluster, than: RedisServer) -> RedisServer:
    owners = {cluster.primary_of_slot(slot).port for slot in range(0, SLOTS, 64)}
    return next(s for s in cluster.servers if s.running and s.port in owners and s is not than)


def _walk(match: str, count: int, midway: Callable[[], None]) -> Op[tuple[set[bytes], int]]:
    """A walk over every primary in steps of ``count`` keys, calling ``midway`` after its
    first step: the keys seen and how many steps ran after ``midway``."""

    def steps() -> Generator[Command, Any, tuple[set[bytes], int]]:
        seen: set[bytes] = set()
        cursor, after = 0, -1
        for _ in range(100_000):
            cursor, found = yield Scan(cursor, match, count)
            seen.update(found)
            after += after >= 0
            if after < 0:
                midway()
                after = 0
            if int(cursor) == 0:
                return seen, after
        raise AssertionError("the walk did not end")

    return Op("walk", None, steps())


def _fill(harness: Harness, count: int) -> set[bytes]:
    keys = {f"walk:{n}": "v" for n in range(count)}
    assert harness.set_many(keys) == Success(None)
    return {key.encode() for key in keys}


def test_a_walk_during_which_a_slot_moves_fails_instead_of_skipping_a_primary(
    moving: tuple[LocalCluster, Harness],
) -> None:
    cluster, harness = moving
    keys = _fill(harness, 300)
    first = cluster.primary_of_slot(0)
    target = _other_primary(cluster, first)

    def move_lowest_slot() -> None:
        # The walk is on the primary of slot 0 now; moving slot 0 renames that primary in
        # the cursor's terms (its lowest slot becomes 1), as in the reviewer's reproducer.
        cluster.move_slot(0, target)

    result = harness.run_operation(_walk("walk:*", 10, move_lowest_slot))
    assert isinstance(result, Failure), result
    assert isinstance(result.failure(), ClusterTopologyChangedError)
    assert "run it again" in str(result.failure())
    # Run again on the new topology: every key is found.
    again = harness.run_operation(_walk("walk:*", 10, lambda: None))
    assert isinstance(again, Success)
    assert again.unwrap()[0] == keys
    assert harness.run_operation(count_pattern(KeySpace(None), "walk:*")) == Success(len(keys))


def test_a_walk_stops_at_the_next_step_once_the_client_has_seen_the_move(
    moving_cluster: LocalCluster,
) -> None:
    moving_cluster.wait_until_healthy()
    moving_cluster.flush()
    cache = SyncRedisClusterCache(moving_cluster.url)
    try:
        keys = {f"walk:{n}": "v" for n in range(300)}
        assert cache.set_many(keys) == Success(None)
        on_zero = next(f"zero:{n}" for n in range(100_000) if slot_of(f"zero:{n}") == 0)
        target = _other_primary(moving_cluster, moving_cluster.primary_of_slot(0))

        def move_and_follow() -> None:
            moving_cluster.move_slot(0, target)
            # A call for the moved slot meets MOVED: the adapter's slot map learns the move.
            assert cache.set(on_zero, "x") == Success(None)

        result = cache.run_operation(_walk("walk:*", 10, move_and_follow))
        assert isinstance(result, Failure)
        assert isinstance(result.failure(), ClusterTopologyChangedError)
    finally:
        cache.close()


def test_a_walk_during_a_failover_fails_instead_of_reusing_a_cursor(
    moving: tuple[LocalCluster, Harness],
) -> None:
    """A SCAN cursor means nothing on another process: a walk that a replica's promotion
    interrupts fails (the cursor's fingerprint names primaries by address)."""
    cluster, harness = moving
    keys = _fill(harness, 300)
    promoted: list[RedisServer] = []

    def fail_over_the_walked_primary() -> None:
        promoted.append(cluster.fail_over(cluster.primary_of_slot(0)))

    result = harness.run_operation(_walk("walk:*", 10, fail_over_the_walked_primary))
    assert promoted, result  # else the failover itself failed: the Failure says why
    assert cluster.primary_of_slot(0) is promoted[0]
    assert isinstance(result, Failure), result
    assert isinstance(result.failure(), ClusterTopologyChangedError)
    again = harness.run_operation(_walk("walk:*", 10, lambda: None))
    assert isinstance(again, Success)
    assert again.unwrap()[0] == keys


def test_keys_migrating_between_primaries_are_followed_and_none_is_lost(
    moving: tuple[LocalCluster, Harness],
) -> None:
    """A slot moved with its keys (SETSLOT IMPORTING / MIGRATING, MIGRATE a part, then the
    rest): reads of moved keys follow ASK, multi-key calls over both sides meet TRYAGAIN, and
    every call returns a Result; afterwards every key, including one written meanwhile, is
    on the new primary."""
    cluster, harness = moving
    keys = [f"{{mig}}:{n}" for n in range(40)]
    values = {key: f"v{n}" for n, key in enumerate(keys)}
    assert harness.set_many(values) == Success(None)
    slot = slot_of(keys[0])
    source = cluster.primary_of_slot(slot)
    target = _other_primary(cluster, source)

    source = cluster.start_migration(slot, target)
    try:
        assert cluster.migrate_keys(slot, source, target, 20) == 20
        with cluster.client(source) as on_source, cluster.client(target) as on_target:
            left = on_source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100)
            arrived = on_target.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100)
        moved = sorted(key.decode() for key in arrived)
        assert len(moved) == 20
        assert not set(moved) & {key.decode() for key in left}
        for key in moved:  # on the target only, the slot still the source's: ASK
            assert harness.get(key) == Success(values[key])
        assert harness.set("{mig}:new", "written") == Success(None)  # ASK to the target
        both = harness.get_many(keys)  # keys on both sides of one slot: TRYAGAIN
        assert isinstance(both, Result)
        if isinstance(both, Success):
            assert both.unwrap() == values
        else:
            assert isinstance(both.failure(), CacheConnectionError)
        counted = harness.run_operation(count_pattern(KeySpace(None), "{mig}:*"))
        assert isinstance(counted, Result)
    finally:
        cluster.finish_migration(slot, source, target)

    assert cluster.primary_of_slot(slot) is target
    assert harness.get_many(keys) == Success(values)
    assert harness.get("{mig}:new") == Success("written")
    with cluster.client(target) as on_target:
        assert on_target.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == len(keys) + 1
    assert harness.delete_pattern("{mig}:*") == Success(len(keys) + 1)


def test_a_slot_resharded_under_a_running_adapter_is_followed(
    moving: tuple[LocalCluster, Harness],
) -> None:
    cluster, harness = moving
    keys = [f"moving:{n}" for n in range(30)]
    assert harness.get_many(keys) == Success(dict.fromkeys(keys))  # the adapter has a slot map
    slot = slot_of(keys[0])
    source = cluster.primary_of_slot(slot)
    target = _other_primary(cluster, source)
    cluster.move_slot(slot, target)
    # The adapter's map is stale for that slot: the batch meets MOVED and follows it.
    assert harness.set_many(dict.fromkeys(keys, "v"), ttl=60) == Success(None)
    assert harness.get_many(keys) == Success(dict.fromkeys(keys, "v"))
    with cluster.client(target) as client:
        assert client.get(keys[0]) == b"v"
    assert harness.delete_pattern("moving:*") == Success(len(keys))


# -- what the adapter relies on in redis-py, and what it counts as unavailable ----------------


def test_the_redis_py_internals_the_adapter_reads_are_there(cluster_url: str) -> None:
    settings = SyncRedisClusterCache(cluster_url).settings
    client = sync_cluster_client(settings)  # check_client ran: slots_cache, initialize()
    try:
        assert len(client.nodes_manager.slots_cache) == SLOTS
    finally:
        client.close()
    table = CommandTable()
    async_client = async_cluster_client(settings, table)
    assert type(async_client.commands_parser).__name__ == "_SharedCommandsParser"
    with pytest.raises(RuntimeError, match="slots_cache"):
        check_client(object())


def test_only_cluster_states_count_as_unavailable() -> None:
    assert unavailable(rx.ClusterDownError("CLUSTERDOWN The cluster is down"))
    assert unavailable(rx.TryAgainError("TRYAGAIN"))
    assert unavailable(rx.SlotNotCoveredError('Slot "7" is not covered by the cluster.'))
    assert unavailable(rx.ClusterError("TTL exhausted."))
    refused = rx.RedisClusterException("Redis Cluster cannot be connected. Please provide ...")
    assert unavailable(refused)
    caused = rx.RedisClusterException("something")
    caused.__cause__ = rx.ConnectionError("refused")
    assert unavailable(caused)
    # Mistakes in how a command is sent are not the cluster's state.
    assert not unavailable(rx.RedisClusterException("No targets were found to execute"))
    assert not unavailable(rx.RedisClusterException("Too many targets for command"))
    assert not unavailable(ValueError("x"))


def test_an_unreachable_cluster_is_a_connection_failure_on_both_faces() -> None:
    url = f"redis+cluster://127.0.0.1:{free_cluster_port()}"
    sync = SyncRedisClusterCache(url, connect_timeout=0.2, timeout=0.2)
    try:
        result = sync.get("k")
        assert isinstance(result, Failure)
        assert isinstance(result.failure(), CacheConnectionError)
    finally:
        sync.close()

    async def run() -> Result[Any, Any]:
        cache = RedisClusterCache(url, connect_timeout=0.2, timeout=0.2)
        try:
            return await cache.get("k")
        finally:
            await cache.aclose()

    result = asyncio.run(run())
    assert isinstance(result, Failure)
    assert isinstance(result.failure(), CacheConnectionError)


# -- an async face used from many event loops -------------------------------------------------


def _connections(cluster: LocalCluster) -> int:
    total = 0
    for server in cluster.primaries:
        with cluster.client(server) as client:
            total += len(client.client_list()) - 1  # this admin connection
    return total


def _command_calls(cluster: LocalCluster) -> int:
    total = 0
    for server in cluster.servers:
        with cluster.client(server) as client:
            stats = client.info("commandstats")
        total += int(stats.get("cmdstat_command", {}).get("calls", 0))
    return total


def test_a_loop_per_call_closes_its_client_and_reads_command_once(
    cluster_url: str, cluster_servers: LocalCluster
) -> None:
    """asyncio.run per call (as some frameworks do): each loop's client is closed when the
    loop ends (no 'Unclosed' warning, no connection left open), and the COMMAND table is read
    by the first loop only."""
    cache = RedisClusterCache(cluster_url)
    before = _connections(cluster_servers)
    commands = _command_calls(cluster_servers)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(5):
            assert asyncio.run(cache.set(f"loop:{n}", "v")) == Success(None)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert _command_calls(cluster_servers) - commands == 1
    deadline = time.monotonic() + 5
    while _connections(cluster_servers) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _connections(cluster_servers) <= before
    assert asyncio.run(cache.aclose()) is None
