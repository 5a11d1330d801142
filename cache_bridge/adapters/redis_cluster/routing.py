"""Where each command goes in a Redis Cluster, decided without I/O.

Single-key commands keep the Redis plan (:func:`cache_bridge.adapters.redis.plan.plan`) and go
to their key's slot. Multi-key commands are split by hash slot, so none ever fails with
CROSSSLOT: one ``MGET`` / ``MSET`` / ``UNLINK`` per slot, and ``SET ... EX`` of a batch as one
script per slot, so each slot's part is written atomically with its expiry. ``SCAN`` walks the
primaries one after the other behind one composite cursor (:mod:`.scan`); ``FLUSHDB`` and
``PING`` go to every primary. A set command over keys of several slots (``SMOVE``,
``SUNION``, ...) is refused before any I/O: the keys need one ``{hash tag}``. A group of
rate limits (``RateLimitHit``, ``RateLimitRefund``)
whose keys span slots runs as one script per slot, each atomic on its own; the caller takes
back what a slot counted when another refused (see
:class:`~cache_bridge.engine.commands.RateLimitHit`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.crc import key_slot

from cache_bridge.adapters.redis.lua import load
from cache_bridge.adapters.redis.plan import Args, plan
from cache_bridge.engine.commands import (
    Collection,
    Command,
    FlushDb,
    MGet,
    Ping,
    RateLimitHit,
    RateLimitRefund,
    Scan,
    SetMany,
    SetManyBytes,
    Unlink,
)
from cache_bridge.engine.keys import InvalidArgument

__all__ = [
    "OnEveryPrimary",
    "OnKey",
    "PerSlot",
    "ScanNodes",
    "route",
    "slot_of",
]

#: Sets every key of one slot with one expiry in one atomic step. KEYS: the keys; ARGV: their
#: values, then 'EX' or 'PX', then the expiry.
SET_ALL_WITH_EXPIRY = load("set_all_with_expiry")


def slot_of(key: str | bytes) -> int:
    """The cluster hash slot of ``key`` (its ``{hash tag}`` only, when it has one)."""
    return int(key_slot(key.encode("utf-8") if isinstance(key, str) else key))


@dataclass(frozen=True, slots=True)
class OnKey:
    """One command, sent to the primary of its key's slot."""

    args: Args | list[Args]


@dataclass(frozen=True, slots=True)
class PerSlot:
    """One command per hash slot (``(slot, args)``), sent together; ``combine`` turns their
    replies, in the same order, into the command's reply."""

    commands: tuple[tuple[int, Args], ...]
    combine: Callable[[list[Any]], Any]


@dataclass(frozen=True, slots=True)
class OnEveryPrimary:
    """One command sent to every primary; ``combine`` turns their replies into one."""

    args: Args
    combine: Callable[[list[Any]], Any]


@dataclass(frozen=True, slots=True)
class ScanNodes:
    """One ``SCAN`` step of a walk over every primary (see
    :mod:`cache_bridge.adapters.redis_cluster.scan`)."""

    cursor: int
    match: str
    count: int


Route = OnKey | PerSlot | OnEveryPrimary | ScanNodes


def _single(command: Command) -> Args:
    args = plan(command)
    assert not isinstance(args, list), f"{command!r} is one command"
    return args


def _by_slot(keys: Iterable[str | bytes]) -> dict[int, list[int]]:
    """Positions of ``keys`` grouped by slot, in first-seen order."""
    groups: dict[int, list[int]] = {}
    for position, key in enumerate(keys):
        groups.setdefault(slot_of(key), []).append(position)
    return groups


def _mget(keys: Sequence[str]) -> PerSlot:
    groups = _by_slot(keys)

    def combine(replies: list[Any]) -> list[Any]:
        values: list[Any] = [None] * len(keys)
        for positions, reply in zip(groups.values(), replies, strict=True):
            for position, value in zip(positions, reply, strict=True):
                values[position] = value
        return values

    commands = tuple(
        (slot, _single(MGet(tuple(keys[p] for p in positions))))
        for slot, positions in groups.items()
    )
    return PerSlot(commands, combine)


def _set_all(
    items: Sequence[tuple[str, bytes]], unit: str, expiry: int | None
) -> tuple[tuple[int, Args], ...]:
    groups = _by_slot(key for key, _ in items)
    commands: list[tuple[int, Args]] = []
    for slot, positions in groups.items():
        chunk = [items[p] for p in positions]
        if expiry is None:
            commands.append((slot, ("MSET", *(part for pair in chunk for part in pair))))
        else:
            keys = [key for key, _ in chunk]
            values = [data for _, data in chunk]
            args: Args = ("EVAL", SET_ALL_WITH_EXPIRY, len(keys), *keys, *values, unit, expiry)
            commands.append((slot, args))
    return tuple(commands)


#: Integers per limit in a rate-limit group's reply.
_PER_LIMIT = 6


def _limits(command: RateLimitHit | RateLimitRefund) -> Route:
    limits = command.limits
    groups = _by_slot(limit.key for limit in limits)
    if len(groups) == 1:
        return OnKey(plan(command))
    # Each part's reply in the six-integers-per-limit form, which ``combine`` splices: the
    # extra argument keeps a part of one limit from the count form (lua/rate_limit.lua).
    commands = tuple(
        (slot, (*_single(type(command)(tuple(limits[p] for p in positions))), "full"))
        for slot, positions in groups.items()
    )
    if isinstance(command, RateLimitRefund):
        return PerSlot(commands, lambda replies: sum(int(r) for r in replies))

    def combine(replies: list[Any]) -> list[Any]:
        flat: list[Any] = [0] * (_PER_LIMIT * len(limits))
        for positions, reply in zip(groups.values(), replies, strict=True):
            for index, position in enumerate(positions):
                part = reply[_PER_LIMIT * index : _PER_LIMIT * (index + 1)]
                flat[_PER_LIMIT * position : _PER_LIMIT * (position + 1)] = part
        return flat

    return PerSlot(commands, combine)


def _ok(replies: list[Any]) -> bool:
    return True


def route(command: Command) -> Route:
    """Where ``command`` goes and how its replies combine."""
    match command:
        case MGet(keys):
            return _mget(keys)
        case Collection(name, keys) if len({slot_of(key) for key in keys}) > 1:
            raise InvalidArgument(
                f"{name} on Redis Cluster needs all its keys in one hash slot: give them the "
                "same {hash tag}, e.g. '{team}:a' and '{team}:b'"
            )
        case SetMany(items, ttl):
            return PerSlot(_set_all([(k, d) for k, _, d in items], "EX", ttl), _ok)
        case SetManyBytes(items, ttl_ms):
            return PerSlot(_set_all(items, "PX", ttl_ms), _ok)
        case Unlink(keys):
            groups = _by_slot(keys)
            commands = tuple(
                (slot, _single(Unlink(tuple(keys[p] for p in positions))))
                for slot, positions in groups.items()
            )
            return PerSlot(commands, lambda replies: sum(int(r) for r in replies))
        case Scan(cursor, match, count):
            return ScanNodes(int(cursor), match, count)
        case FlushDb():
            return OnEveryPrimary(("FLUSHDB",), lambda replies: True)
        case Ping():
            return OnEveryPrimary(("PING",), all)
        case RateLimitHit() | RateLimitRefund():
            return _limits(command)
    return OnKey(plan(command))
