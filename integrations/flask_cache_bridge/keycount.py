"""Counting the keys a flush would delete, for ``flask cache flush --dry-run``.

The cache protocol has no read-only scan, so this runs the core's ``Scan`` command directly
on the app's store (the in-memory store, or a short-lived Redis client with the app's
settings) through the core's driver, which turns every error into a ``Failure``.
"""

from __future__ import annotations

from typing import Any

from returns.result import Result

from cache_bridge import DomainError, SyncCacheProtocol, SyncInMemoryCache
from cache_bridge.commands import Command, Scan
from cache_bridge.drivers import drive_sync
from cache_bridge.keys import KeySpace
from cache_bridge.operations import SCAN_BATCH, Op, Steps

__all__ = ["UnsupportedAdapterError", "count_keys"]


class UnsupportedAdapterError(TypeError):
    """``count_keys`` does not know how to scan this adapter's store."""


def _count(ns: KeySpace, pattern: str | None) -> Steps[int]:
    match = ns.everything() if pattern is None else ns.pattern(pattern)
    counted = 0
    cursor = 0
    while True:
        cursor, found = yield Scan(cursor, match, SCAN_BATCH)
        counted += len(found)
        if int(cursor) == 0:
            return counted


def count_keys(adapter: SyncCacheProtocol, pattern: str | None) -> Result[int, DomainError]:
    """How many keys of ``adapter``'s namespace match ``pattern`` (all of them if ``None``).

    On Redis the count is SCAN's, which may see a key twice while keys are being written.
    """
    prefix = getattr(adapter, "key_prefix", None)
    op = Op("count_keys", None, _count(KeySpace(prefix), pattern))
    if isinstance(adapter, SyncInMemoryCache):
        return drive_sync(op, adapter.store.execute)
    from cache_bridge.adapters.redis import SyncRedisCache
    from cache_bridge.adapters.redis.clients import sync_client
    from cache_bridge.adapters.redis.plan import plan

    if not isinstance(adapter, SyncRedisCache):
        raise UnsupportedAdapterError(f"cannot count the keys of {adapter!r}")
    client = sync_client(adapter.settings)

    def execute(command: Command) -> Any:
        return client.execute_command(*plan(command))  # type: ignore[no-untyped-call]

    try:
        return drive_sync(op, execute)
    finally:
        client.close()
