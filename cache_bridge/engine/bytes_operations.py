"""Bytes-level operations for framework backends that store their own encodings (the Django
backend stores pickled, signed or JSON bytes and raw integers).

They are written like :mod:`cache_bridge.engine.operations` (one generator per operation, run by the
same drivers on either face through ``run_operation``), never raise, and follow the same key
rules. Expiries are in milliseconds: ``ttl_ms`` is ``None`` (never expires) or an ``int`` from
1 to ten years; frameworks turn their own "expire now" into a delete before calling.

The ``*_readable`` operations take a :class:`Decoder` (the framework's value format): a stored
value it cannot read (tampered, foreign, signed with a retired secret, another format) counts
as no value and is deleted. Left in place it would block its key: ``add`` would refuse to
write over it and a "get or set" would recompute forever. A cache may always drop an entry.
The read and the delete are two commands, so a valid value written by another client in
between is deleted too: that costs that client a miss, never a wrong value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

from cache_bridge.engine.commands import (
    Exists,
    Get,
    IncrByIfExists,
    MGet,
    SetBytes,
    SetManyBytes,
    Touch,
    Unlink,
)
from cache_bridge.engine.keys import (
    MAX_TTL,
    InvalidArgument,
    KeySpace,
    check_amount,
    escape_glob,
)
from cache_bridge.engine.lock_operations import is_lock_token
from cache_bridge.engine.operations import Op, Steps, operation, scan_matching

__all__ = [
    "MAX_TTL_MS",
    "MISSING",
    "UNPREFIXED",
    "Decoder",
    "InvalidArgument",
    "KeyFilter",
    "Op",
    "add_bytes",
    "add_readable",
    "count_pattern",
    "delete_many",
    "delete_pattern",
    "escape_glob",
    "get_bytes",
    "get_many_bytes",
    "get_many_readable",
    "get_readable",
    "has_key",
    "has_readable",
    "increment_existing",
    "set_bytes",
    "set_many_bytes",
    "touch",
    "touch_readable",
]

#: Longest expiry accepted, in milliseconds (ten years).
MAX_TTL_MS = MAX_TTL * 1000
#: The namespace of a framework that makes the full keys itself (Django's
#: ``KEY_PREFIX:VERSION:key``): keys are stored as written, after the usual checks.
UNPREFIXED: Final = KeySpace(None)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: No readable value: what a ``*_readable`` read returns for a miss, and what a
#: :class:`Decoder` returns for bytes it cannot read.
MISSING: Any = _Missing()

#: Whether a stored key (``str`` or ``bytes``, as SCAN replies) is one to count or delete.
KeyFilter = Callable[[str | bytes], bool]


class Decoder(Protocol):
    """A framework's value format, as the ``*_readable`` operations read it. Keys are the
    stored keys (namespace included); a decoder may bind values to them."""

    def loads(self, key: str, data: bytes) -> Any:
        """The value stored as ``data`` at ``key``, or :data:`MISSING` if it is unreadable."""
        ...

    def loads_many(
        self, keys: Sequence[str], raws: Sequence[bytes | None]
    ) -> tuple[dict[str, Any], list[str]]:
        """The readable values of ``raws`` (``None``: absent) by key, and the keys whose
        values are unreadable."""
        ...


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
def set_many_bytes(
    ns: KeySpace, mapping: object, ttl_ms: object = None, drop: object = ()
) -> Steps[None]:
    """Store every key atomically in one round trip, after checking all of them; then delete
    the keys of ``drop`` (values the caller could not encode: they must not keep old ones)."""
    if not isinstance(mapping, dict):
        raise InvalidArgument(
            f"mapping must be a dict of str to bytes, not {type(mapping).__name__}"
        )
    expiry = _ttl_ms(ttl_ms)
    items = tuple((ns.key(k), _data(v)) for k, v in mapping.items())
    dropped = ns.keys(drop)
    if items:
        yield SetManyBytes(items, expiry)
    if dropped:
        yield Unlink(dropped)


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


@operation("count_pattern", keyed=False, unbounded=True)
def count_pattern(ns: KeySpace, pattern: object, keep: KeyFilter | None = None) -> Steps[int]:
    """How many keys ``delete_pattern`` would remove now (SCAN only, nothing is deleted)."""
    return (yield from scan_matching(ns.pattern(pattern), keep=keep))


@operation("delete_pattern", keyed=False, unbounded=True)
def delete_pattern(ns: KeySpace, pattern: object, keep: KeyFilter | None = None) -> Steps[int]:
    """Delete the keys matching ``pattern`` that ``keep`` accepts (all without it); how many."""
    return (yield from scan_matching(ns.pattern(pattern), delete=True, keep=keep))


# -- reads through a decoder: an unreadable value is no value, and is deleted -----------------


class _Held:
    def __repr__(self) -> str:
        return "HELD"


#: What :func:`_read` finds at a held lock's key (:mod:`cache_bridge.engine.lock_operations`):
#: a key, but no value, and never dropped.
_HELD: Any = _Held()


def _read(ns: KeySpace, key: object, decoder: Decoder) -> Steps[Any]:
    """The value at ``key``, :data:`MISSING`, or ``_HELD`` for a held lock."""
    full = ns.key(key)
    data = _as_bytes((yield Get(full)))
    if data is None:
        return MISSING
    if is_lock_token(data):
        return _HELD
    value = decoder.loads(full, data)
    if value is MISSING:
        yield Unlink((full,))
    return value


@operation("get")
def get_readable(ns: KeySpace, key: object, decoder: Decoder) -> Steps[Any]:
    """The value at ``key``, or :data:`MISSING` (also for a held lock, which stays)."""
    value = yield from _read(ns, key, decoder)
    return MISSING if value is _HELD else value


@operation("get_many", keyed=False)
def get_many_readable(ns: KeySpace, keys: object, decoder: Decoder) -> Steps[dict[str, Any]]:
    """The readable values of ``keys`` by key (one MGET); misses are left out."""
    full = ns.keys(keys)
    if not full:
        return {}
    raws = yield MGet(full)
    datas = [_as_bytes(raw) for raw in raws]
    # A held lock is no value, and stays.
    datas = [None if data is not None and is_lock_token(data) else data for data in datas]
    found, unreadable = decoder.loads_many(full, datas)
    if unreadable:
        yield Unlink(tuple(unreadable))
    cut = len(ns.prefix)
    return {key[cut:]: value for key, value in found.items()} if cut else found


@operation("has_key")
def has_readable(ns: KeySpace, key: object, decoder: Decoder) -> Steps[bool]:
    """Whether ``key`` holds a value :func:`get_readable` would return, or a held lock."""
    return (yield from _read(ns, key, decoder)) is not MISSING


@operation("add")
def add_readable(
    ns: KeySpace, key: object, data: object, ttl_ms: object, decoder: Decoder
) -> Steps[bool]:
    """Store ``data`` unless ``key`` holds a readable value; ``True`` if it was stored."""
    full = ns.key(key)
    data = _data(data)
    expiry = _ttl_ms(ttl_ms)
    if (yield SetBytes(full, data, expiry, only_if_missing=True)):
        return True
    if (yield from _read(ns, key, decoder)) is not MISSING:
        return False
    # What was there was unreadable (now deleted) or expired meanwhile: add once more.
    return bool((yield SetBytes(full, data, expiry, only_if_missing=True)))


@operation("touch")
def touch_readable(ns: KeySpace, key: object, ttl_ms: object, decoder: Decoder) -> Steps[bool]:
    """Give ``key`` a new expiry (``None``: never); ``True`` if it holds a readable value."""
    full = ns.key(key)
    if int((yield Touch(full, _ttl_ms(ttl_ms)))) <= 0:
        return False
    return (yield from _read(ns, key, decoder)) is not MISSING
