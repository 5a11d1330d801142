"""docs/scaling.md on the cluster adapter, both faces: "a set_many that fails part-way may
have written other slots; no slot is half written". One primary of the session cluster
refuses writes (maxmemory 1, noeviction; restored afterwards) while a batch spread over
every primary is written.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
from returns.result import Success

from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.errors import CacheServerError
from cache_bridge.testing import Harnesses
from cache_bridge.testing.redis_cluster import LocalCluster
from tests.support.cluster_store import ClusterStore


@pytest.fixture(params=["cluster-sync", "cluster-async"])
def make(request: pytest.FixtureRequest, cluster_url: str) -> Iterator[Harnesses]:
    face = str(request.param)
    cls = SyncRedisClusterCache if face == "cluster-sync" else RedisClusterCache
    with Harnesses(functools.partial(cls, cluster_url), face) as harnesses:
        yield harnesses


@pytest.fixture
def store(cluster_url: str, cluster_servers: LocalCluster) -> Iterator[ClusterStore]:
    made = ClusterStore(cluster_servers)
    try:
        yield made
    finally:
        made.reset({})
        made.close()


def _slot_groups(store: ClusterStore) -> dict[str, list[str]]:
    """Three keys (one hash tag) in each of 12 slots, four slots on every primary."""
    ports = {int(c.connection_pool.connection_kwargs["port"]) for c in store.clients}
    groups: dict[str, list[str]] = {}
    per_port: dict[int, int] = dict.fromkeys(ports, 0)
    for index in range(2000):
        tag = f"{{batch{index}}}"
        port = store.port_of(tag)
        if per_port[port] < 4:
            per_port[port] += 1
            groups[tag] = [f"{tag}:{name}" for name in ("a", "b", "c")]
        if all(n == 4 for n in per_port.values()):
            return groups
    raise AssertionError("no tags for every primary")


@pytest.mark.redis
@pytest.mark.parametrize("ttl", [None, 60])
def test_a_set_many_refused_by_one_primary_writes_whole_slots_elsewhere(
    make: Harnesses, store: ClusterStore, ttl: int | None
) -> None:
    """docs/scaling.md: "a set_many that fails part-way may have written other slots; no slot
    is half written". One primary refuses writes (OOM); the others take their slots whole."""
    groups = _slot_groups(store)
    refusing = store.clients[0]
    refusing_port = int(refusing.connection_pool.connection_kwargs["port"])
    harness = make()
    policy = str(refusing.config_get("maxmemory-policy")["maxmemory-policy"])
    memory = str(refusing.config_get("maxmemory")["maxmemory"])
    mapping = {key: f"v:{key}" for keys in groups.values() for key in keys}
    try:
        refusing.config_set("maxmemory-policy", "noeviction")
        refusing.config_set("maxmemory", 1)
        result = harness.set_many(mapping, ttl) if ttl else harness.set_many(mapping)
    finally:
        refusing.config_set("maxmemory", memory)
        refusing.config_set("maxmemory-policy", policy)
    assert refusing.config_get("maxmemory") == {"maxmemory": memory}
    assert not isinstance(result, Success)
    assert isinstance(result.failure(), CacheServerError), result
    assert result.failure().operation == "set_many"
    for tag, keys in groups.items():
        present = [v is not None for v in store.values(keys)]
        on_refusing = store.port_of(tag) == refusing_port
        # The refusing primary wrote nothing; each other slot is whole, and (failing in one
        # round trip per primary) the others were written.
        assert present == [not on_refusing] * len(keys), (tag, present)
        if ttl and not on_refusing:
            assert all(0 < store.router.ttl(k) <= ttl for k in keys)
