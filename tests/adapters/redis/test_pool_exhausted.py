"""A full client-side pool on a healthy server: the callers that waited ``timeout`` for a free
connection get ``Failure(CachePoolExhaustedError)``, which says so, and the circuit breaker
does not count it (the server answers every call that reaches it)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from returns.result import Failure, Result, Success

from cache_bridge import CacheConnectionError, CachePoolExhaustedError, DomainError
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.resilience.breaker import CircuitBreaker
from cache_bridge.testing import FaultProxy

pytestmark = pytest.mark.redis

#: Each call holds its connection 0.3 s (the proxy's latency), within the 0.5 s timeout; with
#: one connection, the third of three callers waits 0.6 s for it: longer than the timeout.
OPTIONS: dict[str, Any] = {"timeout": 0.5, "max_connections": 1}
CALLERS = 4


@pytest.fixture
def slow_proxy(redis_url: str) -> Any:
    host, port = redis_url.split("//")[1].split("/", maxsplit=1)[0].split(":")
    with FaultProxy(host, int(port)) as proxy:
        yield proxy


def _check(results: list[Result[Any, DomainError]], breaker: CircuitBreaker | None) -> None:
    exhausted = [r for r in results if isinstance(r, Failure)]
    assert exhausted, "no caller found the pool full"
    for result in exhausted:
        error = result.failure()
        assert isinstance(error, CachePoolExhaustedError), error
        assert isinstance(error, CacheConnectionError)  # still a reason to fail open
        assert "pool" in str(error)
    assert all(r == Success(None) for r in results if not isinstance(r, Failure))
    assert breaker is not None
    stats = breaker.stats()
    assert (stats.state, stats.failures_total) == ("closed", 0)


def test_a_full_pool_on_the_blocking_face(slow_proxy: FaultProxy) -> None:
    cache = SyncRedisCache(slow_proxy.url(), key_prefix="full-pool", **OPTIONS)
    try:
        assert cache.get("k") == Success(None)  # the one connection is open
        slow_proxy.latency = 0.3
        results: list[Result[Any, DomainError]] = []
        lock = threading.Lock()

        def call() -> None:
            result = cache.get("k")
            with lock:
                results.append(result)

        threads = [threading.Thread(target=call) for _ in range(CALLERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert len(results) == CALLERS
        _check(results, cache.breaker)
    finally:
        cache.close()


async def test_a_full_pool_on_the_async_face(slow_proxy: FaultProxy) -> None:
    cache = RedisCache(slow_proxy.url(), key_prefix="full-pool", pipelining=False, **OPTIONS)
    try:
        assert await cache.get("k") == Success(None)
        slow_proxy.latency = 0.3
        results = await asyncio.gather(*(cache.get("k") for _ in range(CALLERS)))
        _check(list(results), cache.breaker)
    finally:
        await cache.aclose()
