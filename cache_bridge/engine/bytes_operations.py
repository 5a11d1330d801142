"""Bytes-level operations for framework backends that store their own encodings (the Django
backend stores pickled, signed or JSON bytes and raw integers).

They are written like :mod:`cache_bridge.engine.operations` (one generator per operation, run by the
same drivers on either face through ``run_operation``), never raise, and follow the same key
rules. Expiries are in milliseconds: ``ttl_ms`` is ``None`` (never expires) or an ``int`` from
1 to ten years; frameworks turn their own "expire now" into a delete before calling.
"""

from __future__ import annotations

from cache_bridge.engine.commands import (
    Exists,
    Get,
    IncrByIfExists,
    MGet,
    Scan,
    SetBytes,
    SetManyBytes,
    Touch,
    Unlink,
)
from cache_bridge.engine.keys import MAX_TTL, InvalidArgument, KeySpace, check_amount
from cache_bridge.engine.operations import SCAN_BATCH, Op, Steps, operation

__all__ = [
    "MAX_TTL_MS",
    "Op",
    "add_bytes",
    "count_pattern",
    "delete_many",
    "get_bytes",
    "get_many_bytes",
    "has_key",
    "increment_existing",
    "set_bytes",
    "set_many_bytes",
    "touch",
]

#: Longest expiry accepted, in milliseconds (ten years).
MAX_TTL_MS = MAX_TTL * 1000


def _ttl_ms(ttl_ms: object) -> int | None:
    if ttl_ms is None:
        return None
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int):
        raise InvalidArgument(f"ttl_ms must be an int of milliseconds, not {type(ttl_ms).__name__}")
    if not 1 <= ttl_ms <= MAX_TTL_MS:
        raise InvalidArgument(f"ttl_ms must be between 1 and {MAX_TTL_MS}, not {ttl_ms}")
    return ttl_ms


def _data(data: object) -> bytes:
    if not isinstance(data, bytes):
        raise InvalidArgument(f"data must be bytes, not {type(data).__name__}")
    return data


def _as_bytes(raw: str | bytes | None) -> bytes | None:
    # The in-memory store keeps text written by the protocol as str; Redis replies bytes.
    return raw.encode("utf-8") if isinstance(raw, str) else raw


@operation("get")
def get_bytes(ns: KeySpace, key: object) -> Steps[bytes | None]:
    """The stored bytes, or ``None`` on a miss."""
    return _as_bytes((yield Get(ns.key(key))))


@operation("get_many", keyed=False)
def get_many_bytes(ns: KeySpace, keys: object) -> Steps[dict[str, bytes]]:
    """The stored bytes of every key that holds a value (misses are left out); one MGET."""
    full = ns.keys(keys)
    if not full:
        return {}
    assert isinstance(keys, list | tuple)
    raws = yield MGet(full)
    found: dict[str, bytes] = {}
    for key, raw in zip(keys, raws, strict=True):
        data = _as_bytes(raw)
        if data is not None:
            found[key] = data
    return found


@operation("set")
def set_bytes(ns: KeySpace, key: object, data: object, ttl_ms: object = None) -> Steps[None]:
    """Store ``data``; no ``ttl_ms`` clears any expiry."""
    yield SetBytes(ns.key(key), _data(data), _ttl_ms(ttl_ms))


@operation("add")
def add_bytes(ns: KeySpace, key: object, data: object, ttl_ms: object = None) -> Steps[bool]:
    """Store ``data`` only if ``key`` holds no live value; ``True`` if it was stored."""
    stored = yield SetBytes(ns.key(key), _data(data), _ttl_ms(ttl_ms), only_if_missing=True)
    return bool(stored)


@operation("set_many", keyed=False)
def set_many_bytes(ns: KeySpace, mapping: object, ttl_ms: object = None) -> Steps[None]:
    """Store every key atomically in one round trip, after checking all of them."""
    if not isinstance(mapping, dict):
        raise InvalidArgument(
            f"mapping must be a dict of str to bytes, not {type(mapping).__name__}"
        )
    expiry = _ttl_ms(ttl_ms)
    items = tuple((ns.key(k), _data(v)) for k, v in mapping.items())
    if items:
        yield SetManyBytes(items, expiry)


@operation("touch")
def touch(ns: KeySpace, key: object, ttl_ms: object = None) -> Steps[bool]:
    """Give a live key a new expiry (``None``: never); ``True`` if the key existed."""
    touched = yield Touch(ns.key(key), _ttl_ms(ttl_ms))
    return int(touched) > 0


@operation("increment")
def increment_existing(ns: KeySpace, key: object, amount: object = 1) -> Steps[int | None]:
    """Atomically add ``amount`` to an existing integer; ``None`` if the key is missing."""
    full = ns.key(key)
    result = yield IncrByIfExists(full, check_amount(amount))
    return None if result is None else int(result)


@operation("has_key")
def has_key(ns: KeySpace, key: object) -> Steps[bool]:
    """Whether ``key`` holds a live value."""
    return int((yield Exists(ns.key(key)))) > 0


@operation("delete_many", keyed=False)
def delete_many(ns: KeySpace, keys: object) -> Steps[int]:
    """Remove every key (one UNLINK); the number removed."""
    full = ns.keys(keys)
    if not full:
        return 0
    return int((yield Unlink(full)))


@operation("count_pattern", keyed=False)
def count_pattern(ns: KeySpace, pattern: object) -> Steps[int]:
    """How many keys ``delete_pattern`` would remove now (SCAN only, nothing is deleted)."""
    match = ns.pattern(pattern)
    counted = 0
    cursor = 0
    while True:
        cursor, found = yield Scan(cursor, match, SCAN_BATCH)
        counted += len(found)
        if int(cursor) == 0:
            return counted
