"""Build an adapter from a URL: the entry point most applications use.

The adapters register themselves here (:func:`register`), one pair of builders per kind of
settings, so this module knows no adapter; :mod:`cache_bridge` imports the bundled ones. The
URL is parsed once, here: a builder takes the checked settings.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from cache_bridge import config
from cache_bridge.errors import ConfigurationError
from cache_bridge.protocol import CacheProtocol, SyncCacheProtocol

__all__ = ["create_cache", "create_sync_cache", "register"]


class _Builder(Protocol):
    def __call__(self, settings: Any) -> Any: ...


_REGISTRY: dict[type, tuple[_Builder, _Builder]] = {}


def register(settings_type: type, async_build: _Builder, sync_build: _Builder) -> None:
    """Make :func:`create_cache` / :func:`create_sync_cache` return ``async_build(settings)`` /
    ``sync_build(settings)`` for URLs whose checked settings are a ``settings_type`` (an
    adapter registers its faces' ``from_settings``)."""
    _REGISTRY[settings_type] = (async_build, sync_build)


def _build(url: object, options: dict[str, Any], blocking: bool) -> Any:
    settings = config.parse(url, options)
    builders = _REGISTRY.get(type(settings))
    if builders is None:
        raise ConfigurationError(
            f"{settings.requires}: pip install 'cache-bridge[{settings.extra}]'"
        )
    return builders[1 if blocking else 0](settings)


def create_cache(url: str = "memory://", **options: Any) -> CacheProtocol:
    """An async adapter for ``url`` (``memory://[NAME]``, ``redis://``, ``rediss://``, ``unix://``,
    ``redis+cluster://``, ``rediss+cluster://``, ``redis+sentinel://``).

    Raises :class:`~cache_bridge.errors.ConfigurationError` for a malformed URL or option.
    """
    return cast(CacheProtocol, _build(url, options, blocking=False))


def create_sync_cache(url: str = "memory://", **options: Any) -> SyncCacheProtocol:
    """A blocking adapter for ``url``; the same URLs and options as :func:`create_cache`."""
    return cast(SyncCacheProtocol, _build(url, options, blocking=True))
