"""What one rate-limit check costs, per algorithm, next to one plain GET on the same adapter.

    python bench/ratelimit_cost.py                  # memory:// and a throw-away redis-server
    python bench/ratelimit_cost.py redis://host:6379/15   # a server of your choosing (its
                                                          # keys under bench-rl: are used)
    python bench/ratelimit_cost.py --frameworks [--before TREE]   # per-request cost in Flask
                                                          # and Django, this tree and TREE
    python bench/ratelimit_cost.py --instructions [--before TREE]  # the same cases' instruction
                                                          # counts (valgrind's callgrind)

Prints microseconds per call (median of 5 runs of N calls each), one thread, blocking faces.
``--frameworks`` adds the cost of one limit to a Flask and a Django request (test clients, a
throw-away redis-server) next to a hand-written hook doing one EVALSHA, with and without the
RateLimit headers; ``--before TREE`` measures another checkout (e.g. a ``git worktree`` of the
previous commit) in the same run, round by round, and prints both with their ratio.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cache_bridge import SyncInMemoryCache
from cache_bridge.engine.limit_algorithms import ALGORITHMS
from cache_bridge.ratelimit import RateLimiter

RUNS = 5


def _per_call(fn: Callable[[], Any], n: int) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(samples)


def _table(name: str, cache: Any, n: int) -> None:
    rows = [("GET (baseline)", _per_call(lambda: cache.get("bench-rl:missing"), n))]
    for algorithm in ALGORITHMS:
        for native in (True, False):
            if algorithm == "token-bucket" and not native:
                continue  # refused: the protocol fallback cannot hold a token bucket's limit
            limiter = RateLimiter(
                cache, "1000000/h", algorithm=algorithm, prefix="bench-rl", native=native
            )
            label = f"{algorithm}{'' if native else ' (fallback)'}"
            rows.append((label, _per_call(lambda lim=limiter: lim.hit("client"), n)))
    print(f"\n{name}: microseconds per call, median of {RUNS} x {n}")
    print(f"{'operation':32} {'us/call':>10} {'vs GET':>8}")
    for label, micros in rows:
        print(f"{label:32} {micros:10.1f} {micros / rows[0][1]:8.2f}")


def main() -> None:
    if "--frameworks" in sys.argv:
        from bench.ratelimit_frameworks import main as frameworks

        frameworks(sys.argv)
        return
    if "--instructions" in sys.argv:
        from bench.ratelimit_instructions import main as instructions

        instructions(sys.argv)
        return
    _table("memory://", SyncInMemoryCache(), 20_000)
    from cache_bridge.adapters.redis import SyncRedisCache

    if len(sys.argv) > 1:
        with SyncRedisCache(sys.argv[1]) as cache:
            _table(sys.argv[1], cache, 2_000)
        return
    from cache_bridge.testing import RedisServer

    with RedisServer() as server, SyncRedisCache(server.url) as cache:
        _table(f"redis (test-started, {server.url})", cache, 2_000)


if __name__ == "__main__":
    main()
