"""Slow but working links, made by the FaultProxy, on both faces of the Redis adapter: a round
trip longer than half the timeout still serves every call, and a reply that trickles in is
cut off at the call's bound (``connect_timeout + timeout``), however slowly it keeps coming.

The bounds asserted are generous (three times the promised one, for a loaded machine); the
measured times are in ``bench/FAILURE_TIMES.md``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from django.core.cache import caches
from pytest_django import Settings as SettingsWrapper
from returns.result import Failure, Success

from cache_bridge.adapters.redis import RedisCache
from cache_bridge.errors import CacheTimeoutError
from cache_bridge.testing.proxy import FaultProxy
from tests.faults.conftest import Connect

pytestmark = pytest.mark.redis

NO_BREAKER: dict[str, Any] = {"breaker_threshold": 0}


def test_a_round_trip_longer_than_half_the_timeout_serves_both_faces(
    connect: Connect, proxy: FaultProxy
) -> None:
    # Every reply comes 0.2 s late, within the 0.3 s timeout; opening a connection takes a
    # round trip more (its handshake), within connect_timeout but not within the timeout.
    proxy.latency = 0.2
    cache = connect(proxy.url(), timeout=0.3, connect_timeout=1.5)
    results = [cache.set("slow", "v"), *(cache.get("slow") for _ in range(4))]
    assert results == [Success(None), *[Success("v")] * 4]
    stats = cache.adapter.breaker.stats()  # type: ignore[union-attr]
    assert (stats.state, stats.failures_total) == ("closed", 0)


def _timed_get(cache: Any, key: str) -> tuple[Any, float]:
    started = time.monotonic()
    result = cache.get(key)
    return result, time.monotonic() - started


@pytest.mark.parametrize(
    ("size", "chunk_size", "latency"),
    [
        pytest.param(1 << 20, 1 << 16, 0.3, id="1MiB-in-64KiB-pieces-0.3s-apart"),
        pytest.param(100, 1, 0.05, id="a-byte-every-50ms"),
    ],
)
def test_a_reply_that_trickles_in_is_cut_off_at_the_bound(
    connect: Connect, proxy: FaultProxy, size: int, chunk_size: int, latency: float
) -> None:
    cache = connect(proxy.url(), timeout=0.5, connect_timeout=0.5, **NO_BREAKER)
    assert cache.set("big", "x" * size) == Success(None)  # (the connection is open now)
    proxy.chunk_size, proxy.latency = chunk_size, latency
    result, seconds = _timed_get(cache, "big")
    assert isinstance(result, Failure), result
    assert isinstance(result.failure(), CacheTimeoutError)
    promised = 0.5 + 0.5
    assert seconds < 3 * promised, f"the reply ran {seconds:.2f}s (promised {promised}s)"
    # Whole replies arrive again once the link is back to normal.
    proxy.chunk_size, proxy.latency = 0, 0.0
    assert cache.get("big") == Success("x" * size)


async def test_pipelined_callers_over_a_slow_link_each_wait_at_most_their_bound(
    proxy: FaultProxy,
) -> None:
    adapter = RedisCache(proxy.url(), timeout=0.5, connect_timeout=0.5, **NO_BREAKER)
    try:
        value = "v" * 30_000
        assert await adapter.set("big", value) == Success(None)
        # 50 replies of 30 kB, passed on 64 KiB every 0.2 s: about 4.6 s for all of them.
        proxy.chunk_size, proxy.latency = 1 << 16, 0.2

        async def timed() -> tuple[Any, float]:
            started = time.monotonic()
            result = await adapter.get("big")
            return result, time.monotonic() - started

        outcomes = await asyncio.gather(*(timed() for _ in range(50)))
        for result, _ in outcomes:
            assert result == Success(value) or isinstance(result.failure(), CacheTimeoutError)
        worst = max(seconds for _, seconds in outcomes)
        assert worst < 3 * (0.5 + 0.5), f"a caller waited {worst:.2f}s"
        proxy.chunk_size, proxy.latency = 0, 0.0
        assert await adapter.get("big") == Success(value)
    finally:
        await adapter.aclose()


def test_a_multi_exec_whose_replies_trickle_in_is_cut_off_at_the_bound(
    connect: Connect, proxy: FaultProxy
) -> None:
    cache = connect(proxy.url(), timeout=0.5, connect_timeout=0.5, **NO_BREAKER)
    mapping = {f"k{i}": "v" for i in range(6)}
    assert cache.set_many(mapping, ttl=60) == Success(None)  # (the connections are open now)
    # Each of its 14 replies (+OK, +QUEUED, ..., EXEC's array) within the timeout, a byte
    # every 50 ms; all of them in about 4.5 s.
    proxy.chunk_size, proxy.latency = 1, 0.05
    started = time.monotonic()
    result = cache.set_many(mapping, ttl=60)
    seconds = time.monotonic() - started
    assert isinstance(result, Failure), result
    assert isinstance(result.failure(), CacheTimeoutError)
    # A wait for a pooled connection, a connection, the exchange: then it is cut off.
    assert seconds < 3 * (0.5 + 0.5), f"the transaction ran {seconds:.2f}s"


async def test_a_django_alias_reads_and_writes_over_a_link_slower_than_half_the_timeout(
    settings: SettingsWrapper, proxy: FaultProxy
) -> None:
    proxy.latency = 0.2  # each reply 0.2 s late; the timeout 0.3 s
    settings.CACHES = {
        "default": {
            "BACKEND": "django_cache_bridge.cache.BridgeCache",
            "LOCATION": proxy.url(),
            "KEY_PREFIX": "slow",
            "OPTIONS": {"timeout": 0.3, "connect_timeout": 1.5, "fail_open": False},
        }
    }
    cache = caches["default"]
    await cache.aset("k", "v")  # fail_open=False: a failure would raise here
    assert [await cache.aget("k") for _ in range(3)] == ["v"] * 3
    assert cache.get("k") == "v"
