"""Protocol access for domain code: the cache_bridge faces of a Django cache alias."""

from __future__ import annotations

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from cache_bridge.protocol import CacheProtocol, SyncCacheProtocol
from django_cache_bridge.cache import BridgeCache

__all__ = ["get_bridge_cache", "get_cache", "get_sync_cache"]


def get_bridge_cache(alias: str = "default") -> BridgeCache:
    """The alias's Django cache object; raises ImproperlyConfigured if it is not a BridgeCache."""
    cache = caches[alias]
    if not isinstance(cache, BridgeCache):
        raise ImproperlyConfigured(
            f"CACHES[{alias!r}] uses {type(cache).__module__}.{type(cache).__name__}; protocol "
            "access needs BACKEND 'django_cache_bridge.cache.BridgeCache'"
        )
    return cache


def get_cache(alias: str = "default") -> CacheProtocol:
    """The async protocol over the alias's connections and namespace.

    A key ``k`` is the Django key ``k`` of the alias's current VERSION (stored as
    ``KEY_PREFIX:VERSION:k``); integers Django stores are the protocol's counters. Closing the
    returned face does not close the alias.
    """
    cache = get_bridge_cache(alias)
    return cache.adapters().async_.with_prefix(cache.protocol_prefix)


def get_sync_cache(alias: str = "default") -> SyncCacheProtocol:
    """The blocking protocol over the alias's connections and namespace (see get_cache)."""
    cache = get_bridge_cache(alias)
    return cache.adapters().sync.with_prefix(cache.protocol_prefix)
