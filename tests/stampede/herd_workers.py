"""Process targets of the herd tests (module-level, so spawned processes can import them)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from typing import Any

import redis

from cache_bridge import RedisCache, SyncRedisCache
from cache_bridge.stampede import StampedeSettings, aget_or_compute, get_or_compute

#: How long the herd's computation takes (the issue's 200 ms).
COMPUTE_SECONDS = 0.2


def herd_of_threads(url: str, key: str, options: dict[str, Any], callers: int, *sync: Any) -> None:
    """``callers`` threads ask for ``key`` at once; report (computations, values seen) on the
    results queue once the start barrier lets every process go (``sync``: barrier, queue)."""
    start, results = sync
    cache = SyncRedisCache(url)
    settings = StampedeSettings(**options)
    computed: list[int] = []
    seen: list[Any] = []
    ready = threading.Barrier(callers)

    def compute() -> dict[str, int]:
        computed.append(1)
        time.sleep(COMPUTE_SECONDS)
        return {"pid": os.getpid()}

    def call() -> None:
        ready.wait()
        seen.append(get_or_compute(cache, key, compute, ttl=60, settings=settings))

    threads = [threading.Thread(target=call) for _ in range(callers)]
    start.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cache.close()
    results.put((len(computed), [value["pid"] for value in seen]))


def herd_of_tasks(url: str, key: str, options: dict[str, Any], callers: int, *sync: Any) -> None:
    """``callers`` tasks of one event loop ask for ``key`` at once; report as above."""
    start, results = sync
    settings = StampedeSettings(**options)
    computed: list[int] = []

    async def compute() -> dict[str, int]:
        computed.append(1)
        await asyncio.sleep(COMPUTE_SECONDS)
        return {"pid": os.getpid()}

    async def run() -> list[Any]:
        cache = RedisCache(url)
        try:
            calls = [
                aget_or_compute(cache, key, compute, ttl=60, settings=settings)
                for _ in range(callers)
            ]
            return list(await asyncio.gather(*calls))
        finally:
            await cache.aclose()

    start.wait()
    seen = asyncio.run(run())
    results.put((len(computed), [value["pid"] for value in seen]))


def hold_and_hang(url: str, key: str, lock_ttl: float, computing: Any) -> None:
    """Take the key's lock and compute for ever (until the test kills this process)."""
    cache = SyncRedisCache(url)

    def compute() -> None:
        computing.set()
        time.sleep(3600)

    get_or_compute(cache, key, compute, ttl=60, settings=StampedeSettings(lock_ttl=lock_ttl))


def stale_herd(url: str, key: str, callers: int, *sync: Any) -> None:
    """``callers`` threads ask for ``key``, whose entry is stale. The one that recomputes waits
    (up to a bound) until every other caller of every process was served the stale value, so
    the order is proven, not timed; report (computations, values seen)."""
    start, results = sync
    cache = SyncRedisCache(url)
    raw = redis.Redis.from_url(url)
    total = int(raw.get(f"{key}:callers") or 0)
    settings = StampedeSettings(stale_ttl=600)
    computed: list[int] = []
    seen: list[str] = []
    ready = threading.Barrier(callers)

    def compute() -> str:
        computed.append(1)
        deadline = time.monotonic() + 60
        while int(raw.get(f"{key}:served-stale") or 0) < total - 1:
            if time.monotonic() > deadline:
                raw.set(f"{key}:gave-up", 1)
                break
            time.sleep(0.005)
        return "new"

    def call() -> None:
        ready.wait()
        value = get_or_compute(cache, key, compute, ttl=60, settings=settings)
        if value == "old":
            raw.incr(f"{key}:served-stale")
        seen.append(value)

    threads = [threading.Thread(target=call) for _ in range(callers)]
    start.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cache.close()
    raw.close()
    results.put((len(computed), seen))


def failing_herd(url: str, key: str, *sync: Any) -> None:
    """One caller asks for ``key``, whose computation raises after a while; report the
    computation's (start, end) on the wall clock, or ``None`` if it did not compute."""
    start, results = sync
    cache = SyncRedisCache(url)
    span: list[float] = []

    def compute() -> None:
        span.append(time.time())
        time.sleep(0.5)
        span.append(time.time())
        raise RuntimeError("backend 500")

    start.wait()
    with contextlib.suppress(RuntimeError):
        get_or_compute(cache, key, compute, 60, settings=StampedeSettings(poll=0.1))
    cache.close()
    results.put(tuple(span) or None)
