"""The value codec shared by the integrations: serializers (pickle, JSON, msgpack),
compression (zlib, zstd, lz4) and signing, behind one versioned header on every stored value.

Framework-free: the integrations supply the secret (``SECRET_KEY`` and its fallbacks) through a
:class:`KeyRing`. See ``docs/values.md``.
"""

from __future__ import annotations

from cache_bridge.values.codec import (
    DEFAULT_COMPRESS_MIN_BYTES,
    DEFAULT_MAX_VALUE_BYTES,
    MISSING,
    ValueCodec,
    check_codec_options,
)
from cache_bridge.values.compressors import COMPRESSORS, available
from cache_bridge.values.serializers import SERIALIZERS
from cache_bridge.values.signing import KeyRing, SigningKeys
from cache_bridge.values.verified import Verified

__all__ = [
    "COMPRESSORS",
    "DEFAULT_COMPRESS_MIN_BYTES",
    "DEFAULT_MAX_VALUE_BYTES",
    "MISSING",
    "SERIALIZERS",
    "KeyRing",
    "SigningKeys",
    "ValueCodec",
    "Verified",
    "available",
    "check_codec_options",
]
