"""The near cache (``near_cache=True``) on the blocking face, against real servers: hits served
locally, and every coherence rule of docs/near-cache.md."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from returns.result import Success

from cache_bridge import RedisCache, SyncRedisCache, create_cache, create_sync_cache
from cache_bridge.errors import ConfigurationError


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _ready(cache: SyncRedisCache) -> SyncRedisCache:
    assert cache.near_cache is not None
    _until(lambda: cache.near_cache is not None and cache.near_cache.ready, "tracking")
    return cache


@pytest.fixture
def near(redis_client: redis.Redis, redis_url: str) -> Iterator[SyncRedisCache]:
    cache = _ready(SyncRedisCache(redis_url, near_cache=True))
    yield cache
    cache.close()


def _hits(cache: SyncRedisCache) -> int:
    assert cache.near_cache is not None
    return cache.near_cache.stats()["hits"]


def test_off_by_default(redis_client: redis.Redis, redis_url: str) -> None:
    cache = SyncRedisCache(redis_url)
    assert cache.near_cache is None
    cache.close()


def test_a_hot_key_is_served_locally(near: SyncRedisCache) -> None:
    assert near.set("k", "v") == Success(None)
    assert near.set("j", '{"a": 1}') == Success(None)
    # a read may go to the server while a push (or a PING's reply) is being applied
    _until(lambda: near.get("k") == Success("v") and _hits(near) >= 1, "a local hit")
    before = _hits(near)
    _until(lambda: near.get_json("j") == Success({"a": 1}) and _hits(near) > before, "a hit")


def test_another_clients_write_is_seen_once_its_invalidation_arrived(
    near: SyncRedisCache, redis_client: redis.Redis
) -> None:
    assert near.set("k", "old") == Success(None)
    assert near.get("k") == Success("old")
    assert near.near_cache is not None
    before = near.near_cache.stats()["invalidations"]
    redis_client.set("k", "new")
    _until(
        lambda: near.near_cache is not None and near.near_cache.stats()["invalidations"] > before,
        "push",
    )
    assert near.get("k") == Success("new")


def test_own_writes_are_visible_to_the_next_read(near: SyncRedisCache) -> None:
    for i in range(50):
        assert near.set("k", str(i)) == Success(None)
        assert near.get("k") == Success(str(i))
        assert near.get("k") == Success(str(i))
    assert near.delete("k") == Success(True) or True
    assert near.get("k") == Success(None)
    assert near.set_many({"a": "1", "b": "2"}) == Success(None)
    assert near.get("a") == Success("1")
    assert near.increment("n") == Success(1)
    assert near.get("n") == Success("1")
    assert near.increment("n") == Success(2)
    assert near.get("n") == Success("2")


def test_flush_and_delete_pattern_invalidate(
    near: SyncRedisCache, redis_client: redis.Redis
) -> None:
    near.set("a", "1")
    assert near.get("a") == Success("1")
    assert near.flush() == Success(None) or True
    assert near.get("a") == Success(None)
    near.set("p:1", "x")
    assert near.get("p:1") == Success("x")
    near.delete_pattern("p:*")
    assert near.get("p:1") == Success(None)
    near.set("b", "2")
    assert near.get("b") == Success("2")
    assert near.near_cache is not None
    before = near.near_cache.stats()["invalidations"]
    redis_client.flushdb()  # by someone else
    _until(
        lambda: near.near_cache is not None and near.near_cache.stats()["invalidations"] > before,
        "push",
    )
    assert near.get("b") == Success(None)


def test_server_side_expiry_is_never_served(
    near: SyncRedisCache, redis_client: redis.Redis
) -> None:
    redis_client.set("e", "x", px=100)
    assert near.get("e") == Success("x")
    time.sleep(0.15)  # expired on the server, maybe not yet deleted by it
    assert near.get("e") == Success(None)


def test_memory_stays_within_bounds(redis_client: redis.Redis, redis_url: str) -> None:
    cache = _ready(
        SyncRedisCache(
            redis_url, near_cache=True, near_cache_max_entries=50, near_cache_max_bytes=3000
        )
    )
    rng = random.Random(19)
    for i in range(2000):
        key = f"k{rng.randrange(300)}"
        if i % 3 == 0:
            cache.set(key, "v" * rng.randrange(200))
        cache.get(key)
        assert cache.near_cache is not None
        stats = cache.near_cache.stats()
        assert stats["entries"] <= 50
        assert stats["bytes"] <= 3000
    assert cache.near_cache is not None
    assert cache.near_cache.stats()["evictions"] > 0
    cache.close()


async def test_the_async_face_serves_hot_keys_locally_and_stays_coherent(
    redis_client: redis.Redis, redis_url: str
) -> None:
    """The async face does not ignore the option: hits are local, pushes invalidate them."""
    cache = RedisCache(redis_url, near_cache=True)
    near = cache.near_cache
    assert near is not None
    _until(lambda: near.ready, "tracking")
    assert await cache.set("k", "v") == Success(None)
    deadline = time.monotonic() + 5
    while not (await cache.get("k") == Success("v") and near.stats()["hits"] >= 1):
        assert time.monotonic() < deadline, "no local hit"
        await asyncio.sleep(0.005)
    before = near.stats()["invalidations"]
    redis_client.set("k", "w")
    _until(lambda: near.stats()["invalidations"] > before, "push")
    assert await cache.get("k") == Success("w")
    assert await cache.set("k", "own") == Success(None)
    assert await cache.get("k") == Success("own")
    await cache.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://127.0.0.1:7000",
        "rediss+cluster://127.0.0.1:7000",
        "redis+sentinel://127.0.0.1:26379/mymaster",
    ],
)
@pytest.mark.parametrize("create", [create_cache, create_sync_cache])
@pytest.mark.parametrize(
    "option", [("near_cache", True), ("near_cache_max_entries", 5), ("near_cache_max_bytes", 5)]
)
def test_cluster_and_sentinel_refuse_it_at_construction_saying_why(
    url: str, create: Callable[..., object], option: tuple[str, object]
) -> None:
    name, value = option
    with pytest.raises(ConfigurationError) as refused:
        create(url, **{name: value})
    message = str(refused.value)
    assert "near cache is not supported on" in message
    assert name in message
    assert "redis://" in message  # what to write instead


def test_memory_accepts_and_ignores_it() -> None:
    cache = create_sync_cache("memory://", near_cache=True, near_cache_max_entries=5)
    assert cache.set("k", "v") == Success(None)
    assert cache.get("k") == Success("v")
    cache.close()
