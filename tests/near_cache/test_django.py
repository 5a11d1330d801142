"""Django turns the near cache on through OPTIONS: cache.get and cache.aget (the two faces
share one near cache) are served from process memory and see another client's write once its
push arrived."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from pytest_django import Settings as SettingsWrapper

from django_cache_bridge.cache import BridgeCache
from tests.support.django_helpers import alias, bridge


@pytest.fixture
def dj(
    settings: SettingsWrapper, redis_client: redis.Redis, redis_url: str
) -> Iterator[BridgeCache]:
    settings.CACHES = {"default": alias(redis_url, KEY_PREFIX="near", OPTIONS={"near_cache": True})}
    cache = bridge()
    shared = cache.adapters()
    deadline = time.monotonic() + 5
    for face in (shared.sync, shared.async_):
        near = getattr(face, "near_cache", None)
        assert near is not None, "OPTIONS near_cache did not reach the adapter"
        while not near.ready:
            assert time.monotonic() < deadline, "tracking never came up"
            time.sleep(0.005)
    yield cache
    cache.clear()


def _hits(cache: BridgeCache) -> int:
    near: Any = cache.adapters().sync.near_cache  # type: ignore[attr-defined]
    return int(near.stats()["hits"])


async def test_get_and_aget_are_served_locally_and_stay_coherent(
    dj: BridgeCache, redis_client: redis.Redis
) -> None:
    shared = dj.adapters()
    assert shared.sync.near_cache is shared.async_.near_cache  # type: ignore[attr-defined]
    dj.set("k", {"v": 1})
    deadline = time.monotonic() + 5
    while not (dj.get("k") == {"v": 1} and _hits(dj) > 0):
        assert time.monotonic() < deadline, "cache.get never served locally"
    before = _hits(dj)
    while not (await dj.aget("k") == {"v": 1} and _hits(dj) > before):
        assert time.monotonic() < deadline, "cache.aget never served locally"
        await asyncio.sleep(0.002)
    dj.set("k", {"v": 2})  # the faces share the copy: an own write for both
    assert dj.get("k") == {"v": 2}
    deadline = time.monotonic() + 5
    assert await dj.aget("k") == {"v": 2}
    redis_client.delete(":".join(["near", "1", "k"]))  # a third client, under Django's key
    while dj.get("k") is not None or await dj.aget("k") is not None:
        assert time.monotonic() < deadline, "a face kept a deleted value"
        await asyncio.sleep(0.002)
