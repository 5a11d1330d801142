"""Defects found in review of the stampede protection, each on the test-started Redis: a key
too long for its lock, the wait as one deadline, failing computations not queuing across
processes."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest
import redis

from cache_bridge import RedisCache, SyncRedisCache
from cache_bridge.engine.keys import MAX_KEY_LENGTH
from cache_bridge.stampede import StampedeSettings, aget_or_compute, get_or_compute
from cache_bridge.testing.processes import run_in_processes
from tests.stampede.herd_workers import failing_herd

LOCK_SUFFIX = ":stampede-lock"


def test_a_key_whose_lock_key_is_too_long_is_refused_before_any_io(
    redis_url: str, redis_client: redis.Redis
) -> None:
    cache = SyncRedisCache(redis_url)
    computed: list[int] = []
    try:
        with pytest.raises(ValueError, match="its lock's key"):
            get_or_compute(cache, "k" * (MAX_KEY_LENGTH - 5), lambda: computed.append(1), 60)
        assert computed == []
        assert redis_client.dbsize() == 0
        longest = "k" * (MAX_KEY_LENGTH - len(LOCK_SUFFIX))
        assert get_or_compute(cache, longest, lambda: {"v": 1}, 60) == {"v": 1}
        assert redis_client.exists(longest) == 1  # stored, under its lock
    finally:
        cache.close()


def test_the_wait_is_one_deadline_and_its_waiters_share_one_follow_up(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """The leader outlasts ``wait``: the waiters that waited it out do not each wait again on
    the lock and compute; one of them computes at once for all."""
    cache = SyncRedisCache(redis_url)
    computed: list[int] = []
    settings = StampedeSettings(lock_ttl=10, wait=0.3)
    ready = threading.Barrier(8)
    seen: list[Any] = []

    def compute() -> dict[str, int]:
        computed.append(1)
        time.sleep(1.5)
        return {"n": len(computed)}

    def call() -> None:
        ready.wait()
        seen.append(get_or_compute(cache, "slow", compute, 60, settings=settings))

    threads = [threading.Thread(target=call) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        cache.close()
    assert len(computed) == 2  # the leader, and one follow-up for the 7 who waited it out
    assert len(seen) == 8


def test_the_wait_is_one_deadline_for_tasks_too(redis_url: str, redis_client: redis.Redis) -> None:
    computed: list[int] = []
    settings = StampedeSettings(lock_ttl=10, wait=0.3)

    async def compute() -> dict[str, int]:
        computed.append(1)
        await asyncio.sleep(1.5)
        return {"n": len(computed)}

    async def run() -> list[Any]:
        cache = RedisCache(redis_url)
        try:
            return await asyncio.gather(
                *(aget_or_compute(cache, "slow", compute, 60, settings=settings) for _ in range(8))
            )
        finally:
            await cache.aclose()

    assert len(asyncio.run(run())) == 8
    assert len(computed) == 2


def test_a_failing_computation_does_not_queue_the_other_processes(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """4 processes, a computation that raises: the first computes under the lock; the other
    three then compute side by side, not one after another behind the lock."""
    key = f"failing-{uuid.uuid4().hex}"
    spans = run_in_processes(failing_herd, (redis_url, key), 4, wait=60)
    spans = sorted(span for span in spans if span is not None)
    assert len(spans) == 4  # each caller computed (and got its own exception)
    first, rest = spans[0], spans[1:]
    assert all(start >= first[1] for start, _ in rest)  # they waited for the lock holder...
    assert max(start for start, _ in rest) < min(end for _, end in rest)  # ...then overlapped
