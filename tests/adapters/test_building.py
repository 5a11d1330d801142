"""Faces built from checked settings (:mod:`cache_bridge.adapters.building`): the factory parses
a URL once and hands the settings to the adapter, which does not parse it again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from cache_bridge import config, create_cache, create_sync_cache
from cache_bridge.adapters.memory import InMemoryCache, SyncInMemoryCache
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.adapters.redis.guards import PROBE_OPTIONS, probe_settings
from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.adapters.redis_sentinel import RedisSentinelCache, SyncRedisSentinelCache

URLS: dict[str, tuple[Any, Any]] = {
    "memory://building": (InMemoryCache, SyncInMemoryCache),
    "redis://127.0.0.1:1/2": (RedisCache, SyncRedisCache),
    "redis+cluster://127.0.0.1:1,127.0.0.1:2": (RedisClusterCache, SyncRedisClusterCache),
    "redis+sentinel://127.0.0.1:1/service/3": (RedisSentinelCache, SyncRedisSentinelCache),
}


def _close(cache: Any) -> None:
    if hasattr(cache, "aclose"):
        asyncio.run(cache.aclose())
    else:
        cache.close()


@pytest.mark.parametrize("url", list(URLS))
@pytest.mark.parametrize("blocking", [False, True], ids=["async", "sync"])
def test_the_factory_parses_a_url_once(
    monkeypatch: pytest.MonkeyPatch, url: str, blocking: bool
) -> None:
    parsed: list[object] = []
    parse: Callable[[object, Mapping[str, object]], Any] = config.parse

    def counting(given: object, options: Mapping[str, object]) -> Any:
        parsed.append(given)
        return parse(given, options)

    monkeypatch.setattr(config, "parse", counting)
    make: Callable[..., Any] = create_sync_cache if blocking else create_cache
    cache: Any = make(url, key_prefix="app", timeout=0.5)
    try:
        assert type(cache) is URLS[url][1 if blocking else 0]
        assert parsed == [url]
        assert cache.key_prefix == "app"
    finally:
        _close(cache)


@pytest.mark.parametrize("url", list(URLS))
def test_from_settings_builds_what_the_constructor_builds(url: str) -> None:
    for cls in URLS[url]:
        by_url = cls(url, key_prefix="p")
        by_settings = cls.from_settings(config.parse(url, {"key_prefix": "p"}))
        try:
            assert type(by_settings) is cls
            assert repr(by_settings) == repr(by_url)
            assert by_settings.key_prefix == by_url.key_prefix == "p"
        finally:
            _close(by_url)
            _close(by_settings)


@pytest.mark.parametrize("url", [url for url in URLS if not url.startswith("memory")])
def test_probe_settings_are_those_the_probe_options_give(url: str) -> None:
    settings = config.parse(url, {"key_prefix": "p", "max_connections": 7, "retries": 2})
    assert not isinstance(settings, config.MemorySettings)
    assert probe_settings(settings) == config.parse(
        url, {"key_prefix": "p", "max_connections": 7, "retries": 2, **PROBE_OPTIONS}
    )
