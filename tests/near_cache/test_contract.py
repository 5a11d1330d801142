"""The shipped contract suite on near-cached Redis adapters, both faces: a near cache changes
no answer of any protocol method (each adapter waits for its tracking before the test, so
reads are served from process memory whenever they may be)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from cache_bridge import RedisCache, SyncRedisCache
from cache_bridge.testing import Harnesses
from cache_bridge.testing.contract import CacheContract, MakeCache


def _tracking(cache: Any) -> Any:
    deadline = time.monotonic() + 5
    while cache.near_cache is not None and not cache.near_cache.ready:
        assert time.monotonic() < deadline, "tracking never came up"
        time.sleep(0.002)
    return cache


@pytest.fixture(params=["near-sync", "near-async"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(backend: str, redis_client: redis.Redis, redis_url: str) -> Iterator[MakeCache]:
    kind = SyncRedisCache if backend == "near-sync" else RedisCache

    def build(**options: Any) -> Any:
        cache = _tracking(kind(redis_url, near_cache=True, **options))
        # The near cache is shared by every adapter of the server alive in the process
        # (tracking.py): one that outlives its test (a framework's alias) keeps it, with an
        # earlier test's entries until the invalidation of this test's FLUSHDB (by another
        # client, redis_client) arrives; pytest-without-redis of stop 23 read an earlier
        # test's "doc" that way. The test starts from an empty one, as a fresh process would.
        cache.near_cache.invalidate(None)
        return cache

    with Harnesses(build, backend.removeprefix("near-")) as make:
        yield make


class TestContractWithTheNearCache(CacheContract):
    pass
