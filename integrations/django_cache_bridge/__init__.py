"""Django integration for cache_bridge: a cache backend, protocol access, commands and checks.

``CACHES = {"default": {"BACKEND": "django_cache_bridge.cache.BridgeCache",
"LOCATION": "redis://127.0.0.1:6379/0", "KEY_PREFIX": "site"}}`` and
``INSTALLED_APPS += ["django_cache_bridge"]``; domain code takes the cache_bridge protocol
with :func:`get_cache` (async) or :func:`get_sync_cache` (blocking).
"""

from __future__ import annotations

from django_cache_bridge.access import get_bridge_cache, get_cache, get_sync_cache

__all__ = ["get_bridge_cache", "get_cache", "get_sync_cache"]
