"""Concurrent use of one adapter: many asyncio tasks, many threads, many processes, and one
async adapter used from more than one event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
import redis
from returns.result import Result, Success

from cache_bridge import CacheProtocol, SyncCacheProtocol
from cache_bridge.adapters.memory import InMemoryCache, SyncInMemoryCache
from cache_bridge.adapters.redis import RedisCache, SyncRedisCache
from cache_bridge.errors import DomainError
from cache_bridge.testing.processes import run_in_processes

TASKS = 200
THREADS, PER_THREAD = 8, 500
PROCESSES, PER_PROCESS = 4, 500
# Generous bounds for waiting on workers; a healthy run takes a small fraction of them.
WAIT = 60.0


# -- many asyncio tasks on one adapter ---------------------------------------------------------


async def _task_work(cache: CacheProtocol, i: int) -> tuple[Result[Any, DomainError], ...]:
    stored = await cache.set(f"task:{i}", f"value-{i}")
    fetched = await cache.get(f"task:{i}")
    counted = await cache.increment("tasks")
    return stored, fetched, counted


async def _run_tasks(cache: CacheProtocol) -> None:
    outcomes = await asyncio.gather(*(_task_work(cache, i) for i in range(TASKS)))
    counts = set()
    for i, (stored, fetched, counted) in enumerate(outcomes):
        assert stored == Success(None)
        assert fetched == Success(f"value-{i}")
        assert isinstance(counted, Success), counted
        counts.add(counted.unwrap())
    # Each increment saw a distinct count: none was lost or doubled.
    assert counts == set(range(1, TASKS + 1))
    assert await cache.get("tasks") == Success(str(TASKS))


async def test_many_tasks_share_a_small_redis_pool(
    redis_url: str, redis_client: redis.Redis
) -> None:
    # 200 tasks and 10 connections: the pool makes tasks wait for a free connection instead
    # of failing them or opening more.
    cache = RedisCache(redis_url, max_connections=10, client_name="cb-tasks")
    try:
        await _run_tasks(cache)
        mine = [c for c in redis_client.client_list() if c["name"] == "cb-tasks"]
        assert 1 <= len(mine) <= 10
    finally:
        await cache.aclose()


async def test_many_tasks_share_an_in_memory_cache() -> None:
    cache = InMemoryCache()
    try:
        await _run_tasks(cache)
    finally:
        await cache.aclose()


# -- many threads on one adapter ---------------------------------------------------------------


@pytest.fixture(params=["redis", "memory"])
def sync_cache(request: pytest.FixtureRequest) -> Iterator[SyncCacheProtocol]:
    cache: SyncRedisCache | SyncInMemoryCache
    if request.param == "redis":
        request.getfixturevalue("redis_client")  # empties the database
        cache = SyncRedisCache(request.getfixturevalue("redis_url"))
    else:
        cache = SyncInMemoryCache()
    try:
        yield cache
    finally:
        cache.close()


def _run_threads(work: Callable[[], list[Result[int, DomainError]]]) -> list[int]:
    """Run ``work`` on THREADS threads started together; every result, in no order."""
    results: list[list[Result[int, DomainError]]] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def run() -> None:
        start.wait(timeout=WAIT)
        mine = work()
        with lock:
            results.append(mine)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
    assert not any(thread.is_alive() for thread in threads)
    assert len(results) == THREADS, "a thread died before reporting"
    counts = []
    for mine in results:
        for result in mine:
            assert isinstance(result, Success), result
            counts.append(result.unwrap())
    return counts


def test_increment_is_atomic_under_threads(sync_cache: SyncCacheProtocol) -> None:
    counts = _run_threads(lambda: [sync_cache.increment("hits") for _ in range(PER_THREAD)])
    total = THREADS * PER_THREAD
    # Every increment returned a distinct value, so each saw all the ones before it.
    assert sorted(counts) == list(range(1, total + 1))
    assert sync_cache.get("hits") == Success(str(total))


# -- many processes on one Redis database ------------------------------------------------------


def increment_in_process(
    url: str, key: str, count: int, start: Barrier, results: Queue[tuple[int, int]]
) -> None:
    """Run in a child process: ``count`` increments of ``key``; report (successes, last)."""
    cache = SyncRedisCache(url)
    try:
        assert cache.ping() == Success(True)  # connected before the race begins
        start.wait(timeout=WAIT)
        successes = last = 0
        for _ in range(count):
            result = cache.increment(key)
            if isinstance(result, Success):
                successes += 1
                last = result.unwrap()
        results.put((successes, last))
    finally:
        cache.close()


def test_increment_is_atomic_across_processes(redis_url: str, redis_client: redis.Redis) -> None:
    reports = run_in_processes(
        increment_in_process, (redis_url, "shared", PER_PROCESS), PROCESSES, WAIT
    )

    assert [successes for successes, _ in reports] == [PER_PROCESS] * PROCESSES
    total = PROCESSES * PER_PROCESS
    # The process that finished last saw every increment, from every process.
    assert max(last for _, last in reports) == total
    assert redis_client.get("shared") == str(total).encode()


# -- one async adapter, several event loops ----------------------------------------------------


async def _use(cache: RedisCache, tag: str) -> list[Result[Any, DomainError]]:
    return [
        await cache.set(f"loop:{tag}", tag),
        await cache.get(f"loop:{tag}"),
        await cache.increment("loops"),
        # Two calls at once, so this loop's pool holds more than one connection.
        *await asyncio.gather(cache.exists(f"loop:{tag}"), cache.ping()),
    ]


def _expected(tag: str, count: int) -> list[Result[Any, DomainError]]:
    return [Success(None), Success(tag), Success(count), Success(True), Success(True)]


def test_one_redis_cache_works_from_successive_event_loops(
    redis_url: str, redis_client: redis.Redis
) -> None:
    # As in frameworks that run each request with asyncio.run: the first loop is closed
    # before the second one exists.
    cache = RedisCache(redis_url)
    assert asyncio.run(_use(cache, "one")) == _expected("one", 1)
    assert asyncio.run(_use(cache, "two")) == _expected("two", 2)
    asyncio.run(cache.aclose())
    assert redis_client.get("loops") == b"2"


def test_one_redis_cache_works_from_two_live_event_loops_in_turn(
    redis_url: str, redis_client: redis.Redis
) -> None:
    # Both loops stay open and take turns: each must keep using its own connections.
    cache = RedisCache(redis_url)
    with asyncio.Runner() as first, asyncio.Runner() as second:
        assert first.run(_use(cache, "a")) == _expected("a", 1)
        assert second.run(_use(cache, "b")) == _expected("b", 2)
        assert first.run(_use(cache, "c")) == _expected("c", 3)
        assert second.run(_use(cache, "d")) == _expected("d", 4)
        second.run(cache.aclose())
    assert redis_client.get("loops") == b"4"


def test_pools_of_closed_event_loops_are_released(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """A framework that runs each request in a fresh loop must not pile up pools."""
    import gc

    cache = RedisCache(redis_url, client_name="per-request-loop")
    for i in range(5):
        assert asyncio.run(cache.set("k", str(i))) == Success(None)
    gc.collect()
    clients = [c for c in redis_client.client_list() if c["name"] == "per-request-loop"]
    assert len(clients) <= 1
    assert asyncio.run(cache.get("k")) == Success("4")


def test_event_loops_in_many_threads_share_one_adapter(redis_url: str) -> None:
    """WSGI workers running async views: a fresh loop per request, in several threads."""
    cache = RedisCache(redis_url)
    results: list[object] = []

    def worker() -> None:
        for _ in range(20):
            results.append(asyncio.run(cache.increment("threaded-loops")))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 160
    assert sorted(r.unwrap() for r in results if isinstance(r, Success)) == list(range(1, 161))
