"""The Redis server's time per rate-limit check, the script alone (``INFO commandstats``'s
``usec_per_call`` of ``EVALSHA``): one fixed window (the count form), three stacked, one
sliding window, next to a hand-written hook (``INCR``, ``PEXPIRE`` on the first), for this
tree's ``lua/rate_limit.lua`` and, with ``--before TREE``, another checkout's, in one run.

    python bench/ratelimit_script.py [--before TREE]

Prints the best and the median of 7 rounds of 2,000 calls each (pipelined, so the client
does not count). Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from bench.ratelimit_frameworks import HOOK_LUA
from cache_bridge.testing import RedisServer

ROUNDS, CALLS = 7, 2000
_SCRIPT = "cache_bridge/adapters/redis/lua/rate_limit.lua"
_HOUR = "3600000"
_CHECKS = {
    "one fixed window": ["fixed-window 1000000 3600000 1 hit"],
    "three stacked fixed windows": [
        "fixed-window 1000000 3600000 1 hit",
        "fixed-window 900000 3600000 1 hit",
        "fixed-window 1000000 86400000 1 hit",
    ],
    "one sliding window": ["sliding-window 1000000 3600000 1 hit"],
}


def main(argv: list[str]) -> None:
    here = Path(__file__).resolve().parents[1]
    trees = {"this": here}
    if "--before" in argv:
        trees["before"] = Path(argv[argv.index("--before") + 1])
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
        cases: dict[str, tuple[str, list[str], list[str]]] = {
            "hook": (client.script_load(HOOK_LUA), ["hook"], [_HOUR])
        }
        for tree, root in trees.items():
            sha = client.script_load((root / _SCRIPT).read_text())
            for check, args in _CHECKS.items():
                keys = [f"{tree}:{check}:{i}" for i in range(len(args))]
                cases[f"{check} ({tree})"] = (sha, keys, args)
        found: dict[str, list[float]] = {case: [] for case in cases}
        for _ in range(ROUNDS):
            for case, (sha, keys, args) in cases.items():
                client.config_resetstat()
                pipe = client.pipeline(transaction=False)
                for _ in range(CALLS):
                    pipe.evalsha(sha, len(keys), *keys, *args)
                pipe.execute()
                stats = client.info("commandstats")["cmdstat_evalsha"]
                found[case].append(float(stats["usec_per_call"]))
        client.close()
    print(f"server us per EVALSHA, best and median of {ROUNDS} x {CALLS}")
    for case, values in found.items():
        print(f"  {case:44} {min(values):7.2f} {statistics.median(values):7.2f}")


if __name__ == "__main__":
    main(sys.argv)
