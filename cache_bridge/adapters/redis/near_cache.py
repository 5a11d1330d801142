"""The near cache: a bounded in-process copy of values read from Redis, kept coherent by
server pushes (:mod:`cache_bridge.adapters.redis.tracking`).

A value is served locally only while the invalidation connection is known to be alive; a fill
is kept only if no invalidation, own write or reset came between reading the generation and
storing, so a reply that raced an invalidation is never cached.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from cache_bridge.engine.commands import Command, Exists, Get, MGet, Ping, PTtl, Scan

__all__ = ["NearCache"]

#: Commands that change nothing on the server: no local invalidation after them.
_READS = (Get, MGet, Exists, PTtl, Scan, Ping)


class NearCache:
    """Hot values of one adapter, bounded by ``max_entries`` and ``max_bytes``."""

    def __init__(self, max_entries: int, max_bytes: int, max_silence: float) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Any, float | None, int]] = OrderedDict()
        self._bytes = 0
        self._generation = 0
        self._ready = False
        self.alive_at = 0.0
        #: Whether a push may be waiting unapplied (set by the tracker).
        self.pending: Callable[[], bool] = lambda: True
        self.max_entries, self.max_bytes, self.max_silence = max_entries, max_bytes, max_silence
        self._stats = {"hits": 0, "invalidations": 0, "evictions": 0, "resets": 0}

    def stats(self) -> dict[str, int]:
        """Hits served locally, invalidations received, evictions, resets, entries, bytes."""
        with self._lock:
            return {**self._stats, "entries": len(self._entries), "bytes": self._bytes}

    def execute(self, command: Command, run: Callable[[Command], Any]) -> Any:
        """Run ``command`` through ``run``, or answer a ``Get`` from the near cache."""
        if isinstance(command, Get):
            return self._get(command.key, run)
        if isinstance(command, _READS):
            return run(command)
        try:
            return run(command)
        finally:  # a write that failed may still have been applied
            self.invalidate(_keys_of(command))

    def _get(self, key: str, run: Callable[[Command], Any]) -> Any:
        found, value, generation = self._lookup(key)
        if found:
            return value
        if generation is None:  # no tracking now: nothing would be kept
            return run(Get(key))
        before = time.monotonic()
        pttl = run(PTtl(key))
        value = run(Get(key))
        self._fill(key, value, None if pttl < 0 else before + pttl / 1000, generation)
        return value

    def _lookup(self, key: str) -> tuple[bool, Any, int | None]:
        with self._lock:
            now = time.monotonic()
            if not self._ready:
                return False, None, None
            if now - self.alive_at > self.max_silence:  # pushes may be lost: forget everything
                self._reset()
                return False, None, None
            entry = self._entries.get(key)
            if entry is not None and self.pending():
                return False, None, self._generation
            if entry is not None:
                if entry[1] is None or now < entry[1]:
                    self._entries.move_to_end(key)
                    self._stats["hits"] += 1
                    return True, entry[0], None
                self._drop(key)
            return False, None, self._generation

    def _fill(self, key: str, value: Any, deadline: float | None, generation: int | None) -> None:
        size = len(key) + (len(value) if value is not None else 0)
        with self._lock:
            if generation != self._generation or not self._ready or size > self.max_bytes:
                return
            self._drop(key)
            self._entries[key] = (value, deadline, size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))
                self._stats["evictions"] += 1

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[2]

    def invalidate(self, keys: Iterable[str] | None) -> None:
        """Forget ``keys`` (every key when None) and refuse fills that started before."""
        with self._lock:
            self._generation += 1
            if keys is None:
                self._entries.clear()
                self._bytes = 0
            else:
                for key in keys:
                    self._drop(key)

    def received(self, keys: Iterable[str] | None) -> None:
        """An invalidation push arrived (None: the server flushed a database)."""
        self.invalidate(keys)
        with self._lock:
            self._stats["invalidations"] += 1

    @property
    def ready(self) -> bool:
        return self._ready

    def set_ready(self, ready: bool) -> None:
        """Empty the cache; serve from it again only if ``ready`` (the pushes flow)."""
        with self._lock:
            if ready:
                self._generation += 1
                self._entries.clear()
                self._bytes = 0
                self._ready = True
                self.alive_at = time.monotonic()
            elif self._ready:
                self._reset()

    def _reset(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._bytes = 0
        self._ready = False
        self._stats["resets"] += 1


def _keys_of(command: Command) -> tuple[str, ...] | None:
    """The keys a write touches, or None when it may touch any key (flush, scripts, ...)."""
    key = getattr(command, "key", None)
    if isinstance(key, str):
        return (key,)
    keys = getattr(command, "keys", None)
    if isinstance(keys, tuple) and all(isinstance(k, str) for k in keys):
        return keys
    items = getattr(command, "items", None)
    if isinstance(items, tuple) and all(isinstance(i, tuple) for i in items):
        return tuple(str(i[0]) for i in items)
    return None
