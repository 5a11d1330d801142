"""A forked child (a pre-forking server's worker) never serves what its parent's near cache
held: the child's copy is emptied at the fork and its own invalidation connection is made."""

from __future__ import annotations

import os
import time

import redis
from returns.result import Success

from cache_bridge import SyncRedisCache


def _child(cache: SyncRedisCache, url: str) -> int:
    """In the child: another client changes the key the parent had cached; the child's next
    read must see it, and the child's near cache must serve hits again later."""
    other = redis.Redis.from_url(url)
    other.set("k", "changed in the child")
    if cache.get("k") != Success("changed in the child"):
        return 1
    near = cache.near_cache
    assert near is not None
    deadline = time.monotonic() + 5
    while near.stats()["hits"] == 0 or cache.get("k") != Success("changed in the child"):
        if time.monotonic() > deadline:
            return 2  # no invalidation connection of its own: never served locally again
        cache.get("k")
        time.sleep(0.005)
    other.set("k", "again")
    deadline = time.monotonic() + 5
    while cache.get("k") != Success("again"):
        if time.monotonic() > deadline:
            return 3
        time.sleep(0.005)
    return 0


def test_a_forked_child_never_serves_its_parents_copy(
    redis_client: redis.Redis, redis_url: str
) -> None:
    cache = SyncRedisCache(redis_url, near_cache=True)
    near = cache.near_cache
    assert near is not None
    deadline = time.monotonic() + 5
    while not near.ready:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    cache.set("k", "from the parent")
    while not (cache.get("k") == Success("from the parent") and near.stats()["hits"] > 0):
        assert time.monotonic() < deadline, "never cached in the parent"
    pid = os.fork()
    if pid == 0:  # the child
        code = 99
        try:
            code = _child(cache, redis_url)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    cache.close()
