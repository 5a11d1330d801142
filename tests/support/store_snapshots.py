"""Whole-store snapshots for the fuzz tests: every key, value and expiry of a store the test
owns, so that "nothing was written" is one comparison.

A plain module (not a conftest): tests import what they need.
"""

from __future__ import annotations

from typing import Any

import redis

from cache_bridge.adapters.memory import MemoryStore

__all__ = ["Snapshot", "memory_snapshot", "redis_snapshot"]

Snapshot = dict[Any, Any]


def memory_snapshot(store: MemoryStore) -> Snapshot:
    """Every entry of an in-memory store: key, value, TTL, creation time and expiry."""
    return {key: dict(entry) for key, entry in store._entries.items()}


def redis_snapshot(client: redis.Redis) -> Snapshot:
    """Every key of the client's database with its DUMP (value and type) and absolute expiry
    (PEXPIRETIME, so that a snapshot taken later compares equal if nothing was written)."""
    keys = sorted(client.scan_iter(count=1000))
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.dump(key)
            pipe.execute_command("PEXPIRETIME", key)  # type: ignore[no-untyped-call]
        replies = pipe.execute()
    return {key: (replies[2 * i], replies[2 * i + 1]) for i, key in enumerate(keys)}
