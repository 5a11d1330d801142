"""The near cache: a bounded in-process copy of values read from Redis, kept coherent by
server pushes (:mod:`cache_bridge.adapters.redis.tracking`), written once for both faces.

:meth:`NearCache.local` answers ``GET``, ``MGET``, ``EXISTS`` and ``PTTL`` from process memory
(no I/O); anything else is a :class:`Fetch` that the face's executor sends, blocking
(:meth:`NearCache.execute`) or awaiting (:meth:`NearCache.aexecute`). A value is served locally
only while the invalidation connection is known to be alive; a fill is kept only if no
invalidation, own write or reset came between reading the generation and storing, so a reply
that raced an invalidation is never cached.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from cache_bridge.adapters.redis.written_keys import keys_of
from cache_bridge.engine.commands import Command, Exists, Get, MGet, Ping, PTtl, Scan
from cache_bridge.observability import events

__all__ = ["MISS", "Fetch", "Fill", "NearCache"]

#: What :meth:`NearCache.local` returns when process memory cannot answer.
MISS: Final = object()

#: Commands that change nothing on the server: no local invalidation after them.
_READS = (Get, MGet, Exists, PTtl, Scan, Ping)
#: Reads the near cache answers.
_SERVED = (Get, MGet, Exists, PTtl)

# An entry: (value, deadline or None, size). A missing key is kept as (None, None, size): a
# later write of it sends a push like any other. Keys of other types than strings are not kept.
_Entry = tuple[Any, float | None, int]


@dataclass(frozen=True, slots=True)
class Fill:
    """``PTTL`` of each key, then ``GET`` (one key) or ``MGET``, in one MULTI/EXEC: what a read
    sends when the near cache may keep its reply (:func:`cache_bridge.adapters.redis.plan.plan`
    says it to Redis)."""

    keys: tuple[str, ...]
    single: bool


class NearCache:
    """Hot values of one adapter, bounded by ``max_entries`` and ``max_bytes``."""

    def __init__(
        self, max_entries: int, max_bytes: int, max_silence: float, server: str = ""
    ) -> None:
        #: The server, as its URL without credentials (what its events name).
        self.server = server
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._generation = 0
        self._ready = False
        self.alive_at = 0.0
        #: Whether a push may be waiting unapplied (set by the tracker).
        self.pending: Callable[[], bool] = lambda: True
        #: Called by a read while nothing is kept (a forked child's tracker starts on it).
        self.wake: Callable[[], None] = lambda: None
        self.max_entries, self.max_bytes, self.max_silence = max_entries, max_bytes, max_silence
        self._stats = {"invalidations": 0, "evictions": 0, "resets": 0}
        self._hits = 0

    def stats(self) -> dict[str, int]:
        """Hits served locally, invalidations received, evictions, resets, entries, bytes."""
        with self._lock:
            return {
                "hits": self._hits,
                **self._stats,
                "entries": len(self._entries),
                "bytes": self._bytes,
            }

    def execute(self, command: Command, run: Callable[[Any], Any]) -> Any:
        """``command``'s reply: from process memory, or by ``run`` (kept when it may be)."""
        found = self.local(command)
        if found is not MISS:
            return found
        with self.fetching(command) as fetch:
            return fetch.done(run(fetch.request))

    async def aexecute(self, command: Command, run: Callable[[Any], Awaitable[Any]]) -> Any:
        """Like :meth:`execute`, awaiting ``run``."""
        found = self.local(command)
        if found is not MISS:
            return found
        with self.fetching(command) as fetch:
            return fetch.done(await run(fetch.request))

    def _tell(self, kind: Any, count: int) -> None:
        """Give the listeners a :class:`~cache_bridge.observability.NearCacheEvent`."""
        if events.listeners and count:
            events.emit(events.NearCacheEvent(kind, count, self.server))

    def local(self, command: Command) -> Any:
        """``command``'s reply from process memory, or :data:`MISS` (a hit is told to the
        listeners: a get's hit skips this method only while none listen)."""
        found = self._answer(command)
        if found is not MISS and events.listeners:
            self._tell("hit", 1)
        return found

    def _answer(self, command: Command) -> Any:
        if isinstance(command, Get):
            entry = self._one(command.key)
            return MISS if entry is None else entry[0]
        if isinstance(command, MGet):
            entries = self._many(command.keys)
            return MISS if entries is None else [entry[0] for entry in entries]
        if isinstance(command, Exists):
            entry = self._one(command.key)
            return MISS if entry is None else int(entry[0] is not None)
        if isinstance(command, PTtl):
            entry = self._one(command.key)
            return MISS if entry is None else _pttl(entry, time.monotonic())
        return MISS

    def value(self, key: str) -> Any:
        """The value kept for ``key`` (bytes, or None for a missing key), or :data:`MISS`."""
        entry = self._one(key)
        return MISS if entry is None else entry[0]

    def _one(self, key: str) -> _Entry | None:
        """``key``'s live entry, or None (also when nothing may be served now).

        No lock (this is every hit's path): the check for a push waiting or being applied
        comes first, so an entry found after it was not invalidated by any push that had
        reached the socket before the read began.
        """
        if not self._ready or self.pending():
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = time.monotonic()
        if now - self.alive_at > self.max_silence:
            self._silent()
            return None
        if entry[1] is not None and now >= entry[1]:
            return None  # expired on the server, maybe not yet deleted there
        try:
            self._entries.move_to_end(key)
        except KeyError:  # forgotten meanwhile by another thread
            return None
        self._hits += 1  # (under threads, a hit may go uncounted: it is a statistic)
        return entry

    def _silent(self) -> None:
        """Pushes may be lost: forget everything, until the tracker says they flow again."""
        with self._lock:
            if self._ready and time.monotonic() - self.alive_at > self.max_silence:
                self._reset()

    def _many(self, keys: tuple[str, ...]) -> list[_Entry] | None:
        """The live entries of every one of ``keys``, or None if one is not here (or nothing
        may be served now)."""
        if not self._ready or self.pending():
            return None
        with self._lock:
            now = time.monotonic()
            if now - self.alive_at > self.max_silence:
                self._reset()
                return None
            found = self._live(keys, now)
            if len(found) < len(keys):
                return None
            for key in keys:
                self._entries.move_to_end(key)
            self._hits += 1
            return [found[key] for key in keys]

    def _live(self, keys: Iterable[str], now: float) -> dict[str, _Entry]:
        found = {}
        for key in keys:
            entry = self._entries.get(key)
            if entry is None:
                continue
            if entry[1] is not None and now >= entry[1]:
                self._drop(key)  # expired on the server, maybe not yet deleted there
            else:
                found[key] = entry
        return found

    def fetching(self, command: Command) -> Fetch:
        """What to send for ``command``, and what to do with its reply."""
        if isinstance(command, _SERVED):
            if not self._ready:  # nothing would be kept: one plain round trip
                self.wake()
                return Fetch(command)
            return _Filling(self, command, self._generation)
        if isinstance(command, _READS):
            return Fetch(command)
        return _Writing(command, self)

    def keep(self, kept: list[tuple[str, Any, float | None]], generation: int) -> None:
        """Store ``(key, value, deadline)`` fills read since ``generation``, unless something
        may have changed them since."""
        evicted = 0
        with self._lock:
            if generation != self._generation or not self._ready:
                return
            for key, value, deadline in kept:
                size = len(key) + (len(value) if value is not None else 0)
                if size > self.max_bytes:
                    continue
                self._drop(key)
                self._entries[key] = (value, deadline, size)
                self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))
                self._stats["evictions"] += 1
                evicted += 1
        self._tell("eviction", evicted)

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
        keys = None if keys is None else list(keys)
        count = len(self._entries) if keys is None else len(keys)
        self.invalidate(keys)
        with self._lock:
            self._stats["invalidations"] += 1
        self._tell("invalidation", count)

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

    def after_fork(self) -> None:
        """In a forked child: a lock of its own (another thread may have held the parent's at
        the fork), and nothing kept or served until its own pushes flow."""
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._bytes = 0
        self._ready = False
        self._stats["resets"] += 1
        # (under the lock: a listener must not call into this near cache)
        self._tell("reset", 1)


class Fetch:
    """A command sent as it is, its reply returned as it is."""

    __slots__ = ("request",)

    def __init__(self, request: Any) -> None:
        self.request = request

    def __enter__(self) -> Fetch:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def done(self, reply: Any) -> Any:
        return reply


class _Writing(Fetch):
    """A write: its keys are forgotten once it ends, even if it failed (it may still have
    been applied)."""

    __slots__ = ("_near",)

    def __init__(self, command: Command, near: NearCache) -> None:
        super().__init__(command)
        self._near = near

    def __exit__(self, *exc: object) -> None:
        self._near.invalidate(keys_of(self.request))


class _Filling(Fetch):
    """A served read that missed: its keys read with their PTTL in one round trip, kept when
    nothing raced them, and the command's reply made from that."""

    __slots__ = ("_generation", "_kind", "_near", "_started")

    def __init__(self, near: NearCache, command: Command, generation: int) -> None:
        keys = command.keys if isinstance(command, MGet) else (command.key,)  # type: ignore[union-attr]
        # GET for a get, so that a key of another type is refused as a plain GET refuses it;
        # MGET (nil for other types) for exists and PTTL, which take any key.
        super().__init__(Fill(keys, isinstance(command, Get)))
        self._near, self._kind, self._generation = near, type(command), generation
        self._started = time.monotonic()  # a deadline from PTTL is counted from here

    def done(self, reply: Any) -> Any:
        request: Fill = self.request
        pttls = [int(pttl) for pttl in reply[:-1]]
        values = [reply[-1]] if request.single else reply[-1]
        kept = [
            (key, value, None if pttl < 0 else self._started + pttl / 1000)
            for key, pttl, value in zip(request.keys, pttls, values, strict=True)
            if value is not None or pttl == -2  # a string, or no key at all
        ]
        self._near.keep(kept, self._generation)
        kind = self._kind
        if kind is Get:
            return reply[-1]
        if kind is MGet:
            return values
        return int(pttls[0] != -2) if kind is Exists else pttls[0]


def _pttl(entry: _Entry, now: float) -> int:
    """What ``PTTL`` answers for a kept entry."""
    if entry[0] is None:
        return -2
    if entry[1] is None:
        return -1
    return max(0, int((entry[1] - now) * 1000))
