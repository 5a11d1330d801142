"""The protocol fallback (``native=False``, or an adapter without the atomic operation) under
real concurrency on the test-started Redis: threads, asyncio tasks and several processes.

Regression for issue 12 item 4: the token-bucket fallback (``get`` then ``set``) let 200 of 200
concurrent hits through a 50/day limit. It is now refused at construction; the window
counters (atomic ``increment``) allow exactly the limit, however the hits interleave.
"""

from __future__ import annotations

import asyncio
import threading
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest
import redis

from cache_bridge import ConfigurationError
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.ratelimit import AsyncRateLimiter, RateLimiter
from cache_bridge.testing.processes import run_in_processes

pytestmark = pytest.mark.redis

#: Mid-day on the limiters' clock: no daily (or minute) window ends during a test.
MIDDAY = 1_700_006_400.0 + 43_200 + 30
LIMIT = 50
THREADS = 20
PER_THREAD = 10
WAIT = 60
WINDOWS = ["fixed-window", "sliding-window"]


def _limiter(cache: SyncRedisCache, algorithm: str) -> RateLimiter:
    return RateLimiter(
        cache, f"{LIMIT}/day", algorithm=algorithm, native=False, clock=lambda: MIDDAY
    )


def _threads(limiter: RateLimiter) -> int:
    """THREADS threads released together, PER_THREAD hits each; how many were allowed."""
    allowed = []
    ready = threading.Barrier(THREADS)

    def work() -> None:
        ready.wait(timeout=WAIT)
        allowed.append(sum(limiter.hit("shared").allowed for _ in range(PER_THREAD)))

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
    assert len(allowed) == THREADS
    return sum(allowed)


@pytest.mark.parametrize("native", [False, None])
def test_the_token_bucket_is_refused_where_it_could_not_hold_its_limit(
    redis_url: str, native: bool | None
) -> None:
    class ProtocolOnly:  # a third-party adapter: no run_operation
        def __getattr__(self, name: str) -> object:
            raise AttributeError(name)

    cache = SyncRedisCache(redis_url)
    try:
        target = cache if native is False else ProtocolOnly()
        with pytest.raises(ConfigurationError, match="sliding-window"):
            RateLimiter(target, "50/day", algorithm="token-bucket", native=native)
        with pytest.raises(ConfigurationError, match="token-bucket"):
            AsyncRateLimiter(target, "50/day", algorithm="token-bucket", native=native)
    finally:
        cache.close()


@pytest.mark.parametrize("algorithm", WINDOWS)
def test_threads_get_exactly_the_limit(
    redis_client: redis.Redis, redis_url: str, algorithm: str
) -> None:
    with SyncRedisCache(redis_url, max_connections=THREADS) as cache:
        assert _threads(_limiter(cache, algorithm)) == LIMIT


@pytest.mark.parametrize("algorithm", WINDOWS)
async def test_asyncio_tasks_get_exactly_the_limit(
    redis_client: redis.Redis, redis_url: str, algorithm: str
) -> None:
    assert await _tasks(redis_url, algorithm) == LIMIT  # 20 concurrent hits per round


async def _tasks(url: str, algorithm: str) -> int:
    """Rounds of THREADS concurrent asyncio tasks on one fallback limit; how many passed."""
    cache = RedisCache(url)
    limiter = AsyncRateLimiter(
        cache, f"{LIMIT}/day", algorithm=algorithm, native=False, clock=lambda: MIDDAY
    )
    try:
        allowed = 0
        for _ in range(PER_THREAD):
            decisions = await asyncio.gather(*(limiter.hit("shared") for _ in range(THREADS)))
            allowed += sum(d.allowed for d in decisions)
        return allowed
    finally:
        await cache.aclose()


def hit_in_process(url: str, job: tuple[str, bool], start: Barrier, results: Queue[int]) -> None:
    """Run in a child process: THREADS threads (or, async, THREADS concurrent tasks) hitting
    one fallback limit; report how many passed."""
    algorithm, use_async = job
    with SyncRedisCache(url, max_connections=THREADS) as cache:
        assert cache.ping().unwrap()
        start.wait(timeout=WAIT)
        if use_async:
            results.put(asyncio.run(_tasks(url, algorithm)))
        else:
            results.put(_threads(_limiter(cache, algorithm)))


@pytest.mark.parametrize("use_async", [False, True], ids=["threads", "tasks"])
@pytest.mark.parametrize("algorithm", WINDOWS)
def test_processes_get_exactly_the_limit(
    redis_client: redis.Redis, redis_url: str, algorithm: str, use_async: bool
) -> None:
    reports = run_in_processes(hit_in_process, (redis_url, (algorithm, use_async)), 3, WAIT)
    assert sum(reports) == LIMIT
