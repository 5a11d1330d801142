"""The one event stream of cache_bridge: what the drivers, the circuit breakers and (later)
the rate limiter tell whoever listens.

Listeners are plain callables taking one event. With none registered, emitting costs the
callers one truth test of :data:`listeners` (an empty tuple). A listener that raises is
ignored: observing the cache never breaks a call to it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, Self

__all__ = [
    "READS",
    "STAMPEDE_OUTCOMES",
    "BreakerEvent",
    "Event",
    "Listener",
    "NearCacheEvent",
    "OperationEvent",
    "Origin",
    "RateLimitEvent",
    "StampedeEvent",
    "Subscribed",
    "add_listener",
    "emit",
    "listeners",
    "make_origin",
    "origin_of",
    "remove_listener",
    "without_credentials",
]

#: Operations whose success is a hit (a value) or a miss (``None``).
READS: Final = frozenset({"get", "get_json"})


_USERINFO: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^@/]*@")


def without_credentials(url: str) -> str:
    """``url`` without its user name and password (``redis://u:pw@h:6379/0`` ->
    ``redis://h:6379/0``): what metrics may carry."""
    return _USERINFO.sub(r"\1", url, count=1)


@dataclass(frozen=True, slots=True, eq=False)  # compared by identity: a cheap dict key
class Origin:
    """Which adapter ran an operation: made once per face (by :func:`origin`, which gives
    equal fields one object, so identity is equality), shared by its events; every field
    is low-cardinality (a metric label may carry it)."""

    #: The adapter's class (``SyncRedisCache``, ``InMemoryCache``...).
    adapter: str
    #: Its server, as its URL without credentials (``redis://cache:6379/0``, ``memory://``).
    server: str = ""
    #: Its key prefix (``""``: none).
    prefix: str = ""
    #: Which face made the call: ``"sync"`` (the blocking methods) or ``"async"``.
    face: str = "sync"


_origins: dict[tuple[str, str, str, str], Origin] = {}


def make_origin(adapter: str, server: str = "", prefix: str = "", face: str = "sync") -> Origin:
    """The one :class:`Origin` with these fields (made on first use)."""
    fields = (adapter, server, prefix, face)
    found = _origins.get(fields)
    if found is None:
        found = _origins.setdefault(fields, Origin(*fields))
    return found


@dataclass(slots=True)  # not frozen: one is made per call, and a frozen __init__ costs 2x
class OperationEvent:
    """One operation finished (or was refused at once by an open breaker); read-only by
    convention (every listener sees the same object)."""

    #: The operation's name (``get``, ``set``, ``increment``...), never a key.
    operation: str
    #: ``"success"``, or the class name of the error value (``CacheConnectionError``...).
    outcome: str
    #: For reads (:data:`READS`) that succeeded: whether a value was found; else ``None``.
    hit: bool | None
    #: Seconds from the start of the call to its end (a monotonic clock).
    duration: float
    #: What ran it (adapter class, server without credentials, key prefix).
    origin: Origin
    #: The key the call named (``None`` for calls on several keys or none). For debugging
    #: tools such as the django-debug-toolbar panel: never a metric label.
    key: str | None = None

    @property
    def adapter(self) -> str:
        """The adapter's class name (``origin.adapter``)."""
        return self.origin.adapter

    @property
    def server(self) -> str:
        """The adapter's server, its URL without credentials (``origin.server``)."""
        return self.origin.server

    @property
    def prefix(self) -> str:
        """The adapter's key prefix, ``""`` if none (``origin.prefix``)."""
        return self.origin.prefix


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """A circuit breaker opened or closed."""

    #: The state it entered.
    state: Literal["open", "closed"]
    #: The server it guards, as its URL without credentials (``""`` if unnamed).
    server: str
    #: Connection/timeout failures in a row when it opened (0 when it closed).
    consecutive_failures: int


@dataclass(frozen=True, slots=True)
class RateLimitEvent:
    """A rate-limit decision (emitted by the rate limiter; see :func:`emit`)."""

    #: The limit's name (its configured scope), never the client's identity.
    limit: str
    #: Whether the request was let through.
    allowed: bool
    #: ``None`` if the cache answered; ``"open"`` / ``"closed"`` if it failed and the
    #: limiter let the request through or refused it without counting; ``"memory"`` if it
    #: failed and the limit's in-memory fallback decided (``fallback="memory"``).
    failed: Literal["open", "closed", "memory"] | None = None


#: What a get-or-compute (:mod:`cache_bridge.stampede`) can end as:
#:
#: - ``fresh``: a fresh value read (an early refresh drawn but left to another caller too);
#: - ``stale``: a stale value served while another caller recomputes;
#: - ``waited``: the value another caller computed, read after waiting for its lock;
#: - ``refresh``: a stale value, recomputed by this caller (who may have served the stale
#:   value at once, ``background=True``);
#: - ``early``: a fresh value, recomputed early by this caller (probabilistic early refresh);
#: - ``computed``: a missing value, computed by this caller (under the lock) and stored;
#: - ``fail_open``: the cache failed: computed without lock or wait, not stored;
#: - ``waited_out``: the lock's holder took longer than ``max_wait``: computed without it;
#: - ``shared``: the value of another caller of this process (single-flight), no cache call.
STAMPEDE_OUTCOMES: Final = (
    *("fresh", "stale", "waited", "refresh", "early"),
    *("computed", "fail_open", "waited_out", "shared"),
)


@dataclass(slots=True)
class StampedeEvent:
    """What one get-or-compute ended as (see :data:`STAMPEDE_OUTCOMES`); read-only by
    convention."""

    #: One of :data:`STAMPEDE_OUTCOMES`.
    outcome: str
    #: Seconds the computation took when this caller computed (``refresh``, ``early``,
    #: ``computed``, ``fail_open``, ``waited_out``); else ``None``.
    compute_seconds: float | None
    #: The face it ran on (adapter class, server without credentials, key prefix).
    origin: Origin
    #: The key asked for: for debugging tools (the toolbar panel), never a metric label.
    key: str | None = None


@dataclass(frozen=True, slots=True)
class NearCacheEvent:
    """What a Redis adapter's near cache (``near_cache=True``) did, counted per batch:

    - ``hit``: a read answered from process memory (``count`` 1);
    - ``invalidation``: an invalidation push arrived (``count``: the keys it named; for a
      server-side flush, the local entries it emptied);
    - ``eviction``: local entries dropped to stay within the bounds (``count`` of one fill);
    - ``reset``: the whole local store emptied because pushes may have been lost (the
      invalidation connection dropped or went silent, a fork, the last adapter closed;
      ``count`` 1).

    The hit path of a blocking ``get`` / ``get_json`` skips the operation (and this event)
    only while nobody listens, so every hit is told while someone does."""

    kind: Literal["hit", "invalidation", "eviction", "reset"]
    count: int
    #: The server, as its URL without credentials (the label operations carry).
    server: str


Event = OperationEvent | BreakerEvent | RateLimitEvent | StampedeEvent | NearCacheEvent
Listener = Callable[[Event], None]

#: The registered listeners; an empty tuple when nothing listens (the callers' fast path).
listeners: tuple[Listener, ...] = ()
_lock = threading.Lock()


def add_listener(listener: Listener) -> Callable[[], None]:
    """Call ``listener`` with every event from now on, in the thread that emits it; returns
    a function that removes it again."""
    global listeners  # noqa: PLW0603 - one module attribute: the drivers' fast path reads it
    with _lock:
        listeners = (*listeners, listener)
    return lambda: remove_listener(listener)


def remove_listener(listener: Listener) -> None:
    """Stop calling ``listener`` (nothing happens if it was not registered)."""
    global listeners  # noqa: PLW0603 - one module attribute: the drivers' fast path reads it
    with _lock:
        kept = list(listeners)
        if listener in kept:
            kept.remove(listener)
        listeners = tuple(kept)


def emit(event: Event) -> None:
    """Give ``event`` to every listener; what a listener raises is swallowed (only
    :class:`Exception`: interrupts pass)."""
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # observing must never break a cache call
            continue


def origin_of(executor: object) -> Origin:
    """The :class:`Origin` of a driver call made without one: the executor's owner class."""
    return make_origin(type(getattr(executor, "__self__", executor)).__qualname__)


class Subscribed:
    """A listener that subscribes itself: ``start()`` / ``stop()``, or ``with listener:``."""

    def __call__(self, event: Event) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        add_listener(self)
        return self

    def stop(self) -> None:
        remove_listener(self)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
