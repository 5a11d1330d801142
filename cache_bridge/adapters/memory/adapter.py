"""The in-memory adapter's two faces (``memory://``) over one shared :class:`MemoryStore`."""

from __future__ import annotations

from typing import Any

from cache_bridge import config
from cache_bridge.adapters.building import FromSettings
from cache_bridge.adapters.memory.store import MemoryStore, named_store
from cache_bridge.engine.commands import Command
from cache_bridge.errors import ConfigurationError
from cache_bridge.faces import AsyncCache, SyncCache
from cache_bridge.factory import register

__all__ = ["InMemoryCache", "SyncInMemoryCache"]


def _store_for(settings: config.MemorySettings) -> MemoryStore:
    if settings.name is None:
        return MemoryStore(settings.max_entries, settings.clock)
    return named_store(settings.name, settings.max_entries, settings.clock)


def _settings(
    url: str, store: MemoryStore | None, options: dict[str, Any]
) -> config.MemorySettings:
    if store is not None and {"max_entries", "clock"} & options.keys():
        raise ConfigurationError(
            "max_entries and clock belong to the store; set them when you make it"
        )
    takes = "the in-memory adapter takes a memory:// or memory://NAME URL"
    return config.parse_as(url, options, config.MemorySettings, takes)


class SyncInMemoryCache(FromSettings, SyncCache):
    """The blocking face of an in-memory store; safe to share between threads.

    ``SyncInMemoryCache()`` has a private store; ``SyncInMemoryCache("memory://NAME")``
    shares the process-wide store called NAME. Options: ``key_prefix``, ``max_entries``
    (default 10,000, least recently used evicted first) and ``clock``.
    """

    def __init__(
        self, url: str = "memory://", *, store: MemoryStore | None = None, **options: Any
    ) -> None:
        self._start(_settings(url, store, options), store)

    def _start(self, settings: config.MemorySettings, store: MemoryStore | None = None) -> None:
        self.store = store if store is not None else _store_for(settings)
        super().__init__(self.store.execute, settings.key_prefix, settings.describe())


class InMemoryCache(FromSettings, AsyncCache):
    """The async face of an in-memory store (same options as :class:`SyncInMemoryCache`)."""

    def __init__(
        self, url: str = "memory://", *, store: MemoryStore | None = None, **options: Any
    ) -> None:
        self._start(_settings(url, store, options), store)

    def _start(self, settings: config.MemorySettings, store: MemoryStore | None = None) -> None:
        self.store = store if store is not None else _store_for(settings)
        super().__init__(self._execute_now, settings.key_prefix, settings.describe())

    async def _execute_now(self, command: Command) -> Any:
        return self.store.execute(command)

    def sync(self) -> SyncInMemoryCache:
        """A blocking face over the same store and namespace."""
        return SyncInMemoryCache(store=self.store, key_prefix=self.key_prefix)


register(config.MemorySettings, InMemoryCache.from_settings, SyncInMemoryCache.from_settings)
