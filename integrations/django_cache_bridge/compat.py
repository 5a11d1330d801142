"""``BridgeCache.client``: a small stand-in for django-redis's client object, for code (and
django-redis's own tests) that reaches for ``cache.client`` before using the cache.

It offers what such code uses: ``get_client()`` (the raw redis-py client, outside every
guarantee, as ``BridgeCache.get_client()``), ``make_key``, ``make_pattern``, ``reverse_key``,
``encode`` / ``decode`` and a ``close()`` that does nothing. It is not django-redis's
``DefaultClient``: ``isinstance`` checks against django-redis's classes are false.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["DjangoRedisClient"]


class _Backend(Protocol):
    key_prefix: str

    def get_client(self, key: Any = None, write: bool = True) -> Any: ...
    def make_key(self, key: Any, version: Any = None) -> str: ...
    def make_pattern(self, pattern: str, version: Any = None, prefix: Any = None) -> str: ...
    def reverse_key(self, key: str, strip: str | None = None) -> str: ...
    def encode_value(self, key: str, value: Any) -> bytes: ...
    def decode_value(self, key: str, data: bytes) -> Any: ...


class DjangoRedisClient:
    """See the module. ``_backend`` is the BridgeCache, ``_serializer`` is ``None`` (the
    format is BridgeCache's own)."""

    def __init__(self, backend: _Backend) -> None:
        self._backend = backend
        self._serializer = None

    def get_client(self, write: bool = True, tried: Any = None) -> Any:
        return self._backend.get_client(write=write)

    def make_key(self, key: Any, version: Any = None, prefix: Any = None) -> str:
        return self._backend.make_key(key, version=version)

    def make_pattern(self, pattern: str, version: Any = None, prefix: Any = None) -> str:
        return self._backend.make_pattern(pattern, version, prefix)

    def reverse_key(self, key: str) -> str:
        return self._backend.reverse_key(key)

    def encode(self, value: Any) -> bytes:
        """The stored form of ``value`` (as BridgeCache stores it at any key)."""
        return self._backend.encode_value("", value)

    def decode(self, value: bytes) -> Any:
        return self._backend.decode_value("", value)

    def _has_compression_enabled(self) -> bool:
        # django-redis's tests ask before sscan(match=...): BridgeCache matches members after
        # reading them, so a match works whatever the compression.
        return False

    def close(self, **kwargs: Any) -> None:
        """Nothing to do: connection pools belong to the process."""
