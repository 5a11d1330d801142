"""The one event stream of cache_bridge: what the drivers, the circuit breakers and (later)
the rate limiter tell whoever listens.

Listeners are plain callables taking one event. With none registered, emitting costs the
callers one truth test of :data:`listeners` (an empty tuple). A listener that raises is
ignored: observing the cache never breaks a call to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, Self

from returns.result import Result, Success

__all__ = [
    "READS",
    "BreakerEvent",
    "Event",
    "Listener",
    "OperationEvent",
    "RateLimitEvent",
    "Subscribed",
    "add_listener",
    "emit",
    "listeners",
    "operation_finished",
    "remove_listener",
]

#: Operations whose success is a hit (a value) or a miss (``None``).
READS: Final = frozenset({"get", "get_json"})


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
    #: What ran it: the class of the executor (no URL, so no credentials).
    adapter: str


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
    #: limiter let the request through or refused it without counting.
    failed: Literal["open", "closed"] | None = None


Event = OperationEvent | BreakerEvent | RateLimitEvent
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


def operation_finished(
    name: str, result: Result[Any, Any], started: float, ended: float, executor: object
) -> None:
    """Emit the :class:`OperationEvent` of an operation that ended with ``result``; called
    by the drivers only while someone listens."""
    # isinstance and unwrap, not match: this runs on every call while someone listens
    if isinstance(result, Success):
        value = result.unwrap()
        outcome, hit = "success", ((value is not None) if name in READS else None)
    else:
        outcome, hit = type(result.failure()).__name__, None
    owner = getattr(executor, "__self__", executor)
    emit(OperationEvent(name, outcome, hit, ended - started, type(owner).__qualname__))


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
