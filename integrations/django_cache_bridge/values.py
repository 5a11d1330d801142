"""How BridgeCache turns Python values into stored bytes and back.

- ``int`` values in signed 64 bits are stored as decimal text, as Redis counters are, so
  ``incr`` is one atomic command and the protocol's ``increment`` sees the same number. They
  are never signed (a MAC would make them something ``INCRBY`` cannot add to).
- Anything else is pickled (or JSON-encoded) behind a format marker. With ``sign=True`` (the
  default) both pickles and JSON are signed with a keyed MAC (keyed BLAKE2b, 32 bytes) whose
  key is derived from ``SECRET_KEY``, bound to the format and the stored key: a value whose
  signature does not verify under ``SECRET_KEY`` or one of ``SECRET_KEY_FALLBACKS``, or whose
  format this alias does not read, is never unpickled (nor parsed); it is a miss and a logged
  warning, and the backend drops it (see :mod:`cache_bridge.engine.bytes_operations`).
  Values written before the switch to BLAKE2b (markers ``cb:s2:`` and ``cb:js1:``,
  HMAC-SHA256) still verify and are read; new writes use ``cb:s3:`` and ``cb:js2:``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import pickle
import re
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.utils.encoding import force_bytes

from cache_bridge.engine import bytes_operations

__all__ = ["MISSING", "ValueCodec"]

logger = logging.getLogger("django_cache_bridge")

_INTEGER = re.compile(rb"0|-?[1-9][0-9]{0,18}")
_INT64 = 2**63
#: Signed pickle: marker + keyed BLAKE2b MAC + pickle.
_SIGNED = b"cb:s3:"
#: Signed pickle written before BLAKE2b: marker + HMAC-SHA256 + pickle; still read. (``cb:s1:``
#: used an ambiguous MAC input; such values are no longer read.)
_SIGNED_HMAC = b"cb:s2:"
_PICKLED = b"cb:p1:"
#: Signed JSON: marker + keyed BLAKE2b MAC + UTF-8 JSON.
_SIGNED_JSON = b"cb:js2:"
#: Signed JSON written before BLAKE2b: marker + HMAC-SHA256 + UTF-8 JSON; still read.
_SIGNED_JSON_HMAC = b"cb:js1:"
_JSON = b"cb:j1:"
_MAC_SIZE = 32
_SALT = "django_cache_bridge.values"
#: The BLAKE2b keys' salt: not _SALT, so no BLAKE2b key equals an HMAC key.
_BLAKE_SALT = "django_cache_bridge.values.blake2b"

#: Returned by :meth:`ValueCodec.loads` for a value that must be treated as a miss (the
#: engine's: a ValueCodec is the decoder of the backend's ``*_readable`` operations).
MISSING: Any = bytes_operations.MISSING


class _HmacKey:
    """HMAC-SHA256 (RFC 2104) under one key, its padded-key hash states computed once: each
    MAC then costs two SHA-256 copies and updates instead of a fresh HMAC set-up."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        padded = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


_BLOCK = 64  # SHA-256's block size


def _mac(marker: bytes, key: str, payload: bytes, secret: _HmacKey) -> bytes:
    """HMAC-SHA256 over the format marker, the length-prefixed key and the payload: no two
    (marker, key, payload) triples give the same message. ``secret`` is a derived key from
    :func:`_derive`."""
    return secret.digest(_mac_input(marker, key, payload))


class _BlakeKey:
    """Keyed BLAKE2b (a MAC by design: RFC 7693, section 2.5) with a 32-byte digest under one
    key, its keyed initial state computed once: each MAC then costs one copy and updates."""

    __slots__ = ("state",)

    def __init__(self, key: bytes) -> None:
        self.state = hashlib.blake2b(key=key, digest_size=_MAC_SIZE)

    def digest(self, message: bytes) -> bytes:
        state = self.state.copy()
        state.update(message)
        return state.digest()


def _mac_input(marker: bytes, key: str, payload: bytes) -> bytes:
    key_bytes = key.encode("utf-8")
    return marker + len(key_bytes).to_bytes(4, "big") + key_bytes + payload


def _blake_mac(marker: bytes, key: str, payload: bytes, secret: _BlakeKey) -> bytes:
    """Keyed BLAKE2b over the same unambiguous message as :func:`_mac`."""
    return secret.digest(_mac_input(marker, key, payload))


class _Keys:
    """The keys derived from SECRET_KEY then from each of SECRET_KEY_FALLBACKS, in order."""

    __slots__ = ("blake", "current", "fallbacks", "hmac", "secret")

    def __init__(self, secret: str | bytes, fallbacks: list[str | bytes]) -> None:
        # What they were derived from, compared on every use: settings may change at run
        # time (override_settings, or an assignment that sends no signal) and in any thread.
        self.secret = secret
        self.fallbacks = fallbacks
        secrets = [secret, *fallbacks]
        self.hmac = [_derive(secret) for secret in secrets]
        self.blake = [_derive_blake(secret) for secret in secrets]
        self.current = self.blake[0]


# The derived keys of SECRET_KEY and its fallbacks; the HMAC ones as Django's
# salted_hmac(_SALT, ..., algorithm="sha256") derives them (so stored MACs are unchanged);
# computed once per change of the secrets rather than once per value.
_derived: dict[str, _Keys] = {}


def _derive(secret: str | bytes) -> _HmacKey:
    return _HmacKey(hashlib.sha256(force_bytes(_SALT) + force_bytes(secret)).digest())


def _derive_blake(secret: str | bytes) -> _BlakeKey:
    return _BlakeKey(hashlib.sha256(force_bytes(_BLAKE_SALT) + force_bytes(secret)).digest())


def _derived_keys() -> _Keys:
    """The derived keys: the current SECRET_KEY's first, then its fallbacks'."""
    secret = settings.SECRET_KEY
    fallbacks = list(getattr(settings, "SECRET_KEY_FALLBACKS", []))
    keys = _derived.get("keys")
    if keys is None or keys.secret != secret or keys.fallbacks != fallbacks:
        keys = _derived["keys"] = _Keys(secret, fallbacks)
    return keys


def _check_json_keys(value: Any) -> None:
    """Raise TypeError if any dict in ``value`` has a key that is not a ``str`` (``json``
    would silently turn ``1``, ``True`` or ``None`` into strings)."""
    stack = [value]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if id(item) in seen:
                continue
            seen.add(id(item))
            for name, inner in item.items():
                if not isinstance(name, str):
                    raise TypeError(
                        "the JSON serializer stores dicts with str keys only, not "
                        f"{type(name).__name__} key {name!r:.40}"
                    )
                stack.append(inner)
        elif isinstance(item, list | tuple):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item)


class ValueCodec:
    """Encode and decode values for one alias (``serializer`` is ``pickle`` or ``json``)."""

    def __init__(self, serializer: str = "pickle", sign: bool = True) -> None:
        self.serializer = serializer
        self.sign = sign

    def dumps(self, key: str, value: Any) -> bytes:
        """The stored form of ``value`` at ``key``; unpicklable or non-JSON values raise."""
        if type(value) is int and -_INT64 <= value < _INT64:
            return str(value).encode("ascii")
        if self.serializer == "json":
            text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            _check_json_keys(value)
            return self._wrap(key, _SIGNED_JSON, _JSON, text.encode("utf-8"))
        payload = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        return self._wrap(key, _SIGNED, _PICKLED, payload)

    def _wrap(self, key: str, signed: bytes, unsigned: bytes, payload: bytes) -> bytes:
        if self.sign:
            return signed + _blake_mac(signed, key, payload, _derived_keys().current) + payload
        return unsigned + payload

    def loads_many(
        self, keys: Sequence[str], raws: Sequence[bytes | None]
    ) -> tuple[dict[str, Any], list[str]]:
        """The values stored as ``raws`` at ``keys`` (``None``: absent) and the keys whose
        values are unreadable (logged, as :meth:`loads` logs them). Values in the current
        format signed with the current SECRET_KEY take a fast path with the same checks;
        everything else goes through :meth:`loads`."""
        found: dict[str, Any] = {}
        unreadable: list[str] = []
        if self.sign:
            marker = _SIGNED_JSON if self.serializer == "json" else _SIGNED
            decode: Callable[[bytes], Any] = (
                json.loads if self.serializer == "json" else pickle.loads
            )
            state = _derived_keys().current.state
        else:
            marker = _JSON if self.serializer == "json" else _PICKLED
            decode = json.loads if self.serializer == "json" else pickle.loads
            state = None
        start = len(marker)
        end = start + _MAC_SIZE if state is not None else start
        compare = hmac.compare_digest
        for key, data in zip(keys, raws, strict=True):
            if data is None:
                continue
            value = MISSING
            if data.startswith(marker):
                payload = data[end:]
                if state is not None:
                    key_bytes = key.encode("utf-8")
                    mac = state.copy()
                    mac.update(marker + len(key_bytes).to_bytes(4, "big") + key_bytes)
                    mac.update(payload)
                    if compare(mac.digest(), data[start:end]):
                        try:
                            value = decode(payload)
                        except Exception:
                            value = MISSING  # loads below logs why
                else:
                    try:
                        value = decode(payload)
                    except Exception:
                        value = MISSING
            if value is MISSING:
                # Integers, older formats, fallback keys, and anything that fails: the
                # general path, which also logs what is wrong.
                value = self.loads(key, data)
                if value is MISSING:
                    unreadable.append(key)
                    continue
            found[key] = value
        return found, unreadable

    def loads(self, key: str, data: bytes) -> Any:
        """The value stored as ``data`` at ``key``, or :data:`MISSING` (logged) if it is
        tampered, foreign or undecodable."""
        # Every other format starts with its "cb:" marker, which no integer does.
        if not data.startswith(b"cb:") and _INTEGER.fullmatch(data) is not None:
            number = int(data)
            if -_INT64 <= number < _INT64:
                return number
            logger.warning(
                "cache value at %r is an integer outside signed 64 bits, which this cache "
                "never stores as text; treated as a miss",
                key,
            )
            return MISSING
        try:
            if self.serializer == "json":
                if self.sign and data.startswith(_SIGNED_JSON):
                    return self._verified(key, _SIGNED_JSON, data, json.loads, _blake_mac)
                if self.sign and data.startswith(_SIGNED_JSON_HMAC):
                    return self._verified(key, _SIGNED_JSON_HMAC, data, json.loads, _mac)
                if not self.sign and data.startswith(_JSON):
                    return json.loads(data[len(_JSON) :])
            else:
                if self.sign and data.startswith(_SIGNED):
                    return self._verified(key, _SIGNED, data, pickle.loads, _blake_mac)
                if self.sign and data.startswith(_SIGNED_HMAC):
                    return self._verified(key, _SIGNED_HMAC, data, pickle.loads, _mac)
                if not self.sign and data.startswith(_PICKLED):
                    return pickle.loads(data[len(_PICKLED) :])
        except Exception as exc:
            logger.warning(
                "cache value at %r could not be decoded (%s); treated as a miss", key, exc
            )
            return MISSING
        logger.warning(
            "cache value at %r is not in a format this cache reads (serializer=%s, sign=%s); "
            "treated as a miss",
            key,
            self.serializer,
            self.sign,
        )
        return MISSING

    def _verified(
        self,
        key: str,
        marker: bytes,
        data: bytes,
        decode: Callable[[bytes], Any],
        sign: Callable[[bytes, str, bytes, Any], bytes],
    ) -> Any:
        signed = data[len(marker) :]
        mac, payload = signed[:_MAC_SIZE], signed[_MAC_SIZE:]
        keys = _derived_keys()
        for secret in keys.blake if sign is _blake_mac else keys.hmac:
            if hmac.compare_digest(mac, sign(marker, key, payload, secret)):
                return decode(payload)
        logger.warning(
            "cache value at %r has a bad signature (tampered, or signed with another "
            "SECRET_KEY); treated as a miss, not decoded",
            key,
        )
        return MISSING
