"""Which CACHES aliases are BridgeCache aliases: what the system checks, the rate-limit
settings check and ``manage.py cache_ping`` all ask first."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

__all__ = ["BACKEND", "bridge_aliases"]

#: The BACKEND path of a BridgeCache alias.
BACKEND = "django_cache_bridge.cache.BridgeCache"


def _is_bridge(backend: object) -> bool:
    if backend == BACKEND:
        return True
    if not isinstance(backend, str):
        return False
    try:
        from django_cache_bridge.cache import BridgeCache

        cls = import_string(backend)
        return isinstance(cls, type) and issubclass(cls, BridgeCache)
    except ImportError:
        return False


def bridge_aliases() -> list[str]:
    """The names of the CACHES aliases whose BACKEND is BridgeCache (or a subclass)."""
    return [alias for alias, conf in settings.CACHES.items() if _is_bridge(conf.get("BACKEND"))]
