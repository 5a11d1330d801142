"""Each protocol operation, written once for every adapter and both faces.

An operation is a generator: it checks its arguments, yields commands
(:mod:`cache_bridge.engine.commands`), receives their replies and returns the plain value of the
result. It signals failure by raising :class:`~cache_bridge.engine.keys.InvalidArgument`,
:class:`Undecodable` or letting an executor's exception through; the drivers
(:mod:`cache_bridge.engine.drivers`) are the one place where those become ``Failure``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, ParamSpec, TypeVar, cast

from cache_bridge.engine import codec
from cache_bridge.engine.commands import (
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
from cache_bridge.engine.keys import (
    InvalidArgument,
    KeySpace,
    check_amount,
    check_seconds,
    check_text,
)

__all__ = ["SCAN_BATCH", "Op", "Steps", "operation", "scan_matching"]

T = TypeVar("T")
P = ParamSpec("P")

#: Keys asked for per SCAN call by :func:`scan_matching`; each batch is at most one UNLINK.
SCAN_BATCH = 1000

Steps = Generator[Command, Any, T]


@dataclass(frozen=True, slots=True)
class Op(Generic[T]):
    """One call of an operation, ready for a driver: its name, its key and its steps, and
    what those who run it must know about it (class-level flags, so that a call costs no
    more to make for them; :func:`operation` makes the flagged kinds).

    ``unbounded``: it takes as many round trips as there are keys to visit (a SCAN), so no
    per-call time limit applies to it. ``health_check``: it asks whether the server answers
    (``ping``), so an open circuit breaker lets it through.
    """

    name: str
    key: str | None
    steps: Steps[T]
    unbounded: ClassVar[bool] = False
    health_check: ClassVar[bool] = False


def _op_kind(unbounded: bool, health_check: bool) -> type[Op[Any]]:
    """:class:`Op`, or a subclass of it with these flags."""
    if not (unbounded or health_check):
        return Op
    flags = {"__slots__": (), "unbounded": unbounded, "health_check": health_check}
    return cast("type[Op[Any]]", type("Op", (Op,), flags))


def operation(
    name: str, *, keyed: bool = True, unbounded: bool = False, health_check: bool = False
) -> Callable[[Callable[P, Steps[T]]], Callable[P, Op[T]]]:
    """Make a generator function return an :class:`Op`; ``keyed`` ones take ``(ns, key, ...)``.
    ``unbounded`` and ``health_check`` are the flags of the :class:`Op` it returns."""
    kind = _op_kind(unbounded, health_check)

    def wrap(fn: Callable[P, Steps[T]]) -> Callable[P, Op[T]]:
        def call(*args: P.args, **kwargs: P.kwargs) -> Op[T]:
            key = args[1] if keyed else None
            return kind(name, key if isinstance(key, str) else None, fn(*args, **kwargs))

        call.__name__ = name
        call.__doc__ = fn.__doc__
        return call

    return wrap


def scan_matching(
    match: str,
    *,
    delete: bool = False,
    keep: Callable[[str | bytes], bool] | None = None,
    count: int = SCAN_BATCH,
) -> Steps[int]:
    """Visit every stored key matching the Redis glob ``match`` (SCAN, ``count`` keys a call,
    :data:`SCAN_BATCH` by default), keeping those ``keep`` accepts (all without it): how many
    there are, or with ``delete`` how many were deleted (one UNLINK per batch)."""
    total = 0
    cursor = 0
    while True:
        cursor, found = yield Scan(cursor, match, count)
        keys = tuple(found if keep is None else (k for k in found if keep(k)))
        if keys:
            total += int((yield Unlink(keys))) if delete else len(keys)
        if int(cursor) == 0:
            return total


def _value_data(value: object) -> tuple[str, bytes]:
    text = check_text(value, "value")
    return text, text.encode("utf-8")


@operation("get")
def get(ns: KeySpace, key: object) -> Steps[str | None]:
    raw = yield Get(ns.key(key))
    return None if raw is None else codec.decode_text(raw)


@operation("get_json")
def get_json(ns: KeySpace, key: object) -> Steps[dict[str, Any] | None]:
    raw = yield Get(ns.key(key))
    return None if raw is None else codec.loads_object(codec.decode_text(raw))


def _ttl_arg(ttl: object) -> int | None:
    return None if ttl is None else check_seconds(ttl, "ttl")


@operation("set")
def set_(ns: KeySpace, key: object, value: object, ttl: object = None) -> Steps[None]:
    full = ns.key(key)
    text, data = _value_data(value)
    yield Set(full, text, data, _ttl_arg(ttl))


@operation("set_json")
def set_json(ns: KeySpace, key: object, value: object, ttl: object = None) -> Steps[None]:
    full = ns.key(key)
    text = check_text(codec.dumps_object(value), "value")
    yield Set(full, text, text.encode("utf-8"), _ttl_arg(ttl))


@operation("delete")
def delete(ns: KeySpace, key: object) -> Steps[bool]:
    removed = yield Delete(ns.key(key))
    return int(removed) > 0


@operation("exists")
def exists(ns: KeySpace, key: object) -> Steps[bool]:
    found = yield Exists(ns.key(key))
    return int(found) > 0


@operation("expire")
def expire(ns: KeySpace, key: object, seconds: object) -> Steps[bool]:
    full = ns.key(key)
    applied = yield Expire(full, check_seconds(seconds, "seconds"))
    return bool(applied)


@operation("ttl")
def ttl(ns: KeySpace, key: object) -> Steps[int | None]:
    millis = int((yield PTtl(ns.key(key))))
    if millis < 0:
        return None
    # Round up so that a live key never reports 0 seconds left.
    return max(1, -(-millis // 1000))


@operation("increment")
def increment(ns: KeySpace, key: object, amount: object = 1) -> Steps[int]:
    full = ns.key(key)
    return int((yield IncrBy(full, check_amount(amount))))


@operation("decrement")
def decrement(ns: KeySpace, key: object, amount: object = 1) -> Steps[int]:
    full = ns.key(key)
    return int((yield IncrBy(full, -check_amount(amount))))


@operation("delete_pattern", keyed=False, unbounded=True)
def delete_pattern(ns: KeySpace, pattern: object) -> Steps[int]:
    return (yield from scan_matching(ns.pattern(pattern), delete=True))


@operation("flush", keyed=False, unbounded=True)
def flush(ns: KeySpace) -> Steps[None]:
    if ns.prefix:
        yield from scan_matching(ns.everything(), delete=True)
    else:
        yield FlushDb()


@operation("ping", keyed=False, health_check=True)
def ping(ns: KeySpace) -> Steps[bool]:
    answered = yield Ping()
    if not answered:
        raise codec.Undecodable("the server gave an unexpected answer to PING")
    return True


@operation("get_many", keyed=False)
def get_many(ns: KeySpace, keys: object) -> Steps[dict[str, str | None]]:
    full = ns.keys(keys)
    if not full:
        return {}
    raws = yield MGet(full)
    cut = len(ns.prefix)
    try:
        return {
            key[cut:]: raw if raw is None or type(raw) is str else raw.decode("utf-8")
            for key, raw in zip(full, raws, strict=True)
        }
    except (UnicodeDecodeError, AttributeError):
        # The exact error, for the value that is not text.
        return {
            key[cut:]: None if raw is None else codec.decode_text(raw)
            for key, raw in zip(full, raws, strict=True)
        }


@operation("set_many", keyed=False)
def set_many(ns: KeySpace, mapping: object, ttl: object = None) -> Steps[None]:
    if not isinstance(mapping, dict):
        raise InvalidArgument(f"mapping must be a dict of str to str, not {type(mapping).__name__}")
    expiry = _ttl_arg(ttl)
    items = tuple((ns.key(k), *_value_data(v)) for k, v in mapping.items())
    if items:
        yield SetMany(items, expiry)
