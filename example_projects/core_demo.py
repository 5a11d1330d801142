"""A short tour of cache_bridge on the embedded in-memory store (no Redis needed).

Run it with ``make run``. Set CACHE_URL (for example redis://127.0.0.1:6379/0) to run the
same tour against another store; it only touches keys under the ``demo`` prefix.
"""

from __future__ import annotations

import asyncio
import os

from returns.result import Failure, Success

from cache_bridge import CacheConnectionError, CacheError, create_cache, create_sync_cache


def show(label: str, result: object) -> None:
    print(f"  {label:<38} {result}")


def sync_tour(url: str) -> None:
    print(f"Blocking face on {url}")
    with create_sync_cache(url, key_prefix="demo") as cache:
        show("set('greeting', 'hello', ttl=60)", cache.set("greeting", "hello", ttl=60))
        show("get('greeting')", cache.get("greeting"))
        show("ttl('greeting')", cache.ttl("greeting"))
        show("increment('visits') x3", [cache.increment("visits").unwrap() for _ in range(3)])
        show("set_json('user:1', {...})", cache.set_json("user:1", {"id": 1, "name": "Ada"}))
        show("get_many(['greeting', 'nope'])", cache.get_many(["greeting", "nope"]))
        show("set(42, 'x')  (a bad key)", cache.set(42, "x"))  # type: ignore[arg-type]
        match cache.get_json("user:1"):
            case Success(None):
                print("  user:1 is not cached")
            case Success(user):
                print(f"  user:1 from the cache -> {user['name']}")
            case Failure(CacheConnectionError() as error):
                print(f"  cache unreachable, carrying on without it: {error}")
            case Failure(error):
                print(f"  cache error, carrying on without it: {error}")
        show("delete_pattern('user:*')", cache.delete_pattern("user:*"))
        show("flush()  (only the demo namespace)", cache.flush())


async def async_tour(url: str) -> None:
    print(f"Async face on {url}")
    async with create_cache(url, key_prefix="demo") as cache:
        results = await asyncio.gather(*(cache.increment("hits") for _ in range(100)))
        show("100 concurrent increments, last", max(r.unwrap() for r in results))
        show("set_many({...}, ttl=30)", await cache.set_many({"a": "1", "b": "2"}, ttl=30))
        show("get_many(['a', 'b'])", await cache.get_many(["a", "b"]))
        show("flush()", await cache.flush())
    show("get('a') after aclose()", await cache.get("a"))


def dead_server_tour() -> None:
    print("A cache that is down fails fast and returns a Failure (fail open):")
    with create_sync_cache("redis://127.0.0.1:1/0", connect_timeout=0.2) as cache:
        result = cache.get("anything")
        show("get('anything')", result)
        assert isinstance(result, Failure)
        assert isinstance(result.failure(), CacheError)


if __name__ == "__main__":
    url = os.environ.get("CACHE_URL", "memory://")
    sync_tour(url)
    asyncio.run(async_tour(url))
    if url.startswith("memory"):
        try:
            dead_server_tour()
        except ImportError:
            print("(install the redis extra to see the dead-server example)")
