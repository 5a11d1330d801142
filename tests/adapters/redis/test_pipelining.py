"""Automatic pipelining on the async Redis adapter, against the test-started server: calls
issued together share one connection and one round trip, and every call still gets its own
result, errors included (an error reply, a timeout, a dropped connection, a cancelled
caller), without disturbing the calls around it."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
from returns.result import Failure, Success

from cache_bridge import (
    CacheClosedError,
    CacheConnectionError,
    CacheTimeoutError,
    CacheValueError,
    ConfigurationError,
)
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.adapters.redis.compat import connection_getter
from cache_bridge.testing import FaultProxy

pytestmark = pytest.mark.redis

NAME = "pipelining-test"


@pytest.fixture
async def cache(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[RedisCache]:
    # The breaker is off: these tests watch the pipeline alone (one dropped round trip fails
    # all its calls, which would open a breaker counting five failures in a row).
    adapter = RedisCache(
        redis_url, client_name=NAME, timeout=0.5, connect_timeout=0.5, breaker_threshold=0
    )
    yield adapter
    await adapter.aclose()


@pytest.fixture
def paused_writes(redis_client: redis.Redis) -> Iterator[None]:
    """The server holds every write command for up to 2 s (reads and admin commands pass)."""
    redis_client.client_pause(2000, all=False)
    try:
        yield
    finally:
        redis_client.client_unpause()


def _our_connections(client: redis.Redis) -> list[dict[str, str]]:
    return [c for c in client.client_list() if c.get("name") == NAME]


async def test_concurrent_calls_share_one_connection(
    redis_url: str, redis_client: redis.Redis
) -> None:
    # A long timeout: a round trip counts as stalled (and the calls behind it move to a new
    # lane, see lanes.py) after a quarter of it, which the fixture's 0.5 s made 125 ms, short
    # enough for a loaded CI machine to stall the first connect (CI run of stop 23).
    cache = RedisCache(redis_url, client_name=NAME, timeout=30, breaker_threshold=0)
    try:
        await _share_one_connection(cache, redis_client)
    finally:
        await cache.aclose()


async def _share_one_connection(cache: RedisCache, redis_client: redis.Redis) -> None:
    stored = await asyncio.gather(*(cache.set(f"k{i}", f"v{i}") for i in range(50)))
    assert stored == [Success(None)] * 50
    read = await asyncio.gather(*(cache.get(f"k{i}") for i in range(50)))
    assert read == [Success(f"v{i}") for i in range(50)]
    assert len(_our_connections(redis_client)) == 1


async def test_an_error_reply_fails_only_its_own_call(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    redis_client.set("text", "not a number")
    redis_client.rpush("list", "x")
    redis_client.set("a", "1")
    results = await asyncio.gather(
        cache.increment("text"),
        cache.get("a"),
        cache.get("list"),
        cache.increment("n"),
    )
    match results:
        case [Failure(CacheValueError()), Success("1"), Failure(CacheValueError() as e), n]:
            assert "WRONGTYPE" in str(e)
            assert n == Success(1)
        case _:
            pytest.fail(f"unexpected results {results}")
    assert await cache.get("a") == Success("1")  # the stream is still in step


async def test_a_timeout_fails_its_round_trip_within_the_timeout_and_recovers(
    cache: RedisCache, redis_client: redis.Redis, paused_writes: None
) -> None:
    started = time.monotonic()
    *writes, read = await asyncio.gather(cache.set("a", "1"), cache.set("b", "2"), cache.get("c"))
    elapsed = time.monotonic() - started
    for result in writes:
        assert isinstance(result, Failure)
        assert isinstance(result.failure(), CacheTimeoutError)
    # The read queued behind the stalled write went on another connection (lanes), where
    # the server, which holds only writes, answered it.
    assert read == Success(None)
    assert elapsed < 0.5 + 1.0
    redis_client.client_unpause()
    # The connection that timed out was closed; the next round trip opens a fresh one and
    # no late reply of the old one is mistaken for a new call's.
    assert list(await asyncio.gather(cache.set("d", "4"), cache.get("d"))) == [
        Success(None),
        Success("4"),
    ]


async def test_a_dropped_connection_fails_its_round_trip_and_the_next_call_reconnects(
    cache: RedisCache, redis_client: redis.Redis, paused_writes: None
) -> None:
    assert await cache.get("warm") == Success(None)
    # A read leads a round trip of its own (the pause lets it through); the five writes queue
    # meanwhile and go together in the next round trip, which the server holds.
    lead = asyncio.ensure_future(cache.get("lead"))
    calls = [asyncio.ensure_future(cache.set(f"k{i}", "v")) for i in range(5)]
    assert await lead == Success(None)
    await asyncio.sleep(0.1)  # the round trip is written and held by the paused server
    (ours,) = _our_connections(redis_client)
    assert redis_client.client_kill_filter(_id=ours["id"]) == 1
    started = time.monotonic()
    results = await asyncio.gather(*calls)
    assert time.monotonic() - started < 1.0
    for result in results:
        assert isinstance(result, Failure)
        assert isinstance(result.failure(), CacheConnectionError)
        assert not isinstance(result.failure(), CacheTimeoutError)  # dropped, not timed out
    redis_client.client_unpause()
    assert await cache.set("after", "yes") == Success(None)
    assert await cache.get("after") == Success("yes")


async def test_one_dropped_round_trip_counts_once_toward_the_breaker(
    redis_url: str, redis_client: redis.Redis, paused_writes: None
) -> None:
    adapter = RedisCache(redis_url, client_name=NAME, timeout=0.5, breaker_threshold=3)
    breaker = adapter.breaker
    assert breaker is not None
    try:
        assert await adapter.get("warm") == Success(None)
        # The first call leads a round trip of its own (a read, which the pause lets
        # through); the six writes queue meanwhile and go together in the next round trip.
        lead = asyncio.ensure_future(adapter.get("lead"))
        calls = [asyncio.ensure_future(adapter.set(f"k{i}", "v")) for i in range(6)]
        assert await lead == Success(None)
        await asyncio.sleep(0.1)  # the round trip is written and held by the paused server
        (ours,) = _our_connections(redis_client)
        assert redis_client.client_kill_filter(_id=ours["id"]) == 1
        results = await asyncio.gather(*calls)
        assert all(isinstance(r.failure(), CacheConnectionError) for r in results)
        # Six calls failed, but for one cause: one failure, which opened the breaker once.
        stats = breaker.stats()
        assert (stats.opened_total, stats.failures_total) == (1, 1)
        redis_client.client_unpause()
        # Its probe finds the server answering and closes it.
        for _ in range(100):
            if breaker.state == "closed":
                break
            await asyncio.sleep(0.02)
        assert await adapter.set("after", "yes") == Success(None)
        assert breaker.stats().consecutive_failures == 0
    finally:
        await adapter.aclose()


async def test_a_server_restart_while_idle_does_not_fail_the_next_round_trip(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    assert await cache.set("a", "1") == Success(None)
    (ours,) = _our_connections(redis_client)
    redis_client.client_kill_filter(_id=ours["id"])  # as a restart would close it
    await asyncio.sleep(0.05)  # the loop sees the connection close
    assert list(await asyncio.gather(cache.get("a"), cache.get("b"))) == [
        Success("1"),
        Success(None),
    ]


async def test_a_cancelled_caller_does_not_disturb_the_others(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    redis_client.set("a", "A")
    redis_client.set("b", "B")
    redis_client.client_pause(2000, all=False)
    try:
        await _cancel_scenario(cache, redis_client)
    finally:
        redis_client.client_unpause()


async def _cancel_scenario(cache: RedisCache, redis_client: redis.Redis) -> None:
    # Cancelled before its round trip is written: it is never sent.
    early = asyncio.ensure_future(cache.increment("never"))
    early.cancel()
    # Cancelled while its round trip is in flight: its reply is read and dropped.
    write = asyncio.ensure_future(cache.set("w", "1"))
    read = asyncio.ensure_future(cache.get("b"))
    await asyncio.sleep(0.1)
    write.cancel()
    redis_client.client_unpause()
    assert await read == Success("B")
    with pytest.raises(asyncio.CancelledError):
        await write
    with pytest.raises(asyncio.CancelledError):
        await early
    assert list(await asyncio.gather(cache.get("a"), cache.get("b"))) == [
        Success("A"),
        Success("B"),
    ]
    assert redis_client.exists("never") == 0


async def test_multi_exec_stays_atomic_beside_pipelined_calls(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    mapping = {f"m{i}": str(i) for i in range(20)}
    results = await asyncio.gather(
        cache.set_many(mapping, ttl=100), *(cache.get(f"m{i}") for i in range(20))
    )
    assert results[0] == Success(None)
    for i, result in enumerate(results[1:]):
        # Each read sees the whole MULTI or none of it, never a torn write.
        assert result in (Success(None), Success(str(i)))
    values = await cache.get_many(list(mapping))
    assert values == Success(mapping)
    assert 0 < redis_client.ttl("m0") <= 100


async def test_pipelining_can_be_turned_off(redis_url: str, redis_client: redis.Redis) -> None:
    plain = RedisCache(redis_url, pipelining=False, client_name=NAME)
    try:
        got = await asyncio.gather(*(plain.increment("n") for _ in range(10)))
        assert sorted(r.unwrap() for r in got) == list(range(1, 11))
        assert len(_our_connections(redis_client)) > 1
    finally:
        await plain.aclose()


def test_pipelining_takes_only_a_bool(redis_url: str) -> None:
    with pytest.raises(ConfigurationError, match="pipelining must be True or False"):
        RedisCache(redis_url, pipelining="yes")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connections(redis_url: str) -> None:
    cache = _forked["cache"] = SyncRedisCache(redis_url, key_prefix="fork")
    try:
        assert cache.set("parent", "p") == Success(None)  # a connection is now parked
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(2) as pool:
            got = pool.map(_child_round_trips, range(2))
        assert got == [[f"child{n}:{i}" for i in range(50)] for n in range(2)]
        # The parent's parked connection was left alone and is still in step.
        assert cache.get("parent") == Success("p")
    finally:
        cache.close()
        _forked.clear()


# The forked children find the parent's adapter here (it is inherited, not pickled).
_forked: dict[str, SyncRedisCache] = {}


def _child_round_trips(n: int) -> list[str | None]:
    cache = _forked["cache"]
    out: list[str | None] = []
    for i in range(50):
        cache.set(f"c{n}:{i}", f"child{n}:{i}")
        match cache.get(f"c{n}:{i}"):
            case Success(value):
                out.append(value)
            case _:
                out.append(None)
    return out


def test_threads_beyond_the_pool_size_wait_their_turn(redis_url: str) -> None:
    # Connections parked in the blocking executor's free list go back to the pool while a
    # thread waits there, so no thread times out although 8 share 2 connections.
    cache = SyncRedisCache(redis_url, key_prefix="threads", max_connections=2, timeout=2.0)
    failures: list[object] = []

    def work(n: int) -> None:
        for i in range(100):
            result = cache.increment(f"n{n}")
            if result != Success(i + 1):
                failures.append(result)

    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []
    finally:
        cache.close()


def test_connections_are_taken_without_a_command_name_where_redis_py_allows() -> None:
    class OldPool:  # redis-py before 5.3: the command name is required (and ignored)
        def get_connection(self, command_name: str, *keys: Any) -> str:
            return f"took for {command_name}"

    class NewPool:  # 5.3 and later: no arguments (passing one is deprecated)
        def get_connection(self, command_name: str | None = None) -> str | None:
            return command_name

    assert connection_getter(OldPool())() == "took for PING"
    assert connection_getter(NewPool())() is None
    pool: Any = redis.BlockingConnectionPool
    assert connection_getter(pool()).__name__ == "get_connection"  # redis-py 5.3+ here


async def test_a_pool_of_one_connection_is_not_pipelined(redis_url: str) -> None:
    """The pipeline would hold the only connection, and MULTI/EXEC needs one of its own."""
    adapter = RedisCache(redis_url, max_connections=1, timeout=0.5)
    try:
        for _ in range(3):
            assert await adapter.set_many({"a": "1", "b": "2"}, ttl=60) == Success(None)
            assert await adapter.get("a") == Success("1")
    finally:
        await adapter.aclose()


async def test_callers_queued_behind_stalled_round_trips_fail_on_their_own_clock(
    redis_url: str,
) -> None:
    """A server that stops answering with more callers queued than one round trip carries:
    each caller fails within its own bound (connect_timeout + timeout), not after every
    round trip ahead of it has timed out in turn."""
    host, port = redis_url.split("//")[1].split("/", maxsplit=1)[0].split(":")
    with FaultProxy(host, int(port)) as proxy:
        adapter = RedisCache(proxy.url(), timeout=0.3, connect_timeout=0.2, breaker_threshold=0)
        try:
            assert await adapter.get("warm") == Success(None)
            proxy.blackhole()

            async def timed(n: int) -> float:
                started = time.monotonic()
                result = await adapter.get(f"k{n}")
                assert isinstance(result.failure(), CacheTimeoutError)
                return time.monotonic() - started

            waits = await asyncio.gather(*(timed(n) for n in range(1600)))  # > 3 batches
            # The bound plus a margin for a loaded machine (one fresh-machine run under load
            # saw 0.80 s); stalled round trips failing in turn would take 3 x 0.5 s or more.
            assert max(waits) < 0.5 + 0.7
        finally:
            await adapter.aclose()


async def test_calls_in_flight_when_the_adapter_closes_fail_as_closed(
    redis_url: str, redis_client: redis.Redis, paused_writes: None
) -> None:
    adapter = RedisCache(redis_url, client_name=NAME, timeout=1.0, breaker_threshold=0)
    assert await adapter.get("warm") == Success(None)
    calls = [asyncio.ensure_future(adapter.set(f"c{i}", "v")) for i in range(4)]
    await asyncio.sleep(0.05)  # written, held by the paused server
    await adapter.aclose()
    for result in await asyncio.gather(*calls):
        assert isinstance(result.failure(), CacheClosedError)
