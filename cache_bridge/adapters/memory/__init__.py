"""The embedded in-memory adapter (``memory://``): both faces over one shared store."""

from __future__ import annotations

from cache_bridge.adapters.memory.adapter import InMemoryCache, SyncInMemoryCache
from cache_bridge.adapters.memory.store import MemoryStore

__all__ = ["InMemoryCache", "MemoryStore", "SyncInMemoryCache"]
