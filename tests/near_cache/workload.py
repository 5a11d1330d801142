"""One process of the two-process coherence test (tests/near_cache/test_two_processes.py).

Each process reads a shared key set through a near-cached adapter (process 0 the blocking
face, process 1 the async face) and writes it at random. Every value is a counter that only
grows (INCR), so an older value is a smaller number. Writes go either through the adapter
(its own writes) or through a plain redis-py client in one MULTI/EXEC with a ``tag:`` key that
names that write alone: the invalidation push that carries the tag carries the counter's key
too, so the moment this process applied the invalidation of that very write is known.

The process reports what it read (key, when the read started, value), what it wrote (key,
value, tag, when it was acknowledged), when each tag's invalidation was applied, and when
the near cache was reset and ready again.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import random
import time
from typing import Any

import redis

from cache_bridge import RedisCache, SyncRedisCache

__all__ = ["work"]


def work(url: str, keys: list[str], seconds: float, start: Any, results: Any) -> None:
    index = start.wait()  # 0 or 1: which face, and the seed
    results.put(asyncio.run(_work(url, keys, seconds, index)))


async def _call(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


def _watch(near: Any, report: dict[str, Any]) -> None:
    """Record when each tag's invalidation was applied and when the cache was reset / ready."""
    received, set_ready = near.received, near.set_ready

    def on_received(keys: Any) -> None:
        received(keys)
        now = time.monotonic()
        for key in keys or ():
            if key.startswith("tag:"):
                report["tags"][key] = now

    def on_set_ready(ready: bool) -> None:
        if not ready:
            report["resets"].append(time.monotonic())
        set_ready(ready)
        if ready:
            report["readies"].append(time.monotonic())

    near.received, near.set_ready = on_received, on_set_ready


async def _work(url: str, keys: list[str], seconds: float, index: int) -> dict[str, Any]:
    cache: Any = (SyncRedisCache if index == 0 else RedisCache)(url, near_cache=True)
    near = cache.near_cache
    report: dict[str, Any] = {
        "face": "sync" if index == 0 else "async",
        "reads": [],
        "writes": [],
        "tags": {},
        "resets": [],
        "readies": [],
    }
    _watch(near, report)
    raw = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while not near.ready and time.monotonic() < deadline:  # noqa: ASYNC110 (a thread sets it)
        await asyncio.sleep(0.005)
    rng = random.Random(index)
    end = time.monotonic() + seconds
    for i in itertools.count():
        if time.monotonic() > end:
            break
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.55:
            started = time.monotonic()
            value = (await _call(cache.get(key))).value_or("failed")
            if value != "failed":
                report["reads"].append((key, started, int(value or 0)))
        elif roll < 0.65:
            many = rng.sample(keys, 3)
            started = time.monotonic()
            values = (await _call(cache.get_many(many))).value_or(None)
            for name, value in (values or {}).items():
                report["reads"].append((name, started, int(value or 0)))
        elif roll < 0.9:
            tag = f"tag:{index}:{i}"
            try:
                with raw.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.set(tag, 1, px=10_000)
                    written, _ = pipe.execute()
            except redis.RedisError:  # the server is restarting: maybe applied, not known
                continue
            report["writes"].append((key, int(written), tag, time.monotonic(), index))
        else:
            written = (await _call(cache.increment(key))).value_or(None)
            if written is not None:
                report["writes"].append((key, int(written), None, time.monotonic(), index))
        if i % 50 == 0:
            await asyncio.sleep(0)  # the async face: let its loop breathe
    report["stats"] = near.stats()
    raw.close()
    if isinstance(cache, RedisCache):
        await cache.aclose()
    else:
        cache.close()
    return report
