"""How each command is said to Redis: the argument lists, and whether they form a MULTI."""

from __future__ import annotations

from cache_bridge.commands import (
    Command,
    Delete,
    Exists,
    Expire,
    FlushDb,
    Get,
    IncrBy,
    MGet,
    Ping,
    PTtl,
    Scan,
    Set,
    SetMany,
    Unlink,
)

__all__ = ["Args", "plan"]

Args = tuple[str | bytes | int, ...]


def _set_args(key: str, data: bytes, ttl: int | None) -> Args:
    return ("SET", key, data) if ttl is None else ("SET", key, data, "EX", ttl)


def plan(command: Command) -> Args | list[Args]:
    """One argument list for a single command, or a list of them for one MULTI/EXEC."""
    match command:
        case Get(key):
            return ("GET", key)
        case MGet(keys):
            return ("MGET", *keys)
        case Set(key, _, data, ttl):
            return _set_args(key, data, ttl)
        case SetMany(items, None):
            return ("MSET", *(part for key, _, data in items for part in (key, data)))
        case SetMany(items, ttl):
            return [_set_args(key, data, ttl) for key, _, data in items]
        case Delete(key):
            return ("DEL", key)
        case Exists(key):
            return ("EXISTS", key)
        case Expire(key, seconds):
            return ("EXPIRE", key, seconds)
        case PTtl(key):
            return ("PTTL", key)
        case IncrBy(key, amount):
            return ("INCRBY", key, amount)
        case Scan(cursor, match, count):
            return ("SCAN", cursor, "MATCH", match, "COUNT", count)
        case Unlink(keys):
            return ("UNLINK", *keys)
        case FlushDb():
            return ("FLUSHDB",)
        case Ping():
            return ("PING",)
    raise TypeError(f"no Redis plan for {command!r}")
