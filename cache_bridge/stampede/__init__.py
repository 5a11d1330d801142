"""Stampede protection for get-or-compute, on both faces: single-flight inside a process, a
lock across processes, stale-while-revalidate and probabilistic early refresh, failing open
when the cache is down. See ``docs/stampede.md``.

>>> value = get_or_compute(cache, "report", build_report, ttl=60,
...                        settings=StampedeSettings(stale_ttl=30))   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cache_bridge.engine.keys import InvalidArgument, KeySpace
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.stampede.envelope import MARKER, Envelope, unwrap, wrap
from cache_bridge.stampede.recipe import LOCK_SUFFIX, StampedeCall, ValueFormat
from cache_bridge.stampede.runners import run_async, run_sync
from cache_bridge.stampede.settings import StampedeSettings
from cache_bridge.values import ValueCodec

__all__ = [
    "MARKER",
    "Envelope",
    "StampedeCall",
    "StampedeSettings",
    "ValueFormat",
    "aget_or_compute",
    "get_or_compute",
    "unwrap",
    "wrap",
]

#: The core's value format by default: JSON, unsigned (safe to read from a shared cache).
DEFAULT_CODEC = ValueCodec("json", sign=False)


def _call(
    face: SyncCache | AsyncCache,
    key: str,
    ttl: float | None,
    *,
    settings: StampedeSettings | None,
    codec: ValueFormat | None,
    ns: KeySpace | None,
) -> StampedeCall:
    call = StampedeCall(
        face.keyspace if ns is None else ns,
        key,
        ttl,
        settings or StampedeSettings(),
        codec or DEFAULT_CODEC,
    )
    # A key no store takes is refused here, before any I/O; its lock's key too (it is longer).
    try:
        call.full_key  # noqa: B018
    except InvalidArgument as exc:
        raise ValueError(f"stampede-protected key {key!r:.80}: {exc}") from None
    try:
        call.ns.key(call.lock_key)
    except InvalidArgument as exc:
        raise ValueError(
            f"stampede-protected key {key!r:.80}: its lock's key (the key and "
            f"{LOCK_SUFFIX!r}) is refused: {exc}; write a key {len(LOCK_SUFFIX)} characters "
            "shorter than the longest key"
        ) from None
    return call


def get_or_compute(
    face: SyncCache,
    key: str,
    compute: Callable[[], Any],
    ttl: float | None,
    *,
    settings: StampedeSettings | None = None,
    codec: ValueFormat | None = None,
    ns: KeySpace | None = None,
) -> Any:
    """The value at ``key``, fresh for ``ttl`` seconds, computed by ``compute()`` at most
    once per process (and, with the lock, once across processes) when missing or stale.
    Never raises for the cache (it fails open); ``compute``'s exceptions propagate."""
    call = _call(face, key, ttl, settings=settings, codec=codec, ns=ns)
    return run_sync(face, call, compute)


async def aget_or_compute(
    face: AsyncCache,
    key: str,
    compute: Callable[[], Any],
    ttl: float | None,
    *,
    settings: StampedeSettings | None = None,
    codec: ValueFormat | None = None,
    ns: KeySpace | None = None,
) -> Any:
    call = _call(face, key, ttl, settings=settings, codec=codec, ns=ns)
    return await run_async(face, call, compute)
