"""cache_bridge.locks on real servers: mutual exclusion across 4 processes, Redis killed while a
lock is held, and the in-process lock of memory://, on both faces. (The Django API over the
same locks, on every store: tests/django/test_locks.py.)"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache_bridge import InMemoryCache, RedisCache, SyncInMemoryCache, SyncRedisCache
from cache_bridge.engine.keys import KeySpace
from cache_bridge.errors import CacheError
from cache_bridge.locks import AsyncCacheLock, CacheLock, LockError
from cache_bridge.testing.faulty_server import FaultyRedisServer

RAW = KeySpace(None)
ROUNDS = 25


def _count_sync(url: str, path: str) -> None:
    cache = SyncRedisCache(url)
    lock = CacheLock(cache, RAW, "counter-lock", timeout=30, sleep=0.002)
    counter = Path(path)
    for _ in range(ROUNDS):
        with lock:
            counter.write_text(str(int(counter.read_text()) + 1))
    cache.close()


def _count_async(url: str, path: str) -> None:
    async def run() -> None:
        cache = RedisCache(url)
        lock = AsyncCacheLock(cache, RAW, "counter-lock", timeout=30, sleep=0.002)
        counter = Path(path)
        for _ in range(ROUNDS):
            async with lock:
                # A read, a pause that lets others run, then the write: without the lock the
                # processes would overwrite each other's increments.
                seen = int(counter.read_text())  # noqa: ASYNC240 (a tiny local file)
                await asyncio.sleep(0)
                counter.write_text(str(seen + 1))  # noqa: ASYNC240
        await cache.aclose()

    asyncio.run(run())


@pytest.mark.redis
@pytest.mark.parametrize("faces", [("sync",) * 4, ("async",) * 4, ("sync", "async") * 2])
def test_mutual_exclusion_across_four_processes(
    redis_url: str, redis_client: object, tmp_path: Path, faces: tuple[str, ...]
) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    spawn = multiprocessing.get_context("spawn")
    workers = [
        spawn.Process(
            target=_count_sync if face == "sync" else _count_async, args=(redis_url, str(counter))
        )
        for face in faces
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0] * 4
    assert int(counter.read_text()) == 4 * ROUNDS


@pytest.fixture
def server() -> Iterator[FaultyRedisServer]:
    server = FaultyRedisServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_redis_killed_while_held_is_an_error_the_holder_sees(server: FaultyRedisServer) -> None:
    cache = SyncRedisCache(server.url, timeout=0.5, connect_timeout=0.5)
    lock = CacheLock(cache, RAW, "job", timeout=30)
    with pytest.raises(CacheError), lock:
        server.kill()
    with pytest.raises(CacheError):
        CacheLock(cache, RAW, "job", timeout=30).acquire()
    cache.close()


def test_redis_killed_while_held_async(server: FaultyRedisServer) -> None:
    async def run() -> None:
        cache = RedisCache(server.url, timeout=0.5, connect_timeout=0.5)
        lock = AsyncCacheLock(cache, RAW, "job", timeout=30)
        assert await lock.acquire() is True
        server.kill()
        with pytest.raises(CacheError):
            await lock.release()
        with pytest.raises(CacheError):
            await AsyncCacheLock(cache, RAW, "job", timeout=30).acquire()
        with pytest.raises(CacheError):
            await lock.extend(10)
        await cache.aclose()

    asyncio.run(run())


def test_the_in_memory_lock_is_shared_by_both_faces_of_a_store() -> None:
    sync = SyncInMemoryCache("memory://locks-test")
    held = CacheLock(sync, RAW, "job", timeout=30)
    assert held.acquire() is True

    async def run() -> None:
        async_ = InMemoryCache("memory://locks-test")
        waiting = AsyncCacheLock(async_, RAW, "job", timeout=30)
        assert await waiting.acquire(blocking=False) is False
        held.release()
        assert await waiting.acquire(blocking=False) is True
        await waiting.release()

    asyncio.run(run())
    with pytest.raises(LockError, match="unlocked"):
        held.release()


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        CacheLock(SyncInMemoryCache(), RAW, "job", timeout=0)
