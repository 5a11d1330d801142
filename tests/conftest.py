"""Fixtures shared by the whole suite: one test-started redis-server per session, and the
``make_cache`` / ``cache`` fixtures that run each contract test on every adapter and face."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from cache_bridge.adapters.memory import InMemoryCache, SyncInMemoryCache
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.testing import Harness, Harnesses, RedisServer, find_redis_server
from cache_bridge.testing.redis_server import server_build

MakeCache = Callable[..., Harness]


def pytest_report_header(config: pytest.Config) -> str:
    """Which server the tests start: the README's tested versions come from this line."""
    binary = find_redis_server()
    if binary is None:
        return "redis server: none found"
    return f"redis server: {server_build(binary)} ({binary})"


def pytest_sessionstart(session: pytest.Session) -> None:
    """``CACHE_BRIDGE_EXPECT_SERVER=Valkey`` (or ``Redis``) stops a run that would start
    another server, so a pass meant for one server cannot quietly test the other."""
    expected = os.environ.get("CACHE_BRIDGE_EXPECT_SERVER")
    if not expected:
        return
    binary = find_redis_server()
    found = server_build(binary).name if binary else "no server"
    if found.lower() != expected.lower():
        raise pytest.UsageError(
            f"CACHE_BRIDGE_EXPECT_SERVER={expected}, but the tests would start {found} ({binary})"
        )


BACKENDS = ["memory-sync", "memory-async", "redis-sync", "redis-async"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis URL that belongs to this test session.

    ``CACHE_BRIDGE_TEST_REDIS_URL`` points the suite at a server of your choosing (its
    database is flushed between tests); otherwise a private redis-server is started.
    """
    explicit = os.environ.get("CACHE_BRIDGE_TEST_REDIS_URL")
    if explicit:
        yield explicit
        return
    server = RedisServer()
    server.start()
    try:
        yield server.url
    finally:
        server.cleanup()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A raw client on the session's server, with its database emptied before the test."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(params=["memory", "redis"])
def location(request: pytest.FixtureRequest) -> str:
    """A cache URL for each store in turn: a fresh named memory store, then the session's
    Redis (emptied first). The Django tests configure their aliases with it."""
    if request.param == "memory":
        return f"memory://test-{uuid.uuid4().hex}"
    request.getfixturevalue("redis_client")
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(backend: str, request: pytest.FixtureRequest) -> Iterator[MakeCache]:
    """Build harnessed adapters of the current backend that share one store or database."""
    store_name = f"test-{uuid.uuid4().hex}"
    url = ""
    if backend.startswith("redis"):
        request.getfixturevalue("redis_client")
        url = request.getfixturevalue("redis_url")

    def build(**options: Any) -> Any:
        match backend:
            case "memory-sync":
                return SyncInMemoryCache(f"memory://{store_name}", **options)
            case "memory-async":
                return InMemoryCache(f"memory://{store_name}", **options)
            case "redis-sync":
                return SyncRedisCache(url, **options)
        return RedisCache(url, **options)

    with Harnesses(build, backend) as make:
        yield make


@pytest.fixture
def cache(make_cache: MakeCache) -> Harness:
    """One adapter of the current backend, without a key prefix."""
    return make_cache()


# The Redis Cluster and Sentinel set-ups, one per session for every test directory.
from tests.support.scaled_servers import (  # noqa: E402, F401
    cluster_servers,
    cluster_url,
    sentinel_servers,
    sentinel_url,
)
