"""The Redis Sentinel adapter on a test-started set-up (one primary, one replica, three
sentinels, passwords on both): the shipped contract on both faces, and a failover after which
the same adapter object works against the new primary."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from returns.result import Result, Success
from scaled_servers import DATA_PASSWORD, SENTINEL_PASSWORD, need_redis_server

from cache_bridge.adapters.redis_sentinel import RedisSentinelCache, SyncRedisSentinelCache
from cache_bridge.testing import Harness
from cache_bridge.testing.contract import CacheContract
from cache_bridge.testing.redis_sentinel import LocalSentinel

MakeCache = Callable[..., Harness]


@pytest.fixture(params=["sentinel-sync", "sentinel-async"])
def face(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_cache(face: str, sentinel_url: str) -> Iterator[MakeCache]:
    made: list[Harness] = []

    def make(**options: Any) -> Harness:
        cls = SyncRedisSentinelCache if face == "sentinel-sync" else RedisSentinelCache
        harness = Harness(cls(sentinel_url, **options), face)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.shutdown()


@pytest.fixture
def cache(make_cache: MakeCache) -> Harness:
    return make_cache()


class TestSentinelContract(CacheContract):
    pass


# -- failover ----------------------------------------------------------------------------

#: Generous upper bound for the sentinels to promote the replica and the adapter to follow
#: (down-after-milliseconds 1000, failover-timeout 3000); the measured time is printed.
RECOVERY_BOUND = 30.0

#: Short timeouts, so calls to the dead primary fail fast.
SHORT = {"connect_timeout": 0.5, "timeout": 0.5}


@pytest.fixture
def own_sentinel() -> Iterator[LocalSentinel]:
    """A set-up of this test's own (it kills the primary)."""
    need_redis_server()
    with LocalSentinel(password=DATA_PASSWORD, sentinel_password=SENTINEL_PASSWORD) as setup:
        yield setup


def test_the_same_adapter_follows_a_failover(own_sentinel: LocalSentinel) -> None:
    url = own_sentinel.url(db=0)
    options: dict[str, Any] = {"sentinel_password": SENTINEL_PASSWORD, **SHORT}
    adapters = [  # both faces, with the default circuit breaker and without one
        Harness(SyncRedisSentinelCache(url, **options), "sync"),
        Harness(RedisSentinelCache(url, **options), "async"),
        Harness(SyncRedisSentinelCache(url, breaker_threshold=0, **options), "sync, no breaker"),
        Harness(RedisSentinelCache(url, breaker_threshold=0, **options), "async, no breaker"),
    ]
    try:
        for harness in adapters:
            assert harness.set(f"before:{harness.name}", "kept") == Success(None)
        old_port = own_sentinel.primary_port()
        with own_sentinel.client(own_sentinel.primary) as admin:
            assert admin.execute_command("WAIT", 1, 5000) == 1  # the replica has every write

        own_sentinel.primary.stop()
        killed_at = time.monotonic()
        pending = {harness.name: harness for harness in adapters}
        recovered: dict[str, float] = {}
        failures = 0
        while pending and time.monotonic() - killed_at < RECOVERY_BOUND:
            for name, harness in list(pending.items()):
                result = harness.set(f"after:{name}", "written")
                assert isinstance(result, Result)  # never raises, always a Result
                if isinstance(result, Success):
                    recovered[name] = time.monotonic() - killed_at
                    del pending[name]
                else:
                    failures += 1
            time.sleep(0.05)
        assert not pending, f"{sorted(pending)} did not recover within {RECOVERY_BOUND}s"
        print(
            "\nsentinel: primary killed; the same adapters wrote again after "
            + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in recovered.items())
            + f" ({failures} failed calls meanwhile)"
        )

        assert own_sentinel.primary_port() == own_sentinel.replica.port != old_port
        with own_sentinel.client(own_sentinel.replica) as promoted:
            assert promoted.info("replication")["role"] == "master"
            assert promoted.get("after:sync") == b"written"
        written = {f"after:{harness.name}": "written" for harness in adapters}
        for harness in adapters:
            assert harness.get(f"before:{harness.name}") == Success("kept")
            assert harness.get_many(list(written)) == Success(written)
    finally:
        for harness in adapters:
            harness.shutdown()


async def test_async_calls_beyond_the_pool_wait_for_a_connection(sentinel_url: str) -> None:
    cache = RedisSentinelCache(sentinel_url, max_connections=4)
    try:
        results = await asyncio.gather(*(cache.increment(f"n:{i % 20}") for i in range(200)))
        assert all(isinstance(result, Success) for result in results)
        counts = await cache.get_many([f"n:{i}" for i in range(20)])
        assert counts == Success({f"n:{i}": "10" for i in range(20)})
    finally:
        await cache.aclose()
