"""What only the in-memory adapter promises: its bound, its LRU order, named stores, a clock."""

from __future__ import annotations

import asyncio

from returns.result import Success

from cache_bridge import InMemoryCache, SyncInMemoryCache, create_cache, create_sync_cache
from cache_bridge.config import DEFAULT_MAX_ENTRIES


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_default_bound_is_documented_and_at_least_ten_thousand() -> None:
    cache = SyncInMemoryCache()
    assert cache.store.max_entries == DEFAULT_MAX_ENTRIES >= 10_000


def test_the_least_recently_used_entry_is_evicted_first() -> None:
    cache = SyncInMemoryCache(max_entries=3)
    for key in "abc":
        cache.set(key, key)
    assert cache.get("a") == Success("a")  # a is now the most recently used
    cache.set("d", "d")
    assert cache.get_many(["a", "b", "c", "d"]) == Success(
        {"a": "a", "b": None, "c": "c", "d": "d"}
    )
    assert len(cache.store) == 3


def test_entries_are_cache_entry_records() -> None:
    clock = FakeClock()
    cache = SyncInMemoryCache(clock=clock, key_prefix="p")
    cache.set("k", "v", ttl=10)
    entry: dict[str, object] = dict(cache.store._entries["p:k"])
    assert entry == {
        "key": "p:k",
        "value": "v",
        "ttl": 10,
        "created_at": clock.now,
        "expires_at": clock.now + 10,
    }


def test_the_clock_decides_expiry_and_ttl() -> None:
    clock = FakeClock()
    cache = SyncInMemoryCache(clock=clock)
    cache.set("k", "v", ttl=10)
    clock.now += 9.5
    assert cache.ttl("k") == Success(1)
    clock.now += 0.5
    assert cache.get("k") == Success("v")  # alive until the deadline has passed, as in Redis
    clock.now += 0.001
    assert cache.get("k") == Success(None)
    assert cache.ttl("k") == Success(None)


def test_each_unnamed_store_is_private() -> None:
    first, second = create_sync_cache("memory://"), create_sync_cache("memory://")
    first.set("k", "v")
    assert second.get("k") == Success(None)


def test_named_stores_are_shared_across_faces_and_adapters() -> None:
    sync = create_sync_cache("memory://shared-by-name-test")
    sync.set("k", "v")
    other = create_sync_cache("memory://shared-by-name-test")
    assert other.get("k") == Success("v")

    async def read() -> object:
        async with create_cache("memory://shared-by-name-test") as cache:
            return await cache.get("k")

    assert asyncio.run(read()) == Success("v")
    sync.flush()


def test_the_async_and_sync_faces_can_share_one_store() -> None:
    async_face = InMemoryCache(key_prefix="app")
    sync_face = async_face.sync()
    sync_face.set("k", "v")
    assert asyncio.run(async_face.get("k")) == Success("v")
    assert sync_face.key_prefix == "app"


def test_store_settings_cannot_be_given_with_a_store() -> None:
    import pytest

    from cache_bridge import ConfigurationError

    shared = SyncInMemoryCache().store
    with pytest.raises(ConfigurationError, match="belong to the store"):
        SyncInMemoryCache(store=shared, clock=FakeClock())
    with pytest.raises(ConfigurationError, match="belong to the store"):
        InMemoryCache(store=shared, max_entries=5)
