"""Key-level operations beyond the protocol, for framework backends that offer a richer API
(the Django backend's django-redis compatible ``ttl``, ``pttl``, ``set(..., xx=True)``,
``iter_keys``, ``delete_pattern``).

Written like :mod:`cache_bridge.engine.operations`: one generator per operation, run by the
same drivers on either face through ``run_operation``; they never raise and follow the same
key rules. They work on every adapter (memory, Redis, Cluster, Sentinel).
"""

from __future__ import annotations

from typing import Any

from cache_bridge.engine.bytes_operations import KeyFilter
from cache_bridge.engine.commands import IncrBy, PTtl, Scan, SetBytes
from cache_bridge.engine.keys import InvalidArgument, KeySpace, check_amount
from cache_bridge.engine.operations import SCAN_BATCH, Steps, operation, scan_matching

__all__ = [
    "check_count",
    "delete_matching",
    "increment_or_create",
    "pttl",
    "replace_bytes",
    "scan_page",
]


def check_count(count: object) -> int:
    """A SCAN batch size: ``None`` means :data:`SCAN_BATCH`; else an int from 1 up."""
    if count is None:
        return SCAN_BATCH
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidArgument(f"itersize must be a positive int, not {count!r}")
    return count


def _ttl_ms(ttl_ms: object) -> int | None:
    if ttl_ms is None:
        return None
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int) or ttl_ms < 1:
        raise InvalidArgument(f"ttl_ms must be a positive int of milliseconds, not {ttl_ms!r}")
    return ttl_ms


@operation("pttl")
def pttl(ns: KeySpace, key: object) -> Steps[int]:
    """Milliseconds left as Redis's PTTL says them: ``-2`` for a missing key, ``-1`` for a
    key without expiry."""
    return int((yield PTtl(ns.key(key))))


@operation("set")
def replace_bytes(ns: KeySpace, key: object, data: object, ttl_ms: object = None) -> Steps[bool]:
    """Store ``data`` only over a live key (Redis ``SET XX``); ``True`` if it was stored."""
    if not isinstance(data, bytes):
        raise InvalidArgument(f"data must be bytes, not {type(data).__name__}")
    stored = yield SetBytes(ns.key(key), data, _ttl_ms(ttl_ms), only_if_present=True)
    return bool(stored)


@operation("increment")
def increment_or_create(ns: KeySpace, key: object, amount: object = 1) -> Steps[int]:
    """Add ``amount`` to the integer at ``key``; a missing key starts at 0, without expiry."""
    return int((yield IncrBy(ns.key(key), check_amount(amount))))


@operation("scan", keyed=False)
def scan_page(
    ns: KeySpace, cursor: object, match: object, count: object = None
) -> Steps[tuple[int, list[str]]]:
    """One SCAN step over the keys matching the Redis glob ``match`` (full keys): the next
    cursor (``0``: the walk is over) and the keys found, as text."""
    if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
        raise InvalidArgument(f"cursor must be an int from 0 up, not {cursor!r}")
    if not isinstance(match, str):
        raise InvalidArgument(f"match must be a str, not {type(match).__name__}")
    reply: Any = yield Scan(cursor, match, check_count(count))
    following, found = reply
    keys = [k.decode("utf-8", "surrogateescape") if isinstance(k, bytes) else k for k in found]
    return int(following), keys


@operation("delete_pattern", keyed=False, unbounded=True)
def delete_matching(
    ns: KeySpace, match: object, keep: KeyFilter | None = None, count: object = None
) -> Steps[int]:
    """Delete the keys matching the Redis glob ``match`` (full keys) that ``keep`` accepts,
    ``count`` keys a SCAN call; how many were deleted."""
    if not isinstance(match, str):
        raise InvalidArgument(f"match must be a str, not {type(match).__name__}")
    return (yield from scan_matching(match, delete=True, keep=keep, count=check_count(count)))
