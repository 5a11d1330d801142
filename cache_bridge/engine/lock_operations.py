"""The steps of a distributed lock (:mod:`cache_bridge.locks`), written once for every adapter
and both faces: take it (``SET NX PX`` with an owner token), give it back (compare-and-delete
in one step), extend or renew its expiry (owner only), and ask who holds it.

A lock's key holds its owner's token: :data:`LOCK_MARKER` followed by 32 random hex digits, so
that the readable-value operations can tell a held lock from an unreadable value (a lock is
a key but no value, and is never dropped; anything else unreadable is).
"""

from __future__ import annotations

import re
import secrets

from cache_bridge.engine.commands import (
    CompareAndDelete,
    CompareAndExpire,
    Exists,
    Get,
    SetBytes,
)
from cache_bridge.engine.keys import InvalidArgument, KeySpace
from cache_bridge.engine.operations import Steps, operation

__all__ = [
    "LOCK_MARKER",
    "extend_lock",
    "is_lock_token",
    "lock_held",
    "lock_owned",
    "new_token",
    "release_lock",
    "take_lock",
]

#: How every lock token starts.
LOCK_MARKER = b"cb:lock:"
_TOKEN = re.compile(re.escape(LOCK_MARKER) + rb"[0-9a-f]{32}")


def new_token() -> bytes:
    """A fresh owner token (128 random bits; never a uuid1, which leaks the host and time)."""
    return LOCK_MARKER + secrets.token_hex(16).encode("ascii")


def is_lock_token(data: bytes) -> bool:
    """Whether stored bytes are a lock's token: :data:`LOCK_MARKER` and exactly 32 lowercase
    hex digits, nothing else (so a value that merely starts like one is a value)."""
    return len(data) == len(LOCK_MARKER) + 32 and _TOKEN.fullmatch(data) is not None


def _token(token: object) -> bytes:
    if not isinstance(token, bytes) or not is_lock_token(token):
        raise InvalidArgument("token must be bytes from new_token()")
    return token


def _ttl_ms(ttl_ms: object) -> int | None:
    if ttl_ms is None:
        return None
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 1:
        raise InvalidArgument(f"the lock's timeout must be at least 1 ms, not {ttl_ms!r}")
    return ttl_ms


@operation("lock_acquire")
def take_lock(ns: KeySpace, key: object, token: object, ttl_ms: object = None) -> Steps[bool]:
    """Take the lock at ``key`` for ``token`` if nobody holds it; whether it was taken. It
    expires after ``ttl_ms`` (``None``: never)."""
    stored = yield SetBytes(ns.key(key), _token(token), _ttl_ms(ttl_ms), only_if_missing=True)
    return bool(stored)


@operation("lock_release")
def release_lock(ns: KeySpace, key: object, token: object) -> Steps[bool]:
    """Give the lock back if ``token`` holds it (one atomic compare-and-delete); whether it
    did (``False``: it expired, or another owner holds it now)."""
    return int((yield CompareAndDelete(ns.key(key), _token(token)))) == 1


@operation("lock_extend")
def extend_lock(
    ns: KeySpace, key: object, token: object, ttl_ms: object, add: bool = True
) -> Steps[int]:
    """If ``token`` holds the lock: add ``ttl_ms`` to its time left (``add``) or make it
    expire in ``ttl_ms``. 1 if done, 0 if not the owner, -1 if it has no expiry to add to."""
    full = ns.key(key)
    expiry = _ttl_ms(ttl_ms)
    if expiry is None:
        raise InvalidArgument("extend and reacquire need a timeout in milliseconds")
    return int((yield CompareAndExpire(full, _token(token), expiry, add)))


@operation("lock_locked")
def lock_held(ns: KeySpace, key: object) -> Steps[bool]:
    """Whether anyone holds the lock at ``key``."""
    return int((yield Exists(ns.key(key)))) > 0


@operation("lock_owned")
def lock_owned(ns: KeySpace, key: object, token: object) -> Steps[bool]:
    """Whether ``token`` holds the lock at ``key``."""
    stored = yield Get(ns.key(key))
    if isinstance(stored, str):
        stored = stored.encode("utf-8")
    return bool(stored == _token(token))
