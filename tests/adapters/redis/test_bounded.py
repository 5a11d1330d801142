"""A value longer than the server's ``proto-max-bulk-len``: Redis answers with an error and
closes the connection (or resets it while the value is still being sent). That call fails,
and only that call: the calls sent with it or after it succeed, no closed connection is used
again, and the circuit breaker hears of no connection failure."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from returns.result import Failure, Success

from cache_bridge import CacheServerError
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.resilience.breaker import CircuitBreaker
from cache_bridge.testing import RedisServer

pytestmark = pytest.mark.redis

#: Over the 1 MiB limit: the value is refused whole (1 MiB + 1 KiB: it is sent entirely before
#: the server's answer; 8 MiB: the server resets the connection while it is being sent).
SIZES = [pytest.param((1 << 20) + 1024, id="just-over"), pytest.param(8 << 20, id="8MiB")]


@pytest.fixture(scope="module")
def small_server() -> Iterator[RedisServer]:
    server = RedisServer(extra_args=["--proto-max-bulk-len", "1mb"])
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


def _breaker(adapter: RedisCache | SyncRedisCache) -> CircuitBreaker:
    breaker = adapter.breaker
    assert breaker is not None
    return breaker


def _refused(result: object) -> None:
    match result:
        case Failure(CacheServerError()):
            pass
        case other:
            pytest.fail(f"expected Failure(CacheServerError), got {other!r}")


@pytest.mark.parametrize("size", SIZES)
async def test_an_oversize_value_fails_only_its_own_call_on_the_pipeline(
    small_server: RedisServer, size: int
) -> None:
    adapter = RedisCache(small_server.url, key_prefix="oversize", timeout=2.0)
    try:
        assert await adapter.set("k", "v") == Success(None)
        big = "x" * size
        for _ in range(3):
            results = await asyncio.gather(
                adapter.get("k"), adapter.set("big", big), adapter.get("k"), adapter.get("k")
            )
            _refused(results[1])
            assert [results[0], *results[2:]] == [Success("v")] * 3
            # Alone, then the next call: the closed connection is not used again.
            _refused(await adapter.set("big", big))
            assert await adapter.get("k") == Success("v")
        stats = _breaker(adapter).stats()
        assert (stats.state, stats.failures_total) == ("closed", 0)
    finally:
        await adapter.aclose()


@pytest.mark.parametrize("size", SIZES)
def test_an_oversize_value_fails_only_its_own_call_on_the_blocking_face(
    small_server: RedisServer, size: int
) -> None:
    adapter = SyncRedisCache(small_server.url, key_prefix="oversize", timeout=2.0)
    try:
        assert adapter.set("k", "v") == Success(None)
        for _ in range(3):
            _refused(adapter.set("big", "x" * size))
            _refused(adapter.set_many({"big": "x" * size, "small": "s"}, ttl=60))
            assert adapter.get("k") == Success("v")
        stats = _breaker(adapter).stats()
        assert (stats.state, stats.failures_total) == ("closed", 0)
    finally:
        adapter.close()
