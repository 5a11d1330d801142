"""The leader path of automatic pipelining: a call that finds the pipeline idle does its own
round trip in its own task. Its error reply fails only it; a leader cancelled mid-read loses
only its own reply, and the calls that queued behind it get theirs, each its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis
from returns.result import Failure, Success

from cache_bridge import CacheValueError
from cache_bridge.adapters.redis import RedisCache

pytestmark = pytest.mark.redis

NAME = "pipelining-leader-test"


@pytest.fixture
async def cache(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[RedisCache]:
    adapter = RedisCache(
        redis_url, client_name=NAME, timeout=0.5, connect_timeout=0.5, breaker_threshold=0
    )
    yield adapter
    await adapter.aclose()


def _our_ids(client: redis.Redis) -> list[str]:
    return [c["id"] for c in client.client_list() if c.get("name") == NAME]


async def test_a_leaders_own_error_reply_fails_only_it_and_keeps_the_connection(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    redis_client.set("text", "not a number")
    redis_client.set("a", "A")
    assert await cache.get("a") == Success("A")
    before = _our_ids(redis_client)
    # Alone, so it leads; then a leader and two followers, the leader's reply an error.
    match await cache.increment("text"):
        case Failure(CacheValueError()):
            pass
        case other:
            pytest.fail(f"unexpected {other}")
    results = await asyncio.gather(cache.increment("text"), cache.get("a"), cache.get("none"))
    assert isinstance(results[0].failure(), CacheValueError)
    assert list(results[1:]) == [Success("A"), Success(None)]
    assert _our_ids(redis_client) == before  # an error reply does not drop the connection


async def test_a_leader_cancelled_mid_read_loses_only_its_own_reply(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    for key in "abc":
        redis_client.set(key, key.upper())
    assert await cache.get("warm") == Success(None)
    redis_client.client_pause(2000, all=False)  # writes are held, reads pass
    try:
        leader = asyncio.ensure_future(cache.set("w", "1"))
        await asyncio.sleep(0.05)  # the leader has written its command and reads
        followers = [asyncio.ensure_future(cache.get(key)) for key in "cab"]
        await asyncio.sleep(0.05)  # they queued behind the leader
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        # Each follower gets its own reply, on a fresh connection, while writes are held.
        assert list(await asyncio.wait_for(asyncio.gather(*followers), 2)) == [
            Success("C"),
            Success("A"),
            Success("B"),
        ]
    finally:
        redis_client.client_unpause()
    # The stream is in step afterwards: no late reply is taken for another call's.
    results = await asyncio.gather(cache.set("x", "X"), cache.get("x"), cache.get("a"))
    assert list(results) == [Success(None), Success("X"), Success("A")]


async def test_a_leader_cancelled_before_it_runs_sends_nothing(
    cache: RedisCache, redis_client: redis.Redis
) -> None:
    call = asyncio.ensure_future(cache.increment("never"))
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await cache.get("after") == Success(None)
    assert redis_client.exists("never") == 0


async def test_closing_while_a_leader_reads_releases_the_connection_after_it(
    redis_url: str, redis_client: redis.Redis
) -> None:
    adapter = RedisCache(redis_url, client_name=NAME, timeout=0.5, breaker_threshold=0)
    assert await adapter.get("warm") == Success(None)
    redis_client.client_pause(2000, all=False)
    try:
        leader = asyncio.ensure_future(adapter.set("w", "1"))
        await asyncio.sleep(0.05)
        await asyncio.wait_for(adapter.aclose(), 2)
        # The leader ends within its timeout, with a result (never an exception).
        result = await asyncio.wait_for(leader, 2)
        assert isinstance(result, Success | Failure)
    finally:
        redis_client.client_unpause()
    assert isinstance(await adapter.get("x"), Failure)  # closed: a Failure, never a raise
