"""The in-memory store: a bounded, thread-safe LRU map of :class:`CacheEntry` records that
carries out commands with Redis's semantics.

Both faces of the in-memory adapter share one store; named stores (``memory://NAME``) are
shared by every adapter of the process that names them.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from cache_bridge.adapters.memory import collections_store
from cache_bridge.adapters.memory.redis_glob import glob_match
from cache_bridge.engine.commands import (
    Collection,
    Command,
    CommandRefused,
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
from cache_bridge.engine.keys import INT64_MAX
from cache_bridge.engine.limit_algorithms import hit_all, refund
from cache_bridge.protocol import CacheEntry

__all__ = ["MemoryStore", "named_store"]

# What Redis's string2ll accepts: no sign but '-', no leading zeros, no spaces, ASCII digits.
_INTEGER = re.compile(r"0|-?[1-9][0-9]{0,18}")

Clock = Callable[[], float]


class MemoryStore:
    """A bounded LRU map; every command runs under one lock, so each is atomic.

    Full, it evicts the least recently used entry per write; with ``cull_frequency`` set, it
    culls as Django's LocMemCache does instead: a write that finds ``max_entries`` or more
    entries first evicts ``len // cull_frequency`` of the least recently used (all of them
    for 0).
    """

    def __init__(self, max_entries: int, clock: Clock, cull_frequency: int | None = None) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self.cull_frequency = cull_frequency
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def execute(self, command: Command) -> Any:
        """Carry out one command and give its reply (see :mod:`cache_bridge.engine.commands`)."""
        with self._lock:
            now = self.clock()
            match command:
                case Get(key):
                    value = self._value(key, now)
                    if collections_store.is_collection(value):
                        raise CommandRefused(
                            "wrong_type", "WRONGTYPE the key holds a set or a hash"
                        )
                    return value
                case MGet(keys):
                    values = [self._value(k, now) for k in keys]
                    return [None if collections_store.is_collection(v) else v for v in values]
                case Collection():
                    return collections_store.run(_Entries(self, now), command)
                case CompareAndDelete(key, expected):
                    if self._value(key, now) != expected:
                        return 0
                    return self._unlink((key,), now)
                case CompareAndExpire(key, expected, ttl_ms, add):
                    return self._compare_and_expire(key, expected, ttl_ms, add, now)
                case Set(key, value, _, ttl):
                    self._store(key, value, ttl, now)
                    return True
                case SetMany(items, ttl):
                    for key, value, _ in items:
                        self._store(key, value, ttl, now)
                    return True
                case Delete(key):
                    return self._unlink((key,), now)
                case Unlink(keys):
                    return self._unlink(keys, now)
                case Exists(key):
                    return int(self._live(key, now) is not None)
                case Expire(key, seconds):
                    return self._expire(key, seconds, now)
                case PTtl(key):
                    return self._pttl(key, now)
                case IncrBy(key, amount):
                    return self._incr(key, amount, now)
                case Scan(_, match):
                    return 0, self._matching(match.encode("utf-8"), now)
                case FlushDb():
                    self._entries.clear()
                    return True
                case Ping():
                    return True
                case SetBytes(key, data, ttl_ms, only_if_missing, only_if_present):
                    live = self._live(key, now) is not None
                    if (only_if_missing and live) or (only_if_present and not live):
                        return None
                    self._store_ms(key, data, ttl_ms, now)
                    return True
                case SetManyBytes(items, ttl_ms):
                    for key, data in items:
                        self._store_ms(key, data, ttl_ms, now)
                    return True
                case Touch(key, ttl_ms):
                    return self._touch(key, ttl_ms, now)
                case IncrByIfExists(key, amount):
                    if self._live(key, now) is None:
                        return None
                    return self._incr(key, amount, now)
                case RateLimitHit(limits):
                    return self._rate_limit_hit(limits, now)
                case RateLimitRefund(limits):
                    return self._rate_limit_refund(limits, now)
        raise TypeError(f"the in-memory store cannot run {command!r}")

    def _live(self, key: str, now: float) -> CacheEntry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at = entry["expires_at"]
        if expires_at is not None and now > expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def _value(self, key: str, now: float) -> str | bytes | None:
        entry = self._live(key, now)
        return None if entry is None else entry["value"]

    def _cull(self) -> None:
        if self.cull_frequency == 0:
            self._entries.clear()
            return
        assert self.cull_frequency is not None
        for _ in range(len(self._entries) // self.cull_frequency):
            self._entries.popitem(last=False)

    def _store(self, key: str, value: str | bytes, ttl: int | None, now: float) -> None:
        if self.cull_frequency is not None and len(self._entries) >= self.max_entries:
            self._cull()
        self._entries.pop(key, None)
        self._entries[key] = CacheEntry(
            key=key,
            value=value,
            ttl=ttl,
            created_at=now,
            expires_at=None if ttl is None else now + ttl,
        )
        while self.cull_frequency is None and len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def _store_ms(self, key: str, value: str | bytes, ttl_ms: int | None, now: float) -> None:
        # Values stored by the bytes-level operations keep millisecond expiries; the entry's
        # ``ttl`` records the lifetime in whole seconds, rounded up.
        self._store(key, value, None, now)
        if ttl_ms is not None:
            entry = self._entries[key]
            entry["ttl"] = -(-ttl_ms // 1000)
            entry["expires_at"] = now + ttl_ms / 1000

    def _touch(self, key: str, ttl_ms: int | None, now: float) -> int:
        entry = self._live(key, now)
        if entry is None:
            return 0
        entry["ttl"] = None if ttl_ms is None else -(-ttl_ms // 1000)
        entry["expires_at"] = None if ttl_ms is None else now + ttl_ms / 1000
        return 1

    def _compare_and_expire(
        self, key: str, expected: bytes, ttl_ms: int, add: bool, now: float
    ) -> int:
        if self._value(key, now) != expected:
            return 0
        left = self._pttl(key, now)
        if add and left < 0:
            return -1
        return self._touch(key, ttl_ms + (left if add else 0), now)

    def _unlink(self, keys: tuple[str | bytes, ...], now: float) -> int:
        removed = 0
        for key in keys:
            text = key.decode("utf-8") if isinstance(key, bytes) else key
            if self._live(text, now) is not None:
                del self._entries[text]
                removed += 1
        return removed

    def _expire(self, key: str, seconds: int, now: float) -> int:
        entry = self._live(key, now)
        if entry is None:
            return 0
        entry["ttl"] = seconds
        entry["expires_at"] = now + seconds
        return 1

    def _pttl(self, key: str, now: float) -> int:
        entry = self._live(key, now)
        if entry is None:
            return -2
        expires_at = entry["expires_at"]
        if expires_at is None:
            return -1
        return math.ceil((expires_at - now) * 1000)

    def _incr(self, key: str, amount: int, now: float) -> int:
        entry = self._live(key, now)
        if entry is None:
            self._store(key, str(amount), None, now)
            return amount
        current = entry["value"]
        if collections_store.is_collection(current):
            raise CommandRefused("wrong_type", "WRONGTYPE the key holds a set or a hash")
        if isinstance(current, bytes):
            # Bytes written by the bytes-level operations count as Redis counts them.
            current = current.decode("latin-1")
        if _INTEGER.fullmatch(current) is None or not -INT64_MAX - 1 <= int(current) <= INT64_MAX:
            raise CommandRefused("not_integer", "the stored value is not an integer")
        result = int(current) + amount
        if not -INT64_MAX - 1 <= result <= INT64_MAX:
            raise CommandRefused("overflow", "the result would not fit in signed 64 bits")
        entry["value"] = str(result)
        return result

    def _text(self, key: str, now: float) -> str | None:
        entry = self._live(key, now)
        value = None if entry is None else entry["value"]
        return value.decode("latin-1") if isinstance(value, bytes) else value

    def _rate_limit_hit(self, limits: tuple[LimitEntry, ...], now: float) -> list[int]:
        states = [self._text(limit.key, now) for limit in limits]
        replies, writes = hit_all(limits, states, math.floor(now * 1000))
        for key, state, ttl_ms in writes:
            # Value and expiry together, as the Redis script's SET ... PX.
            self._store_ms(key, state, ttl_ms, now)
        if len(replies) == 1:
            return list(replies[0])
        return [number for reply in replies for number in reply]

    def _rate_limit_refund(self, limits: tuple[LimitEntry, ...], now: float) -> int:
        changed = 0
        for limit in limits:
            entry = self._live(limit.key, now)
            if entry is None or entry["expires_at"] is None or limit.now_ms is None:
                continue  # as the Redis script: only a state with its expiry is changed
            state = entry["value"]
            text = state.decode("latin-1") if isinstance(state, bytes) else state
            new = refund(
                limit.algorithm, text, limit.limit, limit.period_ms, limit.now_ms, cost=limit.cost
            )
            if new is not None:
                entry["value"] = new
                changed += 1
        return changed

    def _matching(self, pattern: bytes, now: float) -> list[str]:
        found = []
        for key, entry in list(self._entries.items()):
            expires_at = entry["expires_at"]
            if expires_at is not None and now > expires_at:
                del self._entries[key]
            elif glob_match(pattern, key.encode("utf-8")):
                found.append(key)
        return found


class _Entries:
    """The store's entries as :mod:`collections_store` sees them, at one instant."""

    def __init__(self, store: MemoryStore, now: float) -> None:
        self.store = store
        self.now = now

    def live_value(self, key: str) -> Any:
        return self.store._value(key, self.now)

    def put_value(self, key: str, value: Any) -> None:
        if value:
            self.store._store(key, value, None, self.now)
        else:
            self.store._unlink((key,), self.now)

    def keep_value(self, key: str, value: Any) -> None:
        if not value:
            self.store._unlink((key,), self.now)


_named: dict[str, MemoryStore] = {}
_named_lock = threading.Lock()


def named_store(name: str, max_entries: int, clock: Clock) -> MemoryStore:
    """The process-wide store called ``name``, created with these settings on first use."""
    with _named_lock:
        store = _named.get(name)
        if store is None:
            store = _named[name] = MemoryStore(max_entries, clock)
        return store
