"""URLs and options are checked at construction, with messages that say what to write."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from cache_bridge import (
    ConfigurationError,
    InMemoryCache,
    RedisCache,
    SyncInMemoryCache,
    SyncRedisCache,
    create_cache,
    create_sync_cache,
)
from cache_bridge.config import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, RedisSettings, parse


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("ftp://host", {}, "unsupported cache URL scheme"),
        ("", {}, "unsupported cache URL scheme"),
        (5, {}, "must be a str"),
        ("redis://host:notaport/0", {}, "port"),
        ("redis://host:0/0", {}, "port"),
        ("redis://host:6379/zero", {}, "database number"),
        ("redis://host:6379/\u00b2", {}, "database number"),
        ("redis://host:6379/\u0663", {}, "database number"),
        ("redis://h/0", {"max_connections": 10**6}, "at most 10000"),
        ("unix://", {}, "socket path"),
        ("memory://name/path", {}, "memory://NAME"),
        ("memory://", {"max_entrys": 5}, "Did you mean 'max_entries'"),
        ("memory://", {"max_entries": 0}, "at least 1"),
        ("memory://", {"max_entries": "many"}, "whole number"),
        ("memory://", {"clock": 5}, "callable"),
        ("redis://h/0", {"timeout": 0}, "never waits forever"),
        ("redis://h/0", {"timeout": "soon"}, "number of seconds"),
        ("redis://h/0", {"connect_timeout": True}, "seconds"),
        ("redis://h/0", {"max_connections": -1}, "at least 1"),
        ("redis://h/0", {"retries": -1}, "0 or more"),
        ("redis://h/0", {"key_prefix": ""}, "must not be empty"),
        ("redis://h/0", {"key_prefix": 3}, "must be a str"),
        ("redis://h/0", {"ssl_cert_reqs": "always"}, "'required', 'optional' or 'none'"),
        ("redis://h/0", {"max_entries": 5}, "unknown option 'max_entries' for redis://"),
        ("redis://h/0?timeout=1&timeout=2", {}, "given twice"),
        ("redis://h/0?bogus=1", {}, "unknown option 'bogus'"),
    ],
)
def test_mistakes_raise_configuration_errors(
    url: Any, options: dict[str, Any], message: str
) -> None:
    for factory in (create_cache, create_sync_cache):
        with pytest.raises(ConfigurationError, match=message) as raised:
            factory(url, **options)
        assert isinstance(raised.value, ValueError)


def test_redis_url_parts_and_defaults() -> None:
    settings = parse("rediss://alice:s%3Acret@cache.example:6380/3?timeout=0.25", {})
    assert isinstance(settings, RedisSettings)
    assert (settings.host, settings.port, settings.db, settings.tls) == (
        "cache.example",
        6380,
        3,
        True,
    )
    assert (settings.username, settings.password) == ("alice", "s:cret")
    assert settings.timeout == 0.25
    assert settings.connect_timeout == DEFAULT_CONNECT_TIMEOUT <= 1.0
    assert settings.retries == 0
    plain = parse("redis://localhost", {})
    assert isinstance(plain, RedisSettings)
    assert (plain.port, plain.db, plain.timeout) == (6379, 0, DEFAULT_TIMEOUT)
    unix = parse("unix:///run/redis.sock?db=2", {"timeout": 0.5})
    assert isinstance(unix, RedisSettings)
    assert (unix.path, unix.db, unix.timeout) == ("/run/redis.sock", 2, 0.5)


def test_keyword_options_win_over_query_parameters() -> None:
    settings = parse("redis://h/0?timeout=0.3", {"timeout": 0.7})
    assert isinstance(settings, RedisSettings)
    assert settings.timeout == 0.7


def test_passwords_never_show_in_reprs() -> None:
    sync = SyncRedisCache("redis://user:hunter2@localhost:6379/1", key_prefix="app")
    assert "hunter2" not in repr(sync)
    assert "user:***@localhost:6379/1" in repr(sync)
    assert "hunter2" not in repr(sync.settings)
    with pytest.raises(ConfigurationError) as raised:
        create_cache("redis://user:hunter2@localhost:6379/zero")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(ConfigurationError) as raised:
        create_cache("redos://user:hunter2@localhost:6379/0")
    assert "hunter2" not in str(raised.value)
    with pytest.raises(ConfigurationError) as raised:
        create_cache("redis://:hun/ter2@localhost:6379/0")
    assert "ter2" not in str(raised.value)
    with pytest.raises(ConfigurationError) as raised:
        create_cache("redis://:12/secret@localhost:6379/0")
    assert "secret" not in str(raised.value)
    assert "%2F" in str(raised.value)
    sync.close()


def test_factories_pick_the_adapter_for_the_scheme() -> None:
    assert isinstance(create_cache("memory://"), InMemoryCache)
    assert isinstance(create_sync_cache(), SyncInMemoryCache)
    assert isinstance(create_cache("redis://localhost/0"), RedisCache)
    assert isinstance(create_sync_cache("unix:///tmp/none.sock"), SyncRedisCache)


def test_adapter_classes_refuse_the_other_scheme() -> None:
    with pytest.raises(ConfigurationError, match="InMemoryCache"):
        RedisCache("memory://")
    with pytest.raises(ConfigurationError, match="memory://"):
        InMemoryCache("redis://localhost/0")


@pytest.mark.parametrize(
    ("adapter", "url", "message"),
    [
        ("cache_bridge.adapters.redis:SyncRedisCache", "memory://", "RedisCache takes a redis://"),
        ("cache_bridge.adapters.memory:SyncInMemoryCache", "redis://h/0", "takes a memory://"),
        (
            "cache_bridge.adapters.redis_cluster:SyncRedisClusterCache",
            "redis://h/0",
            "Redis Cluster adapter takes a redis\\+cluster://",
        ),
        (
            "cache_bridge.adapters.redis_sentinel:SyncRedisSentinelCache",
            "redis+cluster://h:1",
            "Redis Sentinel adapter takes a redis\\+sentinel://",
        ),
    ],
)
def test_an_adapter_refuses_another_adapters_url(adapter: str, url: str, message: str) -> None:
    module, name = adapter.split(":")
    adapter_class = getattr(importlib.import_module(module), name)
    with pytest.raises(ConfigurationError, match=message) as raised:
        adapter_class(url)
    assert "create_cache()" in str(raised.value)
