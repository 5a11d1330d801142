"""Adapters of one server and the same near-cache options share one near cache and one
invalidation connection (Django and Flask build both faces of an alias from one set of
options): one memory budget, and each face's own writes are the other's at once."""

from __future__ import annotations

import asyncio
import time

import redis
from returns.result import Success

from cache_bridge import RedisCache, SyncRedisCache
from tests.near_cache.faces import Face


async def test_both_faces_and_every_prefix_share_one_near_cache(
    redis_client: redis.Redis, redis_url: str
) -> None:
    # a budget no other test uses: adapters other tests left open share theirs
    options = {"near_cache": True, "near_cache_max_entries": 4321}
    blocking = SyncRedisCache(redis_url, **options)
    async_ = RedisCache(redis_url, **options)
    prefixed = SyncRedisCache(redis_url, key_prefix="p", **options)
    other_budget = SyncRedisCache(redis_url, near_cache=True, near_cache_max_entries=7)
    assert blocking.near_cache is async_.near_cache is prefixed.near_cache
    assert other_budget.near_cache is not blocking.near_cache
    face = await Face(async_).ready()
    assert blocking.set("k", "one") == Success(None)
    assert await face.served_locally("get", "k") == Success("one")
    assert blocking.set("k", "two") == Success(None)  # an own write of the shared copy
    assert await async_.get("k") == Success("two")
    blocking.close()  # the other faces keep it
    assert await face.served_locally("get", "k") == Success("two")
    prefixed.close()
    near = async_.near_cache
    assert near is not None
    await async_.aclose()  # the last one stops it
    deadline = time.monotonic() + 5
    while near.ready:
        assert time.monotonic() < deadline, "the near cache outlived its adapters"
        await asyncio.sleep(0.005)
    again = SyncRedisCache(redis_url, **options)
    assert again.near_cache is not near  # a new one, tracking anew
    again.close()
    other_budget.close()
