"""A reply that trickles in is cut off at its bound on the Redis Cluster and Sentinel adapters
too, on both faces: each node's (or the primary's) replies come through a FaultProxy. A
one-node cluster announces the proxy's port as its own; a sentinel watches the primary at
the proxy's address."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from returns.result import Failure, Success

from cache_bridge.adapters.redis_cluster import RedisClusterCache, SyncRedisClusterCache
from cache_bridge.adapters.redis_sentinel import RedisSentinelCache, SyncRedisSentinelCache
from cache_bridge.errors import CachePoolExhaustedError, CacheTimeoutError
from cache_bridge.testing import FaultProxy, Harness, Harnesses, RedisServer
from cache_bridge.testing.redis_cluster import LocalCluster
from cache_bridge.testing.redis_sentinel import SentinelProcess
from tests.support.scaled_servers import need_redis_server

pytestmark = pytest.mark.redis

SERVICE = "slow-link-primary"
OPTIONS: dict[str, Any] = {"timeout": 0.5, "connect_timeout": 0.5, "breaker_threshold": 0}


@pytest.fixture
def proxied_cluster() -> Iterator[tuple[str, FaultProxy]]:
    """A one-node cluster reached only through a proxy: its URL and the proxy."""
    need_redis_server()
    cluster = LocalCluster(primaries=1)
    cluster.start()
    try:
        (node,) = cluster.primaries
        with FaultProxy("127.0.0.1", node.port) as proxy:
            with cluster.client(node) as admin:
                admin.config_set("cluster-announce-port", proxy.port)
            yield f"redis+cluster://127.0.0.1:{proxy.port}", proxy
    finally:
        cluster.cleanup()


@pytest.fixture
def proxied_sentinel() -> Iterator[tuple[str, FaultProxy]]:
    """A primary behind a proxy and one sentinel that names the proxy as the primary."""
    need_redis_server()
    primary = RedisServer()
    primary.start()
    sentinel: SentinelProcess | None = None
    try:
        with FaultProxy("127.0.0.1", primary.port) as proxy:
            assert primary.binary is not None
            sentinel = SentinelProcess(
                primary.binary, [f"sentinel monitor {SERVICE} 127.0.0.1 {proxy.port} 1"]
            )
            sentinel.start()
            yield f"redis+sentinel://127.0.0.1:{sentinel.port}/{SERVICE}/0", proxy
    finally:
        if sentinel is not None:
            sentinel.cleanup()
        primary.cleanup()


KINDS: dict[str, tuple[Callable[..., Any], str, str]] = {
    "cluster-sync": (SyncRedisClusterCache, "sync", "proxied_cluster"),
    "cluster-async": (RedisClusterCache, "async", "proxied_cluster"),
    "sentinel-sync": (SyncRedisSentinelCache, "sync", "proxied_sentinel"),
    "sentinel-async": (RedisSentinelCache, "async", "proxied_sentinel"),
}


@pytest.fixture(params=list(KINDS))
def slow_link(request: pytest.FixtureRequest) -> Iterator[tuple[Harness, FaultProxy]]:
    cls, face, setup = KINDS[request.param]
    url, proxy = request.getfixturevalue(setup)
    with Harnesses(cls, face) as make:
        yield make(url, **OPTIONS), proxy


def _ready(cache: Harness, within: float = 10.0) -> None:
    """Write the value until the set-up answers (a new sentinel needs a moment)."""
    deadline = time.monotonic() + within
    while cache.set("big", "x" * (1 << 20)) != Success(None):
        assert time.monotonic() < deadline, "the set-up did not answer"
        time.sleep(0.1)


def test_a_reply_that_trickles_in_is_cut_off_at_the_bound(
    slow_link: tuple[Harness, FaultProxy],
) -> None:
    cache, proxy = slow_link
    _ready(cache)
    # 1 MiB, passed on 64 KiB every 0.3 s: about 5 s for the whole reply.
    proxy.chunk_size, proxy.latency = 1 << 16, 0.3
    started = time.monotonic()
    result = cache.get("big")
    seconds = time.monotonic() - started
    assert isinstance(result, Failure), result
    assert isinstance(result.failure(), CacheTimeoutError)
    promised = OPTIONS["connect_timeout"] + OPTIONS["timeout"]
    assert seconds < 3 * promised, f"the reply ran {seconds:.2f}s (promised {promised}s)"
    proxy.chunk_size, proxy.latency = 0, 0.0
    assert cache.get("big") == Success("x" * (1 << 20))


async def test_a_full_pool_on_the_async_cluster_face_is_not_a_server_failure(
    proxied_cluster: tuple[str, FaultProxy],
) -> None:
    url, proxy = proxied_cluster
    cache = RedisClusterCache(url, timeout=0.5, max_connections=1)
    try:
        assert await cache.get("k") == Success(None)
        proxy.latency = 0.3  # each call holds the one connection 0.3 s; the third waits 0.6 s
        results = await asyncio.gather(*(cache.get("k") for _ in range(4)))
        exhausted = [r.failure() for r in results if isinstance(r, Failure)]
        assert exhausted, "no caller found the pool full"
        assert all(isinstance(error, CachePoolExhaustedError) for error in exhausted), exhausted
        assert cache.breaker is not None
        assert cache.breaker.stats().failures_total == 0
    finally:
        await cache.aclose()
