"""How each command is said to Redis: the argument lists, and whether they form a MULTI."""

from __future__ import annotations

from cache_bridge.adapters.redis.limit_script import RATE_LIMIT_REFUND_SCRIPT, RATE_LIMIT_SCRIPT
from cache_bridge.adapters.redis.lua import load
from cache_bridge.adapters.redis.near_cache import Fill
from cache_bridge.engine.commands import (
    Collection,
    Command,
    CompareAndDelete,
    CompareAndExpire,
    Delete,
    Exists,
    Expire,
    FlushDb,
    Get,
    IncrBy,
    IncrByIfExists,
    LimitEntry,
    MGet,
    Ping,
    PTtl,
    RateLimitHit,
    RateLimitRefund,
    Scan,
    Set,
    SetBytes,
    SetMany,
    SetManyBytes,
    Touch,
    Unlink,
)

__all__ = ["Args", "plan"]

Args = tuple[str | bytes | int, ...]


def _set_args(key: str, data: bytes, ttl: int | None) -> Args:
    return ("SET", key, data) if ttl is None else ("SET", key, data, "EX", ttl)


# One round trip each, atomic on the server: a missing key stays missing.
_INCR_IF_EXISTS = load("incr_if_exists")
_TOUCH = load("touch")
_LOCK_RELEASE = load("lock_release")
_LOCK_EXTEND = load("lock_extend")


def _set_bytes_args(key: str, data: bytes, ttl_ms: int | None, nx: bool, xx: bool) -> Args:
    expiry: Args = () if ttl_ms is None else ("PX", ttl_ms)
    return ("SET", key, data, *expiry, *(("NX",) if nx else ()), *(("XX",) if xx else ()))


def _limit_arg(limit: LimitEntry) -> str:
    """One limit's arguments as one: ``"algorithm limit period_ms cost mode[ now_ms]"`` (one
    argument for redis-py to encode, not six)."""
    packed = f"{limit.algorithm} {limit.limit} {limit.period_ms} {limit.cost} {limit.mode}"
    return packed if limit.now_ms is None else f"{packed} {limit.now_ms}"


def _limits_args(script: str, limits: tuple[LimitEntry, ...]) -> Args:
    if len(limits) == 1:  # the usual case, without the joins
        (one,) = limits
        return ("EVAL", script, 1, one.key, _limit_arg(one))
    return (
        "EVAL", script, len(limits), *(limit.key for limit in limits),
        *(_limit_arg(limit) for limit in limits),
    )  # fmt: skip


def plan(command: Command | Fill) -> Args | list[Args]:
    """One argument list for a single command, or a list of them for one MULTI/EXEC."""
    match command:
        case Get(key):
            return ("GET", key)
        # The most frequent next, each class pattern costing an isinstance check: a set of
        # the Django/Flask faces, a rate-limited request's check, a get_many.
        case SetBytes(key, data, ttl_ms, only_if_missing, only_if_present):
            return _set_bytes_args(key, data, ttl_ms, only_if_missing, only_if_present)
        case RateLimitHit(limits):
            return _limits_args(RATE_LIMIT_SCRIPT, limits)
        case MGet(keys):
            return ("MGET", *keys)
        case Fill(keys, single):
            return [*(("PTTL", key) for key in keys), ("GET" if single else "MGET", *keys)]
        case Collection(name, keys, args):
            return (name, *keys, *args)
        case CompareAndDelete(key, expected):
            return ("EVAL", _LOCK_RELEASE, 1, key, expected)
        case CompareAndExpire(key, expected, ttl_ms, add):
            return ("EVAL", _LOCK_EXTEND, 1, key, expected, ttl_ms, "1" if add else "0")
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
        case SetManyBytes(items, None):
            return ("MSET", *(part for key, data in items for part in (key, data)))
        case SetManyBytes(items, ttl_ms):
            return [_set_bytes_args(key, data, ttl_ms, False, False) for key, data in items]
        case Touch(key, ttl_ms):
            return ("EVAL", _TOUCH, 1, key, "" if ttl_ms is None else ttl_ms)
        case IncrByIfExists(key, amount):
            return ("EVAL", _INCR_IF_EXISTS, 1, key, amount)
        case RateLimitRefund(limits):
            return _limits_args(RATE_LIMIT_REFUND_SCRIPT, limits)
    raise TypeError(f"no Redis plan for {command!r}")
