"""One pair of cache_bridge adapters per distinct alias configuration, shared by the process.

Django builds a cache object per alias per thread and calls ``close()`` on it after every
request, so connections must not belong to those objects: they live here, for the process,
with the backend's log (:class:`~cache_bridge.resilience.outage_log.OutageLog`, one per store).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cache_bridge import (
    ConfigurationError,
    InMemoryCache,
    SyncInMemoryCache,
    config,
    create_cache,
    create_sync_cache,
)
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.resilience.outage_log import OutageLog
from django_cache_bridge.options import AliasSettings

__all__ = ["SharedAdapters", "logger", "shared_adapters"]

logger = logging.getLogger("django_cache_bridge")

#: The store that ``memory://`` (no name) means in Django settings: shared by every alias
#: that names it, as LocMemCache shares its default location.
DEFAULT_MEMORY_STORE = ""


@dataclass(frozen=True)
class SharedAdapters:
    """The blocking and async faces over one store or Redis database, without a prefix, and
    the backend's log for that store.

    The log carries what only the backend knows (a value the serializer cannot write, a
    failure of the in-memory adapter, which has no outage log of its own); the outages of a
    Redis adapter are logged by the adapter itself, on the ``cache_bridge`` logger.
    """

    sync: SyncCache
    async_: AsyncCache
    log: OutageLog = field(compare=False)
    #: Whether the adapters log their own outages (the network adapters do).
    logs_outages: bool = True


_shared: dict[tuple[Any, ...], SharedAdapters] = {}
_lock = threading.Lock()


# The store behind every ``memory://`` alias (made on first use), under DEFAULT_MEMORY_STORE.
_default_memory: dict[str, SyncInMemoryCache] = {}


def _memory(settings: config.MemorySettings, cull_frequency: int) -> SharedAdapters:
    """The faces of a ``memory://NAME`` store (the process-wide store called NAME), or of the
    store every ``memory://`` alias shares, made with the first alias's settings; it culls
    as LocMemCache when full (CULL_FREQUENCY)."""
    sizing: dict[str, Any] = {"max_entries": settings.max_entries, "clock": settings.clock}
    if settings.name:
        sync = SyncInMemoryCache("memory://" + quote(settings.name, safe=""), **sizing)
    else:
        if DEFAULT_MEMORY_STORE not in _default_memory:
            _default_memory[DEFAULT_MEMORY_STORE] = SyncInMemoryCache(**sizing)
        sync = SyncInMemoryCache(store=_default_memory[DEFAULT_MEMORY_STORE].store)
    sync.store.cull_frequency = cull_frequency
    log = OutageLog(settings.describe(), log=logger)
    return SharedAdapters(sync, InMemoryCache(store=sync.store), log, False)


def _redis(bridge: AliasSettings) -> SharedAdapters:
    """The adapters of a Redis LOCATION: one server, a cluster or sentinels."""
    try:
        import redis  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            f"LOCATION {bridge.settings.describe()} needs redis-py: "
            "pip install 'cache-bridge[redis]'"
        ) from exc
    options = dict(bridge.core_options)
    sync = create_sync_cache(bridge.location, **options)
    async_ = create_cache(bridge.location, **options)
    if not isinstance(sync, SyncCache) or not isinstance(async_, AsyncCache):  # pragma: no cover
        raise TypeError(f"unexpected adapters for {bridge.settings.describe()}")
    return SharedAdapters(sync, async_, OutageLog(bridge.settings.describe(), log=logger))


def shared_adapters(bridge: AliasSettings) -> SharedAdapters:
    """The process's adapters for this configuration, made on first use."""
    settings = bridge.settings
    key: tuple[Any, ...] = (
        ("redis", bridge.location, bridge.core_options)
        if settings.is_network
        else settings.store_identity(DEFAULT_MEMORY_STORE)
    )
    with _lock:
        adapters = _shared.get(key)
        if adapters is None or adapters.sync.closed:
            adapters = _shared[key] = (
                _memory(settings, bridge.cull_frequency)
                if isinstance(settings, config.MemorySettings)
                else _redis(bridge)
            )
        return adapters
