"""The value codec: how a Python value becomes the bytes a cache stores, and back.

Every stored value starts with a header saying how it was written (see :mod:`.header`), so
changing the serializer or the compressor never breaks reading what is already stored:

- ``int`` values in signed 64 bits are stored as decimal text, as Redis counters are, never
  signed (a MAC would make them something ``INCRBY`` cannot add to).
- Anything else is serialized (pickle, JSON or msgpack), compressed when it is at least
  ``compress_min_bytes`` long and the compressor makes it smaller, then, with ``sign=True``
  (the default), signed with a keyed MAC bound to the header and the stored key.

Reading checks the signature **before** decompressing (a forged value never reaches a
decompressor) and caps the decompressed size. A value that is tampered, foreign, too large,
written by a compressor whose extra is not installed, or written by another serializer, is
:data:`MISSING` (a miss) and a logged warning.
"""

from __future__ import annotations

import hmac
import importlib
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from cache_bridge.engine.bytes_operations import MISSING
from cache_bridge.errors import ConfigurationError
from cache_bridge.values import header
from cache_bridge.values.compressors import COMPRESSORS, TooLarge, available, compressor
from cache_bridge.values.serializers import SERIALIZERS, Serializer, serializer
from cache_bridge.values.signing import MAC_SIZE, SigningKeys, blake_mac, hmac_mac, verify
from cache_bridge.values.verified import Verified

__all__ = [
    "DEFAULT_COMPRESS_MIN_BYTES",
    "DEFAULT_MAX_VALUE_BYTES",
    "MISSING",
    "ValueCodec",
    "check_codec_options",
]

_INTEGER = re.compile(rb"0|-?[1-9][0-9]{0,18}")
_INT64 = 2**63
#: Values shorter than this are not compressed (compression rarely pays below it).
DEFAULT_COMPRESS_MIN_BYTES = 1024
#: The largest value a compressed payload may decompress to: Redis's largest string.
DEFAULT_MAX_VALUE_BYTES = 512 * 1024 * 1024


def _no_keys() -> SigningKeys:
    raise ConfigurationError("a signing ValueCodec needs keys= (the secret and its fallbacks)")


def check_codec_options(
    serializer: object, compressor: object, compress_min_bytes: object, where: str = ""
) -> None:
    """Raise ConfigurationError, saying what to write instead, unless the three options name
    a serializer, a compressor (None or ``"none"``: no compression) whose package is installed,
    and a size. ``where`` names the setting in the messages (``"OPTIONS"``: OPTIONS['...'])."""

    def name(option: str) -> str:
        return f"{where}[{option!r}]" if where else option

    if serializer not in SERIALIZERS:
        raise ConfigurationError(
            f"{name('serializer')} must be 'pickle' or 'json' or 'msgpack' (the [msgpack] "
            f"extra), not {serializer!r}"
        )
    if serializer == "msgpack" and not _installed("msgpack"):
        raise ConfigurationError(
            f"{name('serializer')} 'msgpack' needs the msgpack package: "
            "pip install 'cache-bridge[msgpack]' (or use 'json')"
        )
    if compressor not in (None, "none"):
        if not isinstance(compressor, str) or compressor not in COMPRESSORS:
            raise ConfigurationError(
                f"{name('compressor')} must be None, 'zlib', 'zstd' or 'lz4', not {compressor!r}"
            )
        if not available(compressor):
            raise ConfigurationError(
                f"{name('compressor')} {compressor!r} needs its package: "
                f"pip install 'cache-bridge[{compressor}]' (or use 'zlib', always available)"
            )
    if (
        isinstance(compress_min_bytes, bool)
        or not isinstance(compress_min_bytes, int)
        or compress_min_bytes < 0
    ):
        raise ConfigurationError(
            f"{name('compress_min_bytes')} must be an int of bytes >= 0, not {compress_min_bytes!r}"
        )


def _installed(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


class ValueCodec:
    """Encode and decode values for one cache: ``serializer`` is ``"pickle"`` (the default),
    ``"json"`` or ``"msgpack"``; ``compressor`` None (the default), ``"zlib"``, ``"zstd"`` or
    ``"lz4"``; ``keys`` gives the current :class:`SigningKeys` (called on every use, so a
    rotated secret is followed). With ``verified`` (a :class:`Verified` with room, which codecs
    may share), a signed value read again as the very bytes object already verified at its key
    under the same keys is not verified again (see :mod:`cache_bridge.values.verified`: for
    values served from process memory).
    Configuration mistakes raise ConfigurationError."""

    def __init__(
        self,
        serializer: str = "pickle",
        sign: bool = True,
        *,
        compressor: str | None = None,
        compress_min_bytes: int = DEFAULT_COMPRESS_MIN_BYTES,
        keys: Callable[[], SigningKeys] = _no_keys,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
        logger: logging.Logger | None = None,
        verified: Verified | None = None,
    ) -> None:
        compressor = None if compressor in (None, "none") else compressor
        check_codec_options(serializer, compressor, compress_min_bytes)
        self.serializer = serializer
        self.sign = sign
        self.compressor = compressor
        self.compress_min_bytes = compress_min_bytes
        self.max_value_bytes = max_value_bytes
        self.keys = keys
        self.log = logger or logging.getLogger("cache_bridge.values")
        self._writer = _serializer(serializer)
        self._plain = header.plain_marker(self._writer.letter, sign)
        #: Signed values already verified (see :class:`Verified`); none kept by default.
        self.verified = verified if verified is not None else Verified(0)

    def dumps(self, key: str, value: Any) -> bytes:
        """The stored form of ``value`` at ``key``; values the serializer cannot write raise
        (``TypeError``/``ValueError`` for JSON and msgpack, pickling errors for pickle)."""
        if type(value) is int and -_INT64 <= value < _INT64:
            return str(value).encode("ascii")
        payload = self._writer.dumps(value)
        marker = self._plain
        if self.compressor is not None and len(payload) >= self.compress_min_bytes:
            packer = _compressor(self.compressor)
            packed = packer.compress(payload)
            if len(packed) < len(payload):
                payload = packed
                marker = header.marker(self._writer.letter, packer.letter, self.sign)
        if self.sign:
            return marker + blake_mac(marker, key, payload, self.keys().current) + payload
        return marker + payload

    def loads(self, key: str, data: bytes) -> Any:
        """The value stored as ``data`` at ``key``, or :data:`MISSING` (logged) if it is
        tampered, foreign, too large or undecodable."""
        if data.startswith(self._plain):
            # The format this codec writes (most reads): the checks of loads_current; only a
            # value they refuse takes the way below, which says why.
            value = self.loads_current(key, data)
            if value is not MISSING:
                return value
        # Every other format starts with its "cb:" marker, which no integer does.
        if not data.startswith(b"cb:") and _INTEGER.fullmatch(data) is not None:
            number = int(data)
            if -_INT64 <= number < _INT64:
                return number
            self.log.warning(
                "cache value at %r is an integer outside signed 64 bits, which this cache "
                "never stores as text; treated as a miss",
                key,
            )
            return MISSING
        form = header.parse(data)
        reader = None if form is None else _serializer_or_none(form.serializer)
        if form is None or reader is None or not self._reads(form, reader):
            self.log.warning(
                "cache value at %r is not in a format this cache reads (serializer=%s, "
                "sign=%s); treated as a miss",
                key,
                self.serializer,
                self.sign,
            )
            return MISSING
        payload = data[len(form.marker) :]
        if form.signed:
            mac, payload = payload[:MAC_SIZE], payload[MAC_SIZE:]
            keys = self.keys()
            if not self.verified.holds(key, data, keys):
                if not self._verified(form, key, payload, mac, keys):
                    self.log.warning(
                        "cache value at %r has a bad signature (tampered, or signed with "
                        "another secret key); treated as a miss, not decoded",
                        key,
                    )
                    return MISSING
                self.verified.add(key, data, keys)
        return self._decoded(key, form, reader, payload)

    def loads_current(self, key: str, data: bytes) -> Any:
        """The value stored as ``data`` at ``key`` when it is uncompressed, in the format this
        codec writes and (when signing) signed with one of its keys; else :data:`MISSING`,
        **not** logged: the caller then asks :meth:`loads`, which says why. The same checks as
        :meth:`loads`, the signature skipped only for the very bytes object it verified
        before at ``key`` under the same keys (see :class:`Verified`)."""
        marker = self._plain
        if not data.startswith(marker):
            return MISSING
        start = len(marker)
        if self.sign:
            keys = self.keys()
            payload = data[start + MAC_SIZE :]
            verified = self.verified
            # (a Verified with no room keeps nothing: then neither holds nor add is asked)
            if not (verified.entries and verified.holds(key, data, keys)):
                if not verify(marker, key, payload, data[start : start + MAC_SIZE], keys):
                    return MISSING
                if verified.entries:
                    verified.add(key, data, keys)
        else:
            payload = data[start:]
        try:
            return self._writer.loads(payload)
        except Exception:
            return MISSING

    def _reads(self, form: header.Form, reader: Serializer) -> bool:
        if form.signed != self.sign:
            return False
        # A value of another serializer is a miss, as before version 2 (a JSON codec promises
        # never to unpickle; switching serializers acts as a change of key version).
        return reader.name == self.serializer

    def _verified(
        self, form: header.Form, key: str, payload: bytes, mac: bytes, keys: SigningKeys
    ) -> bool:
        if not form.hmac:
            return verify(form.marker, key, payload, mac, keys)
        return any(
            hmac.compare_digest(mac, hmac_mac(form.marker, key, payload, secret))
            for secret in keys.hmac
        )

    def _decoded(self, key: str, form: header.Form, reader: Serializer, payload: bytes) -> Any:
        try:
            if form.compressor is not None:
                unpacker = compressor(form.compressor)
                if unpacker is None or not available(unpacker.name):
                    name = unpacker.name if unpacker else repr(form.compressor)
                    self.log.warning(
                        "cache value at %r is compressed with %s, whose package is not "
                        "installed here; treated as a miss",
                        key,
                        name,
                    )
                    return MISSING
                payload = unpacker.decompress(payload, self.max_value_bytes)
            return reader.loads(payload)
        except TooLarge as exc:
            self.log.warning("cache value at %r is refused (%s); treated as a miss", key, exc)
        except Exception as exc:
            self.log.warning(
                "cache value at %r could not be decoded (%s); treated as a miss", key, exc
            )
        return MISSING

    def loads_many(
        self, keys: Sequence[str], raws: Sequence[bytes | None]
    ) -> tuple[dict[str, Any], list[str]]:
        """The values stored as ``raws`` at ``keys`` (``None``: absent) and the keys whose
        values are unreadable (logged, as :meth:`loads` logs them). Uncompressed values in
        the current format signed with the current secret take a fast path with the same
        checks; everything else goes through :meth:`loads`."""
        found: dict[str, Any] = {}
        unreadable: list[str] = []
        marker = self._plain
        decode = self._writer.loads
        signing_keys = self.keys() if self.sign else None
        start = len(marker)
        end = start + MAC_SIZE if signing_keys is not None else start
        compare = hmac.compare_digest
        verified = self.verified
        # (None when no verified value is kept: then every value is verified, and neither
        # holds nor add is called for nothing)
        kept = verified if verified.entries else None
        for key, data in zip(keys, raws, strict=True):
            if data is None:
                continue
            value = MISSING
            if data.startswith(marker):
                payload = data[end:]
                readable = True
                if signing_keys is not None and (
                    kept is None or not kept.holds(key, data, signing_keys)
                ):
                    mac = blake_mac(marker, key, payload, signing_keys.current)
                    readable = compare(mac, data[start:end])
                    if readable and kept is not None:
                        kept.add(key, data, signing_keys)
                if readable:
                    try:
                        value = decode(payload)
                    except Exception:
                        value = MISSING  # loads below logs why
            if value is MISSING:
                value = self.loads(key, data)
                if value is MISSING:
                    unreadable.append(key)
                    continue
            found[key] = value
        return found, unreadable


def _serializer(name: str) -> Serializer:
    found = serializer(name)
    assert found is not None  # checked by check_codec_options
    return found


def _serializer_or_none(letter: bytes) -> Serializer | None:
    return serializer(letter)


def _compressor(name: str) -> Any:
    return compressor(name)
