"""The Redis set and hash commands (:class:`~cache_bridge.engine.commands.Collection`) on the
in-memory store's entries, with Redis's semantics: a set is a ``set`` of bytes, a hash a
``dict`` of bytes to bytes, an emptied one is deleted, and a key of another type is refused
with ``WRONGTYPE``.

:class:`~cache_bridge.adapters.memory.store.MemoryStore` calls :func:`run` under its lock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol

from cache_bridge.adapters.memory.redis_glob import glob_match
from cache_bridge.engine.commands import Collection, CommandRefused

__all__ = ["Entries", "is_collection", "key_exists", "run"]


class Entries(Protocol):
    """What :func:`run` needs from the store: the live value at a key, and writing one."""

    def live_value(self, key: str) -> Any:
        """The live value at ``key`` (``None`` if missing)."""
        ...

    def put_value(self, key: str, value: Any) -> None:
        """Store ``value`` at ``key`` without expiry (``None`` or empty: delete the key)."""
        ...

    def keep_value(self, key: str, value: Any) -> None:
        """``value`` (changed in place) stays at ``key`` with its expiry; empty: delete."""
        ...


def is_collection(value: object) -> bool:
    """Whether a stored value is a set or a hash (not a string)."""
    return isinstance(value, set | dict)


def _wrong_type() -> CommandRefused:
    return CommandRefused(
        "wrong_type", "WRONGTYPE Operation against a key holding the wrong kind of value"
    )


def _as_bytes(item: bytes | int | str) -> bytes:
    return item if isinstance(item, bytes) else str(item).encode("utf-8")


def _set(entries: Entries, key: str) -> set[bytes]:
    value = entries.live_value(key)
    if value is None:
        return set()
    if not isinstance(value, set):
        raise _wrong_type()
    return value


def _hash(entries: Entries, key: str) -> dict[bytes, bytes]:
    value = entries.live_value(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong_type()
    return value


def _sadd(entries: Entries, key: str, members: list[bytes]) -> int:
    found = _set(entries, key)
    added = len(set(members) - found)
    _keep_or_put(entries, key, found, members)
    return added


def _keep_or_put(entries: Entries, key: str, found: Any, new: Any) -> None:
    existed = key_exists(entries, key)
    found.update(new)
    if existed:
        entries.keep_value(key, found)
    else:
        entries.put_value(key, found)


def key_exists(entries: Entries, key: str) -> bool:
    """Whether ``key`` holds a live value."""
    return entries.live_value(key) is not None


def _srem(entries: Entries, key: str, members: list[bytes]) -> int:
    found = _set(entries, key)
    removed = len(found & set(members))
    found.difference_update(members)
    if key_exists(entries, key):
        entries.keep_value(key, found)
    return removed


def _spop(entries: Entries, key: str, count: int | None) -> Any:
    found = _set(entries, key)
    chosen = random.sample(sorted(found), min(len(found), 1 if count is None else count))
    found.difference_update(chosen)
    if key_exists(entries, key):
        entries.keep_value(key, found)
    if count is None:
        return chosen[0] if chosen else None
    return chosen


def _srandmember(entries: Entries, key: str, count: int | None) -> Any:
    members = sorted(_set(entries, key))
    if count is None:
        return random.choice(members) if members else None
    if count < 0:
        return [random.choice(members) for _ in range(-count)] if members else []
    return random.sample(members, min(count, len(members)))


def _smove(entries: Entries, src: str, dst: str, member: bytes) -> int:
    source = _set(entries, src)
    _set(entries, dst)  # a destination of another type is refused, as Redis does
    if member not in source:
        return 0
    if src != dst:
        source.discard(member)
        entries.keep_value(src, source)
        _sadd(entries, dst, [member])
    return 1


def _combine(entries: Entries, name: str, keys: tuple[str, ...]) -> set[bytes]:
    sets = [_set(entries, key) for key in keys]
    result = set(sets[0])
    for other in sets[1:]:
        if name.startswith("SDIFF"):
            result -= other
        elif name.startswith("SINTER"):
            result &= other
        else:
            result |= other
    return result


def _store(entries: Entries, name: str, keys: tuple[str, ...]) -> int:
    result = _combine(entries, name, keys[1:])
    entries.put_value(keys[0], result)
    return len(result)


def _sscan(entries: Entries, key: str, args: list[bytes]) -> tuple[int, list[bytes]]:
    members = sorted(_set(entries, key))
    if b"MATCH" in args:
        pattern = args[args.index(b"MATCH") + 1]
        members = [m for m in members if glob_match(pattern, m)]
    return 0, members


def _hset(entries: Entries, key: str, pairs: list[bytes]) -> int:
    found = _hash(entries, key)
    fields = dict(zip(pairs[::2], pairs[1::2], strict=True))
    added = len(fields.keys() - found.keys())
    _keep_or_put(entries, key, found, fields)
    return added


def _hdel(entries: Entries, key: str, fields: list[bytes]) -> int:
    found = _hash(entries, key)
    removed = sum(1 for field in set(fields) if found.pop(field, None) is not None)
    if key_exists(entries, key):
        entries.keep_value(key, found)
    return removed


def _count(args: list[bytes]) -> int | None:
    return int(args[0]) if args else None


_Handler = Callable[[Entries, tuple[str, ...], list[bytes]], Any]

_HANDLERS: dict[str, _Handler] = {
    "SADD": lambda e, k, a: _sadd(e, k[0], a),
    "SREM": lambda e, k, a: _srem(e, k[0], a),
    "SMEMBERS": lambda e, k, a: list(_set(e, k[0])),
    "SISMEMBER": lambda e, k, a: int(a[0] in _set(e, k[0])),
    "SMISMEMBER": lambda e, k, a: [int(m in _set(e, k[0])) for m in a],
    "SCARD": lambda e, k, a: len(_set(e, k[0])),
    "SPOP": lambda e, k, a: _spop(e, k[0], _count(a)),
    "SRANDMEMBER": lambda e, k, a: _srandmember(e, k[0], _count(a)),
    "SMOVE": lambda e, k, a: _smove(e, k[0], k[1], a[0]),
    "SDIFF": lambda e, k, a: list(_combine(e, "SDIFF", k)),
    "SINTER": lambda e, k, a: list(_combine(e, "SINTER", k)),
    "SUNION": lambda e, k, a: list(_combine(e, "SUNION", k)),
    "SDIFFSTORE": lambda e, k, a: _store(e, "SDIFF", k),
    "SINTERSTORE": lambda e, k, a: _store(e, "SINTER", k),
    "SUNIONSTORE": lambda e, k, a: _store(e, "SUNION", k),
    "SSCAN": lambda e, k, a: _sscan(e, k[0], a[1:]),
    "HSET": lambda e, k, a: _hset(e, k[0], a),
    "HGET": lambda e, k, a: _hash(e, k[0]).get(a[0]),
    "HDEL": lambda e, k, a: _hdel(e, k[0], a),
    "HEXISTS": lambda e, k, a: int(a[0] in _hash(e, k[0])),
    "HKEYS": lambda e, k, a: list(_hash(e, k[0])),
    "HLEN": lambda e, k, a: len(_hash(e, k[0])),
}


def run(entries: Entries, command: Collection) -> Any:
    """Carry out a set or hash command on ``entries``; Redis's reply."""
    handler = _HANDLERS.get(command.name)
    if handler is None:
        raise TypeError(f"the in-memory store cannot run {command!r}")
    return handler(entries, command.keys, [_as_bytes(arg) for arg in command.args])
