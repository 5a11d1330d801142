"""Signing stored values: keyed MACs bound to the format marker and the stored key.

New values are signed with keyed BLAKE2b (RFC 7693, section 2.5; a MAC by design) with a
32-byte digest; values signed with HMAC-SHA256 by older releases still verify. Both MACs cover
the same unambiguous message: the marker, the stored key (length-prefixed) and the stored
payload, so a value moved to another key, or relabelled as another format, does not verify.

The keys are derived from a secret (Django's ``SECRET_KEY``, Flask's ``SECRET_KEY``) and its
fallbacks, once per change of the secrets. The salts keep their historical names (the values
already stored were signed under them).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Sequence

__all__ = [
    "BLAKE_SALT",
    "MAC_SIZE",
    "SALT",
    "BlakeKey",
    "HmacKey",
    "KeyRing",
    "SigningKeys",
    "blake_mac",
    "derive",
    "derive_blake",
    "hmac_mac",
    "mac_input",
    "verify",
]

MAC_SIZE = 32
#: The HMAC-SHA256 keys' salt (as Django's ``salted_hmac(SALT, ..., algorithm="sha256")``).
SALT = "django_cache_bridge.values"
#: The BLAKE2b keys' salt: not SALT, so no BLAKE2b key equals an HMAC key.
BLAKE_SALT = "django_cache_bridge.values.blake2b"
_BLOCK = 64  # SHA-256's block size

Secret = str | bytes


def _bytes(secret: Secret) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)


class HmacKey:
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


class BlakeKey:
    """Keyed BLAKE2b with a 32-byte digest under one key, its keyed initial state computed
    once: each MAC then costs one copy and updates."""

    __slots__ = ("state",)

    def __init__(self, key: bytes) -> None:
        self.state = hashlib.blake2b(key=key, digest_size=MAC_SIZE)

    def digest(self, message: bytes) -> bytes:
        state = self.state.copy()
        state.update(message)
        return state.digest()

    def digest_parts(self, head: bytes, payload: bytes) -> bytes:
        """:meth:`digest` of ``head + payload``, without copying the payload into it."""
        state = self.state.copy()
        state.update(head)
        state.update(payload)
        return state.digest()


def mac_head(marker: bytes, key: str) -> bytes:
    """What :func:`mac_input` puts before the payload."""
    key_bytes = key.encode("utf-8")
    return marker + len(key_bytes).to_bytes(4, "big") + key_bytes


def mac_input(marker: bytes, key: str, payload: bytes) -> bytes:
    """The message a MAC covers: no two (marker, key, payload) triples give the same one."""
    return mac_head(marker, key) + payload


def hmac_mac(marker: bytes, key: str, payload: bytes, secret: HmacKey) -> bytes:
    """HMAC-SHA256 of :func:`mac_input` (the older formats)."""
    return secret.digest(mac_input(marker, key, payload))


def blake_mac(marker: bytes, key: str, payload: bytes, secret: BlakeKey) -> bytes:
    """Keyed BLAKE2b of :func:`mac_input` (every format written today), taken in two parts:
    the payload is never copied into the message."""
    return secret.digest_parts(mac_head(marker, key), payload)


def derive(secret: Secret) -> HmacKey:
    """The HMAC key of ``secret``, derived as Django's ``salted_hmac`` derives it."""
    return HmacKey(hashlib.sha256(_bytes(SALT) + _bytes(secret)).digest())


def derive_blake(secret: Secret) -> BlakeKey:
    """The BLAKE2b key of ``secret``."""
    return BlakeKey(hashlib.sha256(_bytes(BLAKE_SALT) + _bytes(secret)).digest())


class SigningKeys:
    """The keys derived from a secret, then from each of its fallbacks, in order."""

    __slots__ = ("blake", "current", "fallbacks", "hmac", "secret")

    def __init__(self, secret: Secret, fallbacks: Sequence[Secret] = ()) -> None:
        self.secret = secret
        self.fallbacks = list(fallbacks)
        secrets = [secret, *self.fallbacks]
        self.hmac = [derive(each) for each in secrets]
        self.blake = [derive_blake(each) for each in secrets]
        self.current = self.blake[0]


def verify(marker: bytes, key: str, payload: bytes, mac: bytes, keys: SigningKeys) -> bool:
    """Whether ``mac`` is the BLAKE2b MAC of (marker, key, payload) under any of ``keys``."""
    # A loop, not any() over a generator: this runs on every signed read.
    head = mac_head(marker, key)
    for secret in keys.blake:
        if hmac.compare_digest(mac, secret.digest_parts(head, payload)):
            return True
    return False


class KeyRing:
    """The :class:`SigningKeys` of the secrets last asked for, derived again only when the
    secrets change (settings may change at run time, in any thread)."""

    def __init__(self) -> None:
        self._keys: SigningKeys | None = None
        self._lock = threading.Lock()

    def keys(self, secret: Secret, fallbacks: Sequence[Secret] = ()) -> SigningKeys:
        keys = self._keys
        # (a list of fallbacks, as Django's setting is, is compared without a copy: this runs
        # on every signed read)
        if (
            keys is None
            or keys.secret != secret
            or keys.fallbacks != (fallbacks if type(fallbacks) is list else list(fallbacks))
        ):
            with self._lock:
                keys = self._keys = SigningKeys(secret, fallbacks)
        return keys
