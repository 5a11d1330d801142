"""The near cache (``near_cache=True``) on the blocking face, against real servers: hits served
locally, and every coherence rule of docs/near-cache.md."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from returns.result import Success

from cache_bridge import RedisCache, SyncRedisCache, create_sync_cache
from cache_bridge.errors import ConfigurationError
from cache_bridge.testing import FaultyRedisServer
from cache_bridge.testing.proxy import FaultProxy


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


@pytest.fixture
def hurt() -> Iterator[tuple[FaultyRedisServer, FaultProxy]]:
    server = FaultyRedisServer()
    try:
        server.start()
        with FaultProxy("127.0.0.1", server.port) as proxy:
            yield server, proxy
    finally:
        server.cleanup()


def _read_until_success(cache: SyncRedisCache, key: str) -> object:
    for _ in range(200):
        result = cache.get(key)
        if isinstance(result, Success):
            return result.unwrap()
        time.sleep(0.01)
    raise AssertionError("the cache never answered again")


def test_no_stale_read_after_the_invalidation_connection_drops(
    hurt: tuple[FaultyRedisServer, FaultProxy],
) -> None:
    server, proxy = hurt
    cache = _ready(SyncRedisCache(proxy.url(), near_cache=True))
    direct = redis.Redis(port=server.port)
    for i in range(30):
        direct.set("k", f"old{i}")

        def cached(i: int = i) -> bool:
            return _read_until_success(cache, "k") == f"old{i}"

        _until(cached, "the old value")
        assert _read_until_success(cache, "k") == f"old{i}"  # cached now
        proxy.reset_all()  # every push in flight is lost
        direct.set("k", f"new{i}")
        assert _read_until_success(cache, "k") == f"new{i}"
        _ready(cache)
    assert cache.near_cache is not None
    assert cache.near_cache.stats()["resets"] >= 30
    direct.close()
    cache.close()


def test_no_stale_read_after_a_silent_invalidation_connection(
    hurt: tuple[FaultyRedisServer, FaultProxy],
) -> None:
    server, proxy = hurt
    cache = _ready(SyncRedisCache(proxy.url(), near_cache=True, timeout=0.3))
    direct = redis.Redis(port=server.port)
    cache.set("k", "old")
    assert cache.get("k") == Success("old")
    proxy.blackhole()  # nothing crosses, nothing closes: the push below is lost
    direct.set("k", "new")
    time.sleep(0.4)  # past max_silence (the timeout)
    assert cache.get("k") != Success("old")
    proxy.restore()
    assert _read_until_success(cache, "k") == "new"
    direct.close()
    cache.close()


def test_no_stale_read_after_a_server_restart(hurt: tuple[FaultyRedisServer, FaultProxy]) -> None:
    server, _ = hurt
    url = f"redis://127.0.0.1:{server.port}/0"
    cache = _ready(SyncRedisCache(url, near_cache=True))
    cache.set("k", "before")
    assert cache.get("k") == Success("before")
    server.kill()
    server.start()  # empty: "k" is gone
    assert _read_until_success(cache, "k") is None
    cache.close()


async def test_the_async_face_takes_it_and_reads_from_redis(
    redis_client: redis.Redis, redis_url: str
) -> None:
    cache = RedisCache(redis_url, near_cache=True)
    assert cache.near_cache is None
    assert await cache.set("k", "v") == Success(None)
    redis_client.set("k", "w")
    assert await cache.get("k") == Success("w")
    await cache.aclose()


def test_cluster_and_sentinel_refuse_it_clearly() -> None:
    with pytest.raises(ConfigurationError, match="near_cache"):
        create_sync_cache("redis+cluster://127.0.0.1:7000", near_cache=True)


def test_memory_accepts_and_ignores_it() -> None:
    cache = create_sync_cache("memory://", near_cache=True, near_cache_max_entries=5)
    assert cache.set("k", "v") == Success(None)
    assert cache.get("k") == Success("v")
    cache.close()
