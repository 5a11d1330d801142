"""How BridgeCache turns Python values into stored bytes and back: the core value codec
(:mod:`cache_bridge.values`, see docs/values.md) keyed by Django's ``SECRET_KEY`` and
``SECRET_KEY_FALLBACKS``.

- ``int`` values in signed 64 bits are stored as decimal text, as Redis counters are, so
  ``incr`` is one atomic command; they are never signed.
- Anything else is serialized (OPTIONS ``serializer``: pickle, json or msgpack), compressed
  above ``compress_min_bytes`` when OPTIONS ``compressor`` names one, and, with ``sign=True``
  (the default), signed with a keyed MAC derived from ``SECRET_KEY`` and bound to the stored
  key. A value whose signature does not verify under ``SECRET_KEY`` or one of
  ``SECRET_KEY_FALLBACKS``, or whose format this alias does not read, is never unpickled (nor
  parsed, nor decompressed); it is a miss and a logged warning, and the backend drops it (see
  :mod:`cache_bridge.engine.bytes_operations`). Values written by earlier releases (markers
  ``cb:s3:``, ``cb:js2:``, ``cb:p1:``, ``cb:j1:``, and the HMAC-SHA256 ``cb:s2:`` and
  ``cb:js1:``) are read unchanged, and the uncompressed pickle and JSON formats are still the
  ones written.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from cache_bridge import values
from cache_bridge.values import signing

__all__ = ["MISSING", "ValueCodec"]

logger = logging.getLogger("django_cache_bridge")

#: Returned by :meth:`ValueCodec.loads` for a value that must be treated as a miss.
MISSING: Any = values.MISSING

# The signing primitives under their former names here (tests pin the MACs against Django's
# own salted_hmac).
_SALT = signing.SALT
_BLAKE_SALT = signing.BLAKE_SALT
_derive = signing.derive
_derive_blake = signing.derive_blake
_mac = signing.hmac_mac
_blake_mac = signing.blake_mac

_ring = signing.KeyRing()


def _derived_keys() -> signing.SigningKeys:
    """The keys of the current SECRET_KEY, then of its fallbacks: read on every use, since
    settings may change at run time (override_settings, or an assignment with no signal)."""
    return _ring.keys(settings.SECRET_KEY, getattr(settings, "SECRET_KEY_FALLBACKS", ()))


class ValueCodec(values.ValueCodec):
    """Encode and decode values for one alias, signed with Django's SECRET_KEY."""

    def __init__(
        self,
        serializer: str = "pickle",
        sign: bool = True,
        compressor: str | None = None,
        compress_min_bytes: int = values.DEFAULT_COMPRESS_MIN_BYTES,
        *,
        verified: values.Verified | None = None,
    ) -> None:
        super().__init__(
            serializer,
            sign,
            compressor=compressor,
            compress_min_bytes=compress_min_bytes,
            keys=_derived_keys,
            logger=logger,
            verified=verified,
        )

    @classmethod
    def for_alias(cls, config: Any) -> ValueCodec:
        """The codec an alias's checked configuration (``AliasSettings``, or None when it is
        invalid: the defaults) asks for. With the near cache on, it remembers the values it
        verified, as many as the near cache keeps (see :mod:`cache_bridge.values.verified`):
        a signed value served from process memory is verified once per fill, not per read.
        The memory is the process's, shared by every alias with the same near-cache bounds
        (Django makes a cache object per thread: one copy verified once, not once a thread)."""
        if config is None:
            return cls()
        store = config.settings
        near = bool(getattr(store, "near_cache", False))
        return cls(
            config.serializer,
            config.sign,
            config.compressor,
            config.compress_min_bytes,
            verified=_verified(store.near_cache_max_entries, store.near_cache_max_bytes)
            if near
            else None,
        )


#: The verified values of the aliases with a near cache, by its bounds (entries, bytes).
_remembered: dict[tuple[int, int], values.Verified] = {}


def _verified(entries: int, max_bytes: int) -> values.Verified:
    """The process's memory of verified values for near caches of these bounds. An entry says
    only "these bytes verified at this stored key under these signing keys", true whichever
    alias reads them, so aliases may share it."""
    bounds = (entries, max_bytes)
    found = _remembered.get(bounds)
    if found is None:
        found = _remembered.setdefault(bounds, values.Verified(entries, max_bytes))
    return found
