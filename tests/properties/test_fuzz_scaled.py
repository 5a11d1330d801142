"""The fuzz test of tests/properties/test_fuzz_protocol.py on the Redis Cluster and Sentinel
adapters, both faces: every protocol method with hostile arguments returns a Result, never
raises, and a Failure is a CacheError naming the operation that wrote nothing.

On a cluster "nothing written" means nothing on any primary: the snapshot SCANs every
primary (a plain SCAN through the cluster would see one node only).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from returns.result import Success

from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.adapters.redis_sentinel import RedisSentinelCache, SyncRedisSentinelCache
from cache_bridge.testing import Harness, Harnesses
from cache_bridge.testing.redis_cluster import LocalCluster
from cache_bridge.testing.redis_sentinel import LocalSentinel
from tests.properties.test_fuzz_protocol import (
    CALLS,
    FOREIGN,
    PREFIX,
    SEED,
    RedisState,
    calls,
    check_outcome,
)
from tests.support.store_snapshots import Snapshot, redis_snapshot

#: Modest: each example resets and snapshots every primary twice.
EXAMPLES = 60


class ClusterState:
    """Resets and reads a whole test-owned cluster, primary by primary."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.clients = [cluster.client(s) for s in cluster.current_primaries()]
        port = cluster.primaries[0].port
        self.router = redis.cluster.RedisCluster(host="127.0.0.1", port=port)

    def reset(self) -> None:
        for client in self.clients:
            client.flushdb()
        for key, (value, ttl) in SEED.items():
            self.router.set(f"{PREFIX}:{key}", value, ex=ttl)
        for key, value in FOREIGN.items():
            self.router.set(key, value)

    def snapshot(self) -> Snapshot:
        """Every key of every primary, with its DUMP and absolute expiry, tagged by node."""
        whole: Snapshot = {}
        for client in self.clients:
            port = client.connection_pool.connection_kwargs["port"]
            whole.update({(port, k): v for k, v in redis_snapshot(client).items()})
        return whole

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.router.close()


class PrimaryState(RedisState):
    """Resets and reads the (test-owned) primary of a sentinel set-up."""

    def __init__(self, setup: LocalSentinel) -> None:
        port = setup.primary_port()
        server = setup.primary if port == setup.primary.port else setup.replica
        super().__init__(setup.client(server))

    def close(self) -> None:
        self.client.close()


State = ClusterState | PrimaryState

FACES: dict[str, Any] = {
    "cluster-sync": SyncRedisClusterCache,
    "cluster-async": RedisClusterCache,
    "sentinel-sync": SyncRedisSentinelCache,
    "sentinel-async": RedisSentinelCache,
}


@pytest.fixture(params=sorted(FACES))
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def made(face: str, request: pytest.FixtureRequest) -> Iterator[tuple[Harness, State]]:
    """A harness of ``face`` with the fuzz namespace, and the state of the store below it."""
    if face.startswith("cluster"):
        url = request.getfixturevalue("cluster_url")
        state: State = ClusterState(request.getfixturevalue("cluster_servers"))
    else:
        url = request.getfixturevalue("sentinel_url")
        state = PrimaryState(request.getfixturevalue("sentinel_servers"))
    try:
        with Harnesses(functools.partial(FACES[face], url), face) as make:
            yield make(key_prefix=PREFIX), state
    finally:
        state.close()


@pytest.mark.redis
def test_every_method_returns_a_result_and_fails_without_writing(
    made: tuple[Harness, State],
) -> None:
    harness, state = made

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(call=calls())
    def run(call: tuple[str, tuple[Any, ...]]) -> None:
        name, args = call
        state.reset()
        before = state.snapshot()
        result = getattr(harness, name)(*args)
        check_outcome(result, name, args, before, state.snapshot())
        seen.add((name, type(result).__name__))

    seen: set[tuple[str, str]] = set()
    run()
    # Failures happened and were checked (hostile arguments are most of the draws).
    assert {kind for _, kind in seen} == {"Success", "Failure"}
    assert len({name for name, _ in seen}) >= len(CALLS) // 2


@pytest.mark.redis
def test_the_cluster_snapshot_sees_a_write_on_every_primary(
    cluster_url: str, cluster_servers: LocalCluster
) -> None:
    """The "nothing written" check can fail: a write to any primary changes the snapshot."""
    state = ClusterState(cluster_servers)
    writes: list[Callable[[Harness], Any]] = [
        lambda h: h.set("a", "changed"),
        lambda h: h.set("n", "5"),  # same value, expiry cleared
        lambda h: h.expire("a:b", 10),
        lambda h: h.delete("j"),
    ]
    try:
        with SyncRedisClusterCache(cluster_url, key_prefix=PREFIX) as cache:
            harness = Harness(cache, "cluster-sync")
            for write in writes:
                state.reset()
                before = state.snapshot()
                assert isinstance(write(harness), Success)
                assert state.snapshot() != before
            # A key on each primary, written below the adapter, shows in the snapshot.
            for client in state.clients:
                state.reset()
                before = state.snapshot()
                slot_key = _key_served_by(client, state.router)
                state.router.set(slot_key, "x")
                assert state.snapshot() != before
    finally:
        state.close()


def _key_served_by(client: redis.Redis, router: redis.cluster.RedisCluster) -> str:
    port = client.connection_pool.connection_kwargs["port"]
    for index in range(10_000):
        key = f"probe:{index}"
        node = router.get_node_from_key(key)  # type: ignore[no-untyped-call]
        if node is not None and node.port == port:
            return key
    raise AssertionError(f"no probe key lands on port {port}")
