"""Hot-key reads, the baseline for the near cache (issue 19): ``python -m bench.cases_near_cache``.

Starts its own redis-server (no persistence, a free loopback port), measures in interleaved
rounds a GET of one hot key by raw redis-py, by this library's blocking face without and with
``near_cache=True``, and by redis-py's own client-side cache (RESP3 ``CLIENT TRACKING``;
redis-py 8 refuses it before Redis 7.4, and the row is then left out with the reason), prints
one table and stops the server. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import redis

from bench.harness import Case, Group, measure_group

__all__ = ["main", "near_cache_group"]

HOT_KEY = "hot"
HOT_VALUE = "v" * 100


def _client_side_cache(url: str) -> tuple[redis.Redis | None, str]:
    """redis-py's client-side cache, or None and why it cannot run against this server."""
    from redis.cache import CacheConfig

    try:
        client = redis.Redis.from_url(url, protocol=3, cache_config=CacheConfig())
        client.get(HOT_KEY)
    except redis.RedisError as error:
        return None, str(error)
    return client, ""


def near_cache_group(url: str, n: int) -> tuple[Group, list[Any], str]:
    """The hot-key GET group, the clients to close afterwards, and why a row is missing."""
    from cache_bridge import SyncRedisCache

    raw = redis.Redis.from_url(url, protocol=2)
    raw.set(HOT_KEY, HOT_VALUE)
    ours = SyncRedisCache(url)
    ours.set(HOT_KEY, HOT_VALUE).unwrap()
    near = SyncRedisCache(url, near_cache=True)
    deadline = time.monotonic() + 5
    while near.near_cache is not None and not near.near_cache.ready:
        if time.monotonic() > deadline:
            raise RuntimeError("the near cache's tracking connection never came up")
        time.sleep(0.01)
    near.get(HOT_KEY).unwrap()
    cases = [
        Case("redis-py GET", lambda: raw.get(HOT_KEY)),
        Case("cache_bridge get", lambda: ours.get(HOT_KEY)),
        Case("cache_bridge near cache get", lambda: near.get(HOT_KEY)),
    ]
    csc, missing = _client_side_cache(url)
    if csc is not None:
        cases.append(Case("redis-py client-side cache", lambda: csc.get(HOT_KEY)))
    group = Group("hot-key get", "near cache", "redis-py GET", cases, n)
    return group, [raw, ours, near, csc], missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cases_near_cache", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--n", type=int, default=2000, help="calls per round (default 2000)")
    args = parser.parse_args(argv)
    from cache_bridge.testing import RedisServer

    server = RedisServer()
    server.start()
    try:
        group, clients, missing = near_cache_group(server.url, args.n)
        print(f"{group.section} | {group.name} (ratio: ops/s against {group.reference})")
        for m in measure_group(group, args.rounds):
            print(
                f"  {m.impl:28} {m.ops_per_s:>12,.0f}/s  p50 {m.p50_us:7.1f} us"
                f"  p99 {m.p99_us:7.1f} us  {m.ratio:6.2f}x"
            )
        if missing:
            print(f"  redis-py client-side cache: not measured ({missing})")
        for client in clients:
            if client is not None:
                client.close()
    finally:
        server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
